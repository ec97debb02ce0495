/** Callers for the baselines, each exposing `call(payload)` and `close()`. */
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

export interface Caller {
  call(p: unknown): Promise<unknown>;
  close(): Promise<void>;
}

const url = (f: string) => new URL(f, import.meta.url);

/** Raw MessagePort with a promise map: the floor any actor system pays on top of. */
export async function rawCaller(): Promise<Caller & { worker: Worker }> {
  const worker = new Worker(url('./raw-worker.js'));
  await new Promise((r) => worker.once('online', r));
  const pending = new Map<number, (v: unknown) => void>();
  let next = 1;
  worker.on('message', (m: { id: number; p: unknown }) => {
    const r = pending.get(m.id);
    if (r) {
      pending.delete(m.id);
      r(m.p);
    }
  });
  return {
    worker,
    call(p) {
      const id = next++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        worker.postMessage({ id, p });
      });
    },
    close: async () => void (await worker.terminate()),
  };
}

/**
 * Raw MessagePort batched the way RustyClaw batches: calls made in one turn of the event loop go in
 * one postMessage (flushed at the end of the microtask, or at `batchMax`), replies come back batched.
 */
export async function rawBatchedCaller(batchMax = 256): Promise<Caller> {
  const worker = new Worker(url('./raw-worker.js'));
  await new Promise((r) => worker.once('online', r));
  const pending = new Map<number, (v: unknown) => void>();
  let next = 1;
  let out: Array<{ id: number; p: unknown }> = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (out.length === 0) return;
    worker.postMessage({ b: out });
    out = [];
  };
  worker.on('message', (m: { b: Array<{ id: number; p: unknown }> }) => {
    for (const x of m.b) {
      const r = pending.get(x.id);
      if (r) {
        pending.delete(x.id);
        r(x.p);
      }
    }
  });
  return {
    call(p) {
      const id = next++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        out.push({ id, p });
        if (out.length >= batchMax) flush();
        else if (!scheduled) {
          scheduled = true;
          queueMicrotask(flush);
        }
      });
    },
    close: async () => void (await worker.terminate()),
  };
}

export async function comlinkCaller(): Promise<Caller> {
  const worker = new Worker(url('./comlink-worker.js'));
  await new Promise((r) => worker.once('online', r));
  const api = Comlink.wrap<{ echo(p: unknown): unknown }>(nodeEndpoint(worker) as any);
  return {
    call: (p) => api.echo(p) as Promise<unknown>,
    close: async () => void (await worker.terminate()),
  };
}

export async function piscinaCaller(): Promise<Caller> {
  const pool = new Piscina({ filename: url('./piscina-task.js').href, minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 64 });
  await pool.run(0);
  return {
    call: (p) => pool.run(p),
    close: () => pool.destroy(),
  };
}
