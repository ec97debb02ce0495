/**
 * Child process for the `edge` scenario (one fresh process per measurement).
 *
 *   edge-child.js tree <placement>            boot the default tree (every built-in actor, the
 *                                              embedding model not loaded), print ready time and RSS
 *   edge-child.js starve <secs> <llm_base_url> the default tree plus one bench actor that will be made
 *                                              truly stuck; ask the agent every second; print figures
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const [mode, arg, llm] = process.argv.slice(2);
const { startSystem, defaultTree } = await import('../../src/kernel/index.js');
const { validateConfig } = await import('../../src/config/load.js');
const importMs = performance.now() - t0;
const dir = mkdtempSync(path.join(tmpdir(), 'rc-edge-'));
const ECHO = fileURLToPath(new URL('../actors/echo.js', import.meta.url));

function configFor(placement: string, baseUrl?: string) {
  return validateConfig({
    data_dir: dir,
    log: { level: 'silent' },
    endpoint: { enabled: false },
    kernel: { placement },
    providers: { local: { type: 'openai', enabled: true, base_url: baseUrl ?? 'http://127.0.0.1:9/v1', api_key: 'k', model: 'm' } },
    models: { default: { chain: ['local'] } },
    agents: [{ id: 'default' }],
  });
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

if (mode === 'tree') {
  const config = configFor(arg);
  const sys = await startSystem({ config });
  const readyMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const st = await sys.status();
  const processMs = performance.now();
  // RSS once the actors' background `ready` steps (e.g. the scheduler's body) have run too: read at
  // ready it would leave out what they load after it.
  await new Promise((r) => setTimeout(r, 1000));
  const out = { ready_ms: readyMs, import_ms: importMs, cpu_ms: (cpu.user + cpu.system) / 1000, process_ms: processMs, rss_mb: process.memoryUsage.rss() / 1048576, threads: st.threads };
  process.stdout.write(JSON.stringify(out) + '\n');
  await sys.stop();
} else if (mode === 'starve') {
  const secs = Number(arg);
  const config = configFor('dedicated', llm);
  const tree = defaultTree(config);
  tree.children.push({ kind: 'worker', id: 'bench/stuck', actors: [{ path: 'bench/stuck', module: ECHO }] });
  const sys = await startSystem({ config, tree });
  const lat: number[] = [];
  let asks = 0;
  let answered = 0;
  let typedErrors = 0;
  const pending = new Set<Promise<void>>();
  const ask = () => {
    asks++;
    const s = performance.now();
    const p = sys
      .ask('agents/default', 'agent.send', { text: `ping ${asks}`, session: `s${asks % 4}` }, { timeoutMs: 20_000 })
      .then(
        () => {
          answered++;
          lat.push(performance.now() - s);
        },
        (e: { code?: string }) => {
          if (e.code) typedErrors++;
        },
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const timer = setInterval(ask, 1000);
  // A third of the way in, one actor is made truly stuck; time until its successor serves.
  await new Promise((r) => setTimeout(r, (secs * 1000) / 3));
  const before = await sys.ask<number>('bench/stuck', 'bench.incarnation');
  const s0 = performance.now();
  await sys.ask('bench/stuck', 'bench.spin');
  let replaced = -1;
  while (performance.now() - s0 < 30_000) {
    const inc = await sys.ask<number>('bench/stuck', 'bench.incarnation', undefined, { timeoutMs: 1000 }).catch(() => before);
    if (inc !== before) {
      replaced = performance.now() - s0;
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, secs * 1000 - (performance.now() - t0))));
  clearInterval(timer);
  await Promise.race([Promise.all([...pending]), new Promise((r) => setTimeout(r, 25_000))]);
  const falseKills = sys.downLog.filter((d) => d.reason === 'stuck' && d.thread !== 'bench/stuck').length;
  const out = {
    false_stuck_kills: falseKills,
    unanswered: pending.size,
    asks,
    answered,
    typed_errors: typedErrors,
    latency_ms_p50: pct(lat, 50),
    latency_ms_p99: pct(lat, 99),
    stuck_replaced_ms: replaced,
    liveness: sys.liveness.counts,
    downs: sys.downLog.map((d) => `${d.thread}:${d.reason}`),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  await sys.stop();
}
rmSync(dir, { recursive: true, force: true });
process.exit(0);
