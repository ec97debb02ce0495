/**
 * `restart`: how long a crashed actor takes to serve again, and how long a stuck actor (endless loop)
 * takes to be replaced, measured from the fault to the first reply of its successor; and, with the
 * default supervisor settings raised only in intensity, how soon an actor crashing every 500 ms serves
 * again (`periodic`: backoff must reset after a healthy interval, not grow to backoff_max_ms).
 */
import type { ActorSystem } from '../../src/kernel/index.js';
import { bootBench, benchTree, knobs } from '../lib/kernel-fixture.js';
import { median, round } from '../lib/stats.js';

async function servingAgain(sys: ActorSystem, before: number): Promise<void> {
  for (;;) {
    const inc = await sys.ask<number>('bench/0', 'bench.incarnation', undefined, { timeoutMs: 10_000 }).catch(() => before);
    if (inc !== before) return;
  }
}

async function periodic(k: ReturnType<typeof knobs>, crashes: number): Promise<number[]> {
  const b = await bootBench(benchTree(1, 'dedicated'), k, { supervisor: { intensity: 1000 } });
  const times: number[] = [];
  try {
    for (let i = 0; i < crashes; i++) {
      const next = performance.now() + 500;
      const before = await b.sys.ask<number>('bench/0', 'bench.incarnation');
      const t0 = performance.now();
      await b.sys.ask('bench/0', 'bench.crash');
      await servingAgain(b.sys, before);
      times.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  } finally {
    await b.close();
  }
  return times;
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const k = knobs(opts.set);
  const deadline = Number(opts.set.deadline ?? 200);
  const reps = opts.quick ? 5 : 15;
  const b = await bootBench(benchTree(1, 'dedicated'), k, {
    liveness: { interval_ms: Math.max(5, Math.floor(deadline / 4)), deadline_ms: deadline },
    supervisor: { intensity: 1000, period_ms: 1000, backoff_initial_ms: 0, backoff_max_ms: 0 },
  });
  const crash: number[] = [];
  const stuck: number[] = [];
  try {
    for (let i = 0; i < reps; i++) {
      const before = await b.sys.ask<number>('bench/0', 'bench.incarnation');
      const t0 = performance.now();
      await b.sys.ask('bench/0', 'bench.crash');
      await servingAgain(b.sys, before);
      crash.push(performance.now() - t0);
    }
    for (let i = 0; i < Math.ceil(reps / 2); i++) {
      const before = await b.sys.ask<number>('bench/0', 'bench.incarnation');
      const t0 = performance.now();
      await b.sys.ask('bench/0', 'bench.spin');
      await servingAgain(b.sys, before);
      stuck.push(performance.now() - t0);
    }
  } finally {
    await b.close();
  }
  const stuckMs = round(median(stuck));
  const every500 = await periodic(k, opts.quick ? 10 : 20);
  const sorted = [...every500].sort((a, b) => a - b);
  return {
    knobs: { ...k },
    results: {
      rustyclaw: { restart_ms_p50: round(median(crash)), stuck_replaced_ms_p50: stuckMs, liveness_deadline_ms: deadline },
      periodic: { serving_again_ms_p50: round(median(every500)), serving_again_ms_max: round(sorted[sorted.length - 1]), crashes: every500.length },
    },
    ratios: { stuck_over_deadline_ms: round(stuckMs - deadline) },
    notes: [
      `${reps} crashes, ${Math.ceil(reps / 2)} endless loops; backoff 0 so the figure is the kernel's own cost (the default config adds 5 ms)`,
      'periodic: a crash every 500 ms, default supervisor settings with intensity 1000',
    ],
  };
}
