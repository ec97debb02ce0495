/**
 * Baseline worker: plain postMessage. Request/reply messages are `{id, p}` echoed back; an array is
 * a batch of one-way messages that is only counted; `'total'` asks for the count.
 */
import { parentPort } from 'node:worker_threads';

let count = 0;
parentPort!.on('message', (m: unknown) => {
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
