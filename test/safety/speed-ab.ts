/**
 * Same-run speed comparison of an older build's safety guard with this build's, for a shared,
 * loaded machine: the two are alternated pass by pass and timed by CPU time (process.cpuUsage, which
 * counts the worker threads too) as well as wall time; medians. In thread (SafetyLayer on 1 MB
 * chunks) and through the actor (both actors in one system, 1 MB messages).
 *
 *   node dist/test/safety/speed-ab.js --base /path/to/old/dist [--mb 4] [--rounds 5]
 *
 * Prints one JSON object: per operation old/new MB/s (CPU and wall) and the CPU ratio new ÷ old
 * (above 1: faster), next to a plain RegExp.test pass over the same text for scale.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SafetyLayer } from '../../actors/safety/layer.js';
import { startSystem } from '../../src/kernel/index.js';
import { mixedText } from '../../bench/scenarios/safety.js';
import { baseDist, oldSafetyLayer, opt, type Layer } from './old-build.js';

const base = baseDist('speed-ab');
const mb = Number(opt('mb', '4'));
const rounds = Number(opt('rounds', '5'));
const OldLayer = await oldSafetyLayer(base);
const text = mixedText(mb * 1e6);
const chunks: string[] = [];
for (let i = 0; i < text.length; i += 1e6) chunks.push(text.slice(i, i + 1e6));

const cpuMs = (d: NodeJS.CpuUsage) => (d.user + d.system) / 1000;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const rate = (ms: number) => Math.round((mb / (ms / 1000)) * 10) / 10;
type Timing = { cpu: number; wall: number };
async function ab(run: (who: 'old' | 'new') => Promise<void> | void) {
  await run('old');
  await run('new');
  const t: Record<'old' | 'new', Timing[]> = { old: [], new: [] };
  for (let i = 0; i < rounds; i++) {
    for (const who of (i % 2 ? ['new', 'old'] : ['old', 'new']) as Array<'old' | 'new'>) {
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      await run(who);
      t[who].push({ cpu: cpuMs(process.cpuUsage(c0)), wall: performance.now() - w0 });
    }
  }
  const oc = median(t.old.map((x) => x.cpu)), nc = median(t.new.map((x) => x.cpu));
  return { old_cpu_mb_s: rate(oc), new_cpu_mb_s: rate(nc), cpu_ratio: Math.round((oc / nc) * 100) / 100, old_wall_mb_s: rate(median(t.old.map((x) => x.wall))), new_wall_mb_s: rate(median(t.new.map((x) => x.wall))) };
}

const out: Record<string, unknown> = { mb, rounds };
const layers = { old: new OldLayer({ limits: { max_text_chars: 2e6 } }, { fingerprintKey: 'ab' }), new: new SafetyLayer({ limits: { max_text_chars: 2e6 } }, { fingerprintKey: 'ab' }) as Layer };
const inThread: Record<string, unknown> = {};
inThread.redact = await ab((w) => { for (const c of chunks) layers[w].redact(c); });
inThread.inspect_untrusted = await ab((w) => { for (const c of chunks) layers[w].inspectUntrusted(c, 'document'); });
inThread.inspect_inbound = await ab((w) => { for (const c of chunks) layers[w].inspectInbound(c); });
out.in_thread = inThread;

const dir = mkdtempSync(path.join(tmpdir(), 'rc-safety-ab-'));
const cfg = { log_decisions: false, limits: { max_text_chars: 48_000_000 } };
const sys = await startSystem({
  config: { data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false } },
  tree: { kind: 'supervisor', id: 'root', children: [
    { kind: 'worker', id: 'ab/old', actors: [{ path: 'ab/old', module: path.resolve(base, 'actors/safety/index.js'), config: cfg }] },
    { kind: 'worker', id: 'ab/new', actors: [{ path: 'ab/new', module: fileURLToPath(new URL('../../actors/safety/index.js', import.meta.url)), config: cfg }] },
  ] },
});
try {
  await sys.waitUp('ab/old');
  await sys.waitUp('ab/new');
  const actor: Record<string, unknown> = {};
  const send = async (who: string, type: 'safety.redact' | 'safety.inspect_untrusted' | 'safety.inspect_inbound') => {
    for (const c of chunks) await sys.ask(`ab/${who}`, type, type === 'safety.inspect_untrusted' ? { text: c, source: 'document' } : { text: c }, { timeoutMs: 120_000 });
  };
  actor.redact = await ab((w) => send(w, 'safety.redact'));
  actor.inspect_untrusted = await ab((w) => send(w, 'safety.inspect_untrusted'));
  actor.inspect_inbound = await ab((w) => send(w, 'safety.inspect_inbound'));
  out.actor = actor;
} finally {
  await sys.stop();
  rmSync(dir, { recursive: true, force: true });
}
const re = /\bzq9xv7\b/;
const c0 = process.cpuUsage();
for (let k = 0; k < 5; k++) for (const c of chunks) re.test(c);
out.regexp_test_cpu_mb_s = Math.round(rate(cpuMs(process.cpuUsage(c0)) / 5));
console.log(JSON.stringify(out));
