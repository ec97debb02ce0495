/**
 * Benchmark harness: `npm run bench -- <scenario> [--json] [--quick] [--set knob=v1,v2 ...]`.
 *
 * Each scenario measures RustyClaw and its baselines in the same run. `--set` sweeps knobs (one row
 * per combination). Results go to stdout (a table, or one JSON object with --json) and to
 * bench/results/<scenario>-<time>.json plus an HTML chart.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { renderHtml } from './lib/report.js';

interface ScenarioResult {
  results: Record<string, Record<string, number>>;
  ratios?: Record<string, number>;
  notes?: string[];
}
type Scenario = { run(opts: { set: Record<string, string>; quick?: boolean }): Promise<ScenarioResult> };

const scenariosDir = new URL('./scenarios/', import.meta.url);
const available = readdirSync(scenariosDir)
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3))
  .sort();

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    set: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const scenario = positionals[0];
if (values.help || !scenario || !available.includes(scenario)) {
  const msg = `usage: npm run bench -- <scenario> [--json] [--quick] [--set knob=v1,v2 ...]\nscenarios: ${available.join(', ')}\n` +
    'knobs: batch, mailbox, overflow, placement, threads, window, deadline (see docs/bench.md)\n';
  process.stderr.write(scenario && !values.help ? `unknown scenario '${scenario}'\n${msg}` : msg);
  process.exit(values.help ? 0 : 2);
}

/** `--set batch=1,16 --set mailbox=64` → every combination. */
function sweep(sets: string[]): Array<Record<string, string>> {
  let combos: Array<Record<string, string>> = [{}];
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) {
      process.stderr.write(`--set expects knob=value[,value...], got '${s}'\n`);
      process.exit(2);
    }
    const key = s.slice(0, eq);
    const vals = s.slice(eq + 1).split(',').filter(Boolean);
    combos = combos.flatMap((c) => vals.map((v) => ({ ...c, [key]: v })));
  }
  return combos;
}

const mod = (await import(new URL(`${scenario}.js`, scenariosDir).href)) as Scenario;
const rows: Array<{ set: Record<string, string>; out: ScenarioResult }> = [];
for (const set of sweep(values.set ?? [])) {
  if (!values.json) process.stderr.write(`running ${scenario}${Object.keys(set).length ? ' ' + JSON.stringify(set) : ''} ...\n`);
  rows.push({ set, out: await mod.run({ set, quick: values.quick }) });
}

const meta = { scenario, node: process.version, cpus: os.cpus().length, date: new Date().toISOString() };
const doc =
  rows.length === 1
    ? { ...meta, results: rows[0].out.results, ratios: rows[0].out.ratios, notes: rows[0].out.notes }
    : { ...meta, results: rows[0].out.results, sweep: rows.map((r) => ({ set: r.set, results: r.out.results, ratios: r.out.ratios })) };

// Compiled to dist/bench/run.js; results go to the source tree's bench/results/.
const dir = new URL('../../bench/results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const stamp = meta.date.replace(/[:.]/g, '-');
writeFileSync(new URL(`${scenario}-${stamp}.json`, dir), JSON.stringify(doc, null, 2));
writeFileSync(new URL(`${scenario}-latest.html`, dir), renderHtml(scenario, rows));

if (values.json) {
  process.stdout.write(JSON.stringify(doc) + '\n');
} else {
  for (const r of rows) {
    if (Object.keys(r.set).length) process.stdout.write(`\n[${Object.entries(r.set).map(([k, v]) => `${k}=${v}`).join(' ')}]\n`);
    for (const [impl, metrics] of Object.entries(r.out.results)) {
      process.stdout.write(`  ${impl.padEnd(14)} ${Object.entries(metrics).map(([m, v]) => `${m}=${v}`).join('  ')}\n`);
    }
    if (r.out.ratios) process.stdout.write(`  ratios         ${Object.entries(r.out.ratios).map(([m, v]) => `${m}=${v}`).join('  ')}\n`);
    for (const n of r.out.notes ?? []) process.stdout.write(`  note: ${n}\n`);
  }
  process.stdout.write(`\nwritten: bench/results/${scenario}-${stamp}.json, bench/results/${scenario}-latest.html\n`);
}
// Scenarios may leave pools or timers behind; the harness is done.
process.exit(0);
