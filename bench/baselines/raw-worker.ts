/**
 * Baseline worker: plain postMessage. Request/reply messages are `{id, p}` echoed back; `{b: [...]}`
 * is a batch of requests answered with one batch of replies (the way RustyClaw batches); an array is
 * a batch of one-way messages that is only counted; a Float64Array is a flat batch of one-way
 * numbers (type code, value pairs); `'total'` asks for the count.
 */
import { parentPort } from 'node:worker_threads';

let count = 0;
parentPort!.on('message', (m: unknown) => {
  if (m instanceof Float64Array) {
    for (let i = 0; i < m.length; i += 2) if (m[i] === 1) count++;
    return;
  }
  if (m !== null && typeof m === 'object' && 'b' in m) {
    const out = (m as { b: Array<{ id: number; p: unknown }> }).b.map((x) => ({ id: x.id, p: x.p }));
    parentPort!.postMessage({ b: out });
    return;
  }
  if (Array.isArray(m)) {
    // Dispatch each message by type, as any receiver must (not just count the batch).
    for (const x of m as Array<{ ty: string }>) if (x.ty === 'bench.count') count++;
    return;
  }
  if (m === 'total') {
    parentPort!.postMessage({ total: count });
    return;
  }
  parentPort!.postMessage(m);
});
