/** A self-contained HTML page with one SVG bar chart per metric (no external assets). */
export function renderHtml(scenario: string, rows: Array<{ set: Record<string, string>; out: { results: Record<string, Record<string, number>> } }>): string {
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
  return `<!doctype html><meta charset="utf-8"><title>rustyclaw bench: ${esc(scenario)}</title><body style="font-family:sans-serif"><h2>${esc(scenario)}</h2>${charts.join('\n')}</body>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
