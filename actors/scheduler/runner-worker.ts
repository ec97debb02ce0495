/**
 * Entry of a scheduler pool worker thread. Runs jobs concurrently, heartbeats while alive (a
 * blocked or dead thread stops heartbeating, so its leases expire), and relays asks to the
 * scheduler thread, which owns the kernel context.
 *
 * Wire (parent → worker): run, cancel, ask_reply. (worker → parent): ready, hb, started, done, ask.
 */
import { parentPort, workerData, threadId } from 'node:worker_threads';
import { JobAbort, runJob, type RunEnv, type RunMsg } from './job-runners.js';

interface WorkerInit {
  heartbeatMs: number;
  /** Bench probe: Int32 owner thread per slot, then conflict records (see worker-pool.ts). */
  probe?: SharedArrayBuffer;
}

const init = workerData as WorkerInit;
const port = parentPort!;
const running = new Map<string, { epoch: number; ac: AbortController }>();
const asks = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
let nextRid = 1;

const owners = init.probe ? new Int32Array(init.probe, 0, (init.probe.byteLength - 8) / 4) : undefined;
const conflicts = init.probe ? new Int32Array(init.probe, init.probe.byteLength - 8, 2) : undefined;

function probeStart(slot: number): void {
  if (!owners || !conflicts) return;
  const prev = Atomics.exchange(owners, slot, threadId);
  // Another thread still owns the slot: either it runs the same job now (a duplicate) or it was
  // killed mid-run. Record the thread so the bench can tell which by its exit time.
  if (prev !== 0) {
    Atomics.add(conflicts, 0, 1);
    Atomics.store(conflicts, 1, prev);
  }
}
function probeEnd(slot: number): void {
  if (owners) Atomics.compareExchange(owners, slot, threadId, 0);
}

function ask(to: string, type: string, payload: unknown, timeoutMs: number): Promise<unknown> {
  const rid = nextRid++;
  return new Promise((resolve, reject) => {
    asks.set(rid, { resolve, reject });
    port.postMessage({ t: 'ask', rid, to, type, payload, timeoutMs });
  });
}

async function run(msg: RunMsg): Promise<void> {
  const ac = new AbortController();
  running.set(msg.id, { epoch: msg.epoch, ac });
  const timer = setTimeout(() => ac.abort(new JobAbort('timeout', `job timed out after ${msg.timeout_ms} ms`)), msg.timeout_ms);
  port.postMessage({ t: 'started', id: msg.id, epoch: msg.epoch, at: performance.timeOrigin + performance.now() });
  try {
    // The relay carries any message type; its reply is checked against the schema by the replying actor (validate: all).
    const result = await runJob(msg, { signal: ac.signal, ask: ask as RunEnv['ask'], probeStart, probeEnd });
    port.postMessage({ t: 'done', id: msg.id, epoch: msg.epoch, ok: true, result });
  } catch (e) {
    const code = e instanceof JobAbort ? e.code : ((e as { code?: string })?.code ?? 'job_error');
    const message = e instanceof Error ? e.message : String(e);
    port.postMessage({ t: 'done', id: msg.id, epoch: msg.epoch, ok: false, error: { code, message } });
  } finally {
    clearTimeout(timer);
    running.delete(msg.id);
  }
}

port.on('message', (m: any) => {
  switch (m.t) {
    case 'run':
      void run(m as RunMsg);
      break;
    case 'cancel': {
      const r = running.get(m.id);
      if (r && r.epoch === m.epoch) r.ac.abort(new JobAbort('cancelled', 'job cancelled'));
      break;
    }
    case 'ask_reply': {
      const a = asks.get(m.rid);
      if (!a) break;
      asks.delete(m.rid);
      if (m.ok) a.resolve(m.value);
      else a.reject(Object.assign(new Error(m.error?.message ?? 'ask failed'), { code: m.error?.code ?? 'ask_failed' }));
      break;
    }
  }
});

setInterval(() => port.postMessage({ t: 'hb' }), init.heartbeatMs);
port.postMessage({ t: 'ready' });
