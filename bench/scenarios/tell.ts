/**
 * `tell`: one-way throughput into one actor thread, with a fresh payload per message built before
 * the timed loop (`--set payload=small,4k,64k`), against raw postMessage batches of the same size
 * (`raw_batched`, objects) and a flat Float64Array batch (`raw_flat`: two numbers a message, the
 * most postMessage can move; it carries no payload, an upper bound rather than a like-for-like).
 */
import { Worker } from 'node:worker_threads';
import { bootBench, benchTree, knobs } from '../lib/kernel-fixture.js';
import { payloads, payloadSize } from '../lib/measure.js';
import { median, round } from '../lib/stats.js';

async function rustyclaw(msgs: unknown[], k: ReturnType<typeof knobs>): Promise<number> {
  const n = msgs.length;
  const b = await bootBench(benchTree(1, 'dedicated'), k);
  try {
    for (let i = 0; i < 1000; i++) await b.sys.tell('bench/0', 'bench.count', i);
    const before = await b.sys.ask<number>('bench/0', 'bench.total');
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const w = b.sys.tell('bench/0', 'bench.count', msgs[i]);
      if (w) await w; // the mailbox is full: wait for credit (overflow: wait)
    }
    const total = await b.sys.ask<number>('bench/0', 'bench.total', undefined, { timeoutMs: 120_000 });
    if (total - before !== n) throw new Error(`lost messages: ${total - before} of ${n}`);
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await b.close();
  }
}

async function rawBatched(msgs: unknown[], batch: number): Promise<number> {
  const n = msgs.length;
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
      buf.push({ k: 0, to: 'bench/0', ty: 'bench.count', p: msgs[i] });
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

async function rawFlat(n: number, batch: number): Promise<number> {
  const worker = new Worker(new URL('../baselines/raw-worker.js', import.meta.url));
  await new Promise((r) => worker.once('online', r));
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i += batch) {
      const len = Math.min(batch, n - i);
      const buf = new Float64Array(len * 2);
      for (let j = 0; j < len; j++) {
        buf[2 * j] = 1;
        buf[2 * j + 1] = i + j;
      }
      worker.postMessage(buf);
    }
    const got = await new Promise<number>((r) => {
      worker.once('message', (m: { total: number }) => r(m.total));
      worker.postMessage('total');
    });
    if (got !== n) throw new Error(`raw_flat lost messages: ${got}`);
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await worker.terminate();
  }
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const k = knobs(opts.set);
  const size = payloadSize(opts.set.payload);
  const runs = opts.quick ? 1 : 3;
  const rc: number[] = [];
  const raw: number[] = [];
  const flat: number[] = [];
  let n = 0;
  for (let r = 0; r < runs; r++) {
    // Fresh payloads per run (and per implementation), built before the timed loops.
    const msgs = payloads(size, opts.quick ? 100_000 : 1_000_000);
    n = msgs.length;
    rc.push(await rustyclaw(msgs, k));
    raw.push(await rawBatched(payloads(size, n), k.batch));
    flat.push(await rawFlat(n, k.batch));
  }
  const results = {
    rustyclaw: { msgs_per_s: Math.round(median(rc)) },
    raw_batched: { msgs_per_s: Math.round(median(raw)) },
    raw_flat: { msgs_per_s: Math.round(median(flat)) },
  };
  return {
    knobs: { ...k },
    results,
    ratios: {
      tell_vs_raw_batched: round(results.rustyclaw.msgs_per_s / results.raw_batched.msgs_per_s, 2),
      tell_vs_raw_flat: round(results.rustyclaw.msgs_per_s / results.raw_flat.msgs_per_s, 2),
    },
    notes: [`${n} tells, payload ${size} (fresh per message), batch ${k.batch}, mailbox ${k.mailbox}, ${runs} runs, medians`],
  };
}
