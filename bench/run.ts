/**
 * Benchmark harness: `npm run bench -- <scenario> [--json] [--quick] [--set knob=v1,v2 ...]`.
 *
 * Each scenario measures RustyClaw and its baselines in the same run. `--set` sweeps knobs (one row
 * per combination). Results go to stdout (a table per combination with the knobs in effect, or one
 * JSON object with --json) and to bench/results/<scenario>-<time>.json and .html (kept per run;
 * <scenario>-latest.html is the newest).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { knobsInEffect, renderHtml, renderTable, type ScenarioResult } from './lib/report.js';

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
    ? { ...meta, knobs: knobsInEffect(rows[0]), results: rows[0].out.results, ratios: rows[0].out.ratios, notes: rows[0].out.notes }
    : { ...meta, results: rows[0].out.results, sweep: rows.map((r) => ({ set: r.set, knobs: knobsInEffect(r), results: r.out.results, ratios: r.out.ratios, notes: r.out.notes })) };

// Compiled to dist/bench/run.js; results go to the source tree's bench/results/.
const dir = new URL('../../bench/results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const stamp = meta.date.replace(/[:.]/g, '-');
const html = renderHtml(scenario, rows, meta);
writeFileSync(new URL(`${scenario}-${stamp}.json`, dir), JSON.stringify(doc, null, 2));
writeFileSync(new URL(`${scenario}-${stamp}.html`, dir), html);
writeFileSync(new URL(`${scenario}-latest.html`, dir), html);

if (values.json) {
  process.stdout.write(JSON.stringify(doc) + '\n');
} else {
  process.stdout.write(`\n${renderTable(scenario, rows)}\n`);
  process.stdout.write(`written: bench/results/${scenario}-${stamp}.json, bench/results/${scenario}-${stamp}.html (also ${scenario}-latest.html)\n`);
}
// Scenarios may leave pools or timers behind; the harness is done.
process.exit(0);
