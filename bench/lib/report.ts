/**
 * Bench output: one table per scenario run (per `--set` combination) with the knob values in effect,
 * RustyClaw and each baseline as rows, their metrics as columns, then the ratios; the same data as one
 * JSON document (`--json`); and a self-contained HTML page with one SVG bar chart per metric.
 */

export interface ScenarioResult {
  results: Record<string, Record<string, number>>;
  ratios?: Record<string, number>;
  notes?: string[];
  /** Knob values the scenario ran with, defaults included (scenarios that have knobs report them). */
  knobs?: Record<string, string | number | boolean>;
}

export interface ReportRow {
  set: Record<string, string>;
  out: ScenarioResult;
}

/** What ran: the scenario's own report of its knobs, else the `--set` values (others at their defaults). */
export function knobsInEffect(r: ReportRow): Record<string, string | number | boolean> {
  return { ...(r.out.knobs ?? {}), ...r.set };
}

function knobText(r: ReportRow): string {
  const k = knobsInEffect(r);
  const given = Object.entries(k).map(([n, v]) => `${n}=${v}${n in r.set ? '*' : ''}`).join('  ');
  if (!given) return 'knobs: scenario defaults (docs/bench.md)';
  return `knobs: ${given}${Object.keys(r.set).length ? '   (* set with --set)' : ''}${r.out.knobs ? '' : '; others at scenario defaults'}`;
}

function fmt(v: number | undefined): string {
  if (v === undefined) return '-';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return String(v);
}

function grid(headers: string[], rows: string[][], rightFrom = 1): string {
  const w = headers.map((_, i) => Math.max(...[headers, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i >= rightFrom ? (c ?? '').padStart(w[i]) : (c ?? '').padEnd(w[i]))).join('  ').trimEnd();
  return [line(headers), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

/** The text report: a block per row with knobs, a metrics table (first implementation = RustyClaw), ratios, notes. */
export function renderTable(scenario: string, rows: ReportRow[]): string {
  const blocks: string[] = [];
  for (const r of rows) {
    const impls = Object.keys(r.out.results);
    const metrics = [...new Set(impls.flatMap((i) => Object.keys(r.out.results[i])))];
    const body = impls.map((i, n) => [`${i}${n === 0 ? '' : ' (baseline)'}`, ...metrics.map((m) => fmt(r.out.results[i][m]))]);
    let block = `${scenario}  ${knobText(r)}\n\n${grid(['implementation', ...metrics], body)}\n`;
    const ratios = Object.entries(r.out.ratios ?? {});
    if (ratios.length) block += `\n${grid(['ratio', 'value'], ratios.map(([k, v]) => [k, fmt(v)]))}\n`;
    for (const n of r.out.notes ?? []) block += `note: ${n}\n`;
    blocks.push(block);
  }
  return blocks.join('\n');
}

/** A self-contained HTML page with one SVG bar chart per metric (no external assets). */
export function renderHtml(scenario: string, rows: ReportRow[], meta: Record<string, unknown> = {}): string {
  const metrics = new Set<string>();
  for (const r of rows) for (const m of Object.values(r.out.results)) for (const k of Object.keys(m)) metrics.add(k);
  const charts: string[] = [];
  for (const metric of metrics) {
    const bars: Array<{ label: string; value: number }> = [];
    for (const r of rows) {
      const tag = Object.entries(r.set).map(([k, v]) => `${k}=${v}`).join(' ');
      for (const [impl, m] of Object.entries(r.out.results)) if (m[metric] !== undefined) bars.push({ label: `${impl}${tag ? ` [${tag}]` : ''}`, value: m[metric] });
    }
    const max = Math.max(...bars.map((b) => b.value), 1e-9);
    const h = 24 * bars.length + 10;
    const svg = bars
      .map((b, i) => {
        const w = Math.max(1, (b.value / max) * 420);
        return `<text x="0" y="${i * 24 + 17}" font-size="12">${esc(b.label)}</text><rect x="230" y="${i * 24 + 5}" width="${w}" height="16" fill="#3b7dd8"/><text x="${235 + w}" y="${i * 24 + 17}" font-size="12">${b.value}</text>`;
      })
      .join('');
    charts.push(`<h3>${esc(metric)}</h3><svg width="780" height="${h}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">${svg}</svg>`);
  }
  const info = Object.entries(meta).map(([k, v]) => `${esc(k)}: ${esc(String(v))}`).join(' · ');
  const tables = `<pre>${esc(renderTable(scenario, rows))}</pre>`;
  return `<!doctype html><meta charset="utf-8"><title>rustyclaw bench: ${esc(scenario)}</title><body style="font-family:sans-serif"><h2>${esc(scenario)}</h2><p>${info}</p>${tables}${charts.join('\n')}</body>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
