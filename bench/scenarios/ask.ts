/**
 * `ask`: request/reply between the main thread and one actor thread — RustyClaw against a raw
 * MessagePort with a promise map (unbatched, and batched the way RustyClaw batches), comlink and
 * piscina, measured in the same run with a fresh payload per call (`--set payload=small,4k,64k`).
 */
import { bootBench, benchTree, knobs } from '../lib/kernel-fixture.js';
import { measureCalls, payloadSize, type CallMetrics } from '../lib/measure.js';
import { medianOf, round } from '../lib/stats.js';
import { comlinkCaller, piscinaCaller, rawBatchedCaller, rawCaller, type Caller } from '../baselines/clients.js';

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const k = knobs(opts.set);
  const payload = payloadSize(opts.set.payload);
  const sizes = { rtt: opts.quick ? 1000 : 5000, calls: opts.quick ? 20_000 : 200_000, window: Number(opts.set.window ?? 256), payload };
  const runs = opts.quick ? 1 : 3;
  const impls: Record<string, () => Promise<Caller>> = {
    rustyclaw: async () => {
      const b = await bootBench(benchTree(1, 'dedicated'), k);
      return { call: (p) => b.sys.ask('bench/0', 'bench.echo', p), close: b.close };
    },
    raw: rawCaller,
    raw_batched: () => rawBatchedCaller(Math.min(k.askBatch, k.batch)),
    comlink: comlinkCaller,
    piscina: piscinaCaller,
  };
  const results: Record<string, CallMetrics> = {};
  // Interleave implementations run by run, so machine noise spreads over all of them alike.
  const perImpl: Record<string, CallMetrics[]> = {};
  for (let r = 0; r < runs; r++) {
    for (const [name, make] of Object.entries(impls)) {
      const c = await make();
      try {
        (perImpl[name] ??= []).push(await measureCalls(c.call, sizes));
      } finally {
        await c.close();
      }
    }
  }
  for (const [name, list] of Object.entries(perImpl)) {
    let i = 0;
    const m = await medianOf(list.length, async () => list[i++]);
    results[name] = { rtt_p50_us: round(m.rtt_p50_us), rtt_p99_us: round(m.rtt_p99_us), calls_per_s: Math.round(m.calls_per_s), cpu_us_per_call: round(m.cpu_us_per_call, 2) };
  }
  const rc = results.rustyclaw;
  return {
    knobs: { ...k, window: sizes.window },
    results,
    ratios: {
      calls_vs_raw: round(rc.calls_per_s / results.raw.calls_per_s, 2),
      calls_vs_raw_batched: round(rc.calls_per_s / results.raw_batched.calls_per_s, 2),
      calls_vs_comlink: round(rc.calls_per_s / results.comlink.calls_per_s, 2),
      // Load-insensitive: CPU per call of the whole process, RustyClaw's over the batched raw port's (lower is better).
      cpu_vs_raw_batched: round(rc.cpu_us_per_call / results.raw_batched.cpu_us_per_call, 2),
      rtt_p50_vs_raw: round(rc.rtt_p50_us / results.raw.rtt_p50_us, 2),
    },
    notes: [`payload ${payload}, fresh per call; ${runs} runs interleaved, medians; up to ${sizes.calls} pipelined calls (fewer for large payloads: ≤128 MB of payloads) with ${sizes.window} in flight; ${sizes.rtt} sequential round trips`],
  };
}
