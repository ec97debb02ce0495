/** `tell`: one-way throughput into one actor thread, against raw postMessage with the same batch size. */
import { Worker } from 'node:worker_threads';
import { bootBench, benchTree, knobs } from '../lib/kernel-fixture.js';
import { median, round } from '../lib/stats.js';

async function rustyclaw(n: number, k: ReturnType<typeof knobs>): Promise<number> {
  const b = await bootBench(benchTree(1, 'dedicated'), k);
  try {
    for (let i = 0; i < 1000; i++) await b.sys.tell('bench/0', 'bench.count', i);
    const before = await b.sys.ask<number>('bench/0', 'bench.total');
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const w = b.sys.tell('bench/0', 'bench.count', i);
      if (w) await w; // the mailbox is full: wait for credit (overflow: wait)
    }
    const total = await b.sys.ask<number>('bench/0', 'bench.total', undefined, { timeoutMs: 120_000 });
    if (total - before !== n) throw new Error(`lost messages: ${total - before} of ${n}`);
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await b.close();
  }
}

async function rawBatched(n: number, batch: number): Promise<number> {
  const worker = new Worker(new URL('../baselines/raw-worker.js', import.meta.url));
  await new Promise((r) => worker.once('online', r));
  const total = () =>
    new Promise<number>((r) => {
      worker.once('message', (m: { total: number }) => r(m.total));
      worker.postMessage('total');
    });
  try {
    const t0 = performance.now();
    let buf: unknown[] = [];
    for (let i = 0; i < n; i++) {
      buf.push({ k: 0, to: 'bench/0', ty: 'bench.count', p: i });
      if (buf.length === batch) {
        worker.postMessage(buf);
        buf = [];
      }
    }
    if (buf.length) worker.postMessage(buf);
    const got = await total();
    if (got !== n) throw new Error(`raw lost messages: ${got}`);
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await worker.terminate();
  }
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const k = knobs(opts.set);
  const n = opts.quick ? 100_000 : 1_000_000;
  const runs = opts.quick ? 1 : 3;
  const rc: number[] = [];
  const raw: number[] = [];
  for (let r = 0; r < runs; r++) {
    rc.push(await rustyclaw(n, k));
    raw.push(await rawBatched(n, k.batch));
  }
  const results = { rustyclaw: { msgs_per_s: Math.round(median(rc)) }, raw_batched: { msgs_per_s: Math.round(median(raw)) } };
  return {
    knobs: { ...k },
    results,
    ratios: { tell_vs_raw_batched: round(results.rustyclaw.msgs_per_s / results.raw_batched.msgs_per_s, 2) },
    notes: [`${n} tells, batch ${k.batch}, mailbox ${k.mailbox}, ${runs} runs, medians`],
  };
}
