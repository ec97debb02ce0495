/**
 * The scheduler's own pool of worker threads (`runner-worker.js`). Each worker runs many jobs
 * concurrently; the pool tracks which (job, epoch) each worker holds, relays the workers' asks to
 * the host (the scheduler's kernel context), and on a worker's death reports its jobs as lost
 * and spawns a replacement. `kill()` exists for chaos testing and for fencing a stuck worker.
 *
 * Probe (bench only): a SharedArrayBuffer of `slots` Int32 owner cells plus 2 Int32 conflict
 * cells; a worker marks the slot of a running noop job with its threadId, and a start on a slot
 * still owned by another, not yet dead, thread counts as a duplicate concurrent run. The pool
 * clears a dead thread's cells only after its `exit` event, i.e. once it has really stopped.
 */
import { Worker } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import type { RunMsg } from './job-runners.js';

export interface PoolHost {
  ask(to: string, type: string, payload: unknown, opts: { timeoutMs: number; signal: AbortSignal }): Promise<unknown>;
}

export interface PoolOptions {
  size: number;
  heartbeatMs: number;
  host: PoolHost;
  probe?: SharedArrayBuffer;
  /** Delay before respawning a dead worker, grows on crash loops. */
  respawnMs?: number;
  /**
   * Spawn the threads on the first `ensure()` (the first job ready to run) instead of in `start()`:
   * an idle scheduler then costs no threads (~8 MB each, docs/decisions.md).
   */
  onDemand?: boolean;
}

interface Slot {
  index: number;
  generation: number;
  id: string;
  worker?: Worker;
  alive: boolean;
  threadId: number;
  jobs: Map<string, number>;
  asks: Map<number, AbortController>;
  restarts: number;
  readyAt?: number;
}

export interface DoneMsg {
  t: 'done';
  id: string;
  epoch: number;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

export class WorkerPool extends EventEmitter {
  private readonly slots: Slot[] = [];
  private closed = false;
  private spawned?: Promise<void>;
  private readonly url = new URL('./runner-worker.js', import.meta.url);

  constructor(private readonly opts: PoolOptions) {
    super();
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.opts.size; i++) {
      this.slots.push({ index: i, generation: 0, id: '', alive: false, threadId: 0, jobs: new Map(), asks: new Map(), restarts: 0 });
    }
    if (!this.opts.onDemand) await this.ensure();
  }

  /** Whether the threads have been spawned (always after `start()` unless `onDemand`). */
  get started(): boolean {
    return this.spawned !== undefined;
  }

  /** Spawn the threads if not yet; resolves once each is ready (a `ready` event per worker). */
  ensure(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.spawned ??= Promise.all(this.slots.map((s) => this.spawn(s))).then(() => {});
    return this.spawned;
  }

  private spawn(s: Slot): Promise<void> {
    s.generation++;
    s.id = `w${s.index}.${s.generation}`;
    const w = new Worker(this.url, { workerData: { heartbeatMs: this.opts.heartbeatMs, probe: this.opts.probe } });
    s.worker = w;
    s.threadId = w.threadId;
    const id = s.id;
    return new Promise((resolve) => {
      w.on('message', (m: any) => {
        if (s.id !== id) return;
        switch (m.t) {
          case 'ready':
            s.alive = true;
            this.emit('ready', id);
            resolve();
            break;
          case 'hb':
            this.emit('hb', id);
            break;
          case 'started':
            this.emit('started', m.id, m.epoch, m.at, id);
            break;
          case 'done':
            if (s.jobs.get(m.id) === m.epoch) s.jobs.delete(m.id);
            this.emit('done', m as DoneMsg, id);
            break;
          case 'ask':
            this.relayAsk(s, id, m);
            break;
        }
      });
      w.on('error', (e) => this.emit('worker_error', id, e));
      w.on('exit', () => {
        resolve();
        if (s.id !== id) return;
        this.onExit(s);
      });
    });
  }

  private relayAsk(s: Slot, id: string, m: { rid: number; to: string; type: string; payload: unknown; timeoutMs: number }): void {
    const ac = new AbortController();
    s.asks.set(m.rid, ac);
    this.opts.host.ask(m.to, m.type, m.payload, { timeoutMs: m.timeoutMs, signal: ac.signal }).then(
      (value) => {
        s.asks.delete(m.rid);
        if (s.id === id && s.alive) s.worker!.postMessage({ t: 'ask_reply', rid: m.rid, ok: true, value });
      },
      (e: any) => {
        s.asks.delete(m.rid);
        if (s.id === id && s.alive) s.worker!.postMessage({ t: 'ask_reply', rid: m.rid, ok: false, error: { code: e?.code ?? 'ask_failed', message: String(e?.message ?? e) } });
      },
    );
  }

  private onExit(s: Slot): void {
    s.alive = false;
    const lost = [...s.jobs].map(([id, epoch]) => ({ id, epoch }));
    s.jobs.clear();
    for (const ac of s.asks.values()) ac.abort();
    s.asks.clear();
    this.releaseProbe(s.threadId);
    const deadId = s.id;
    this.emit('exit', deadId, lost);
    if (this.closed) return;
    s.restarts++;
    const delay = this.opts.respawnMs ?? 0;
    setTimeout(() => {
      if (!this.closed) void this.spawn(s);
    }, delay).unref?.();
  }

  private releaseProbe(thread: number): void {
    const p = this.opts.probe;
    if (!p) return;
    const owners = new Int32Array(p, 0, (p.byteLength - 8) / 4);
    for (let i = 0; i < owners.length; i++) if (owners[i] === thread) Atomics.compareExchange(owners, i, thread, 0);
  }

  /** The alive worker with the fewest jobs (undefined while none is alive). */
  pick(): string | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (s.alive && (!best || s.jobs.size < best.jobs.size)) best = s;
    return best?.id;
  }

  private slot(workerId: string): Slot | undefined {
    return this.slots.find((s) => s.id === workerId);
  }

  /** Hand a job to a worker; false when that worker is gone (the caller re-queues). */
  run(workerId: string, msg: RunMsg): boolean {
    const s = this.slot(workerId);
    if (!s || !s.alive) return false;
    s.jobs.set(msg.id, msg.epoch);
    s.worker!.postMessage(msg);
    return true;
  }

  cancel(workerId: string, id: string, epoch: number): void {
    const s = this.slot(workerId);
    if (s?.alive) s.worker!.postMessage({ t: 'cancel', id, epoch });
  }

  holds(workerId: string, id: string, epoch: number): boolean {
    return this.slot(workerId)?.jobs.get(id) === epoch;
  }

  /** Terminate a worker (chaos, or fencing a stuck one); resolves with its id once it is dead. */
  async kill(index?: number): Promise<{ worker: string; jobs: number } | undefined> {
    const alive = this.slots.filter((s) => s.alive);
    const s = index !== undefined ? this.slots[index] : alive[Math.floor(Math.random() * alive.length)];
    if (!s?.alive || !s.worker) return undefined;
    const out = { worker: s.id, jobs: s.jobs.size };
    await s.worker.terminate();
    return out;
  }

  async killById(workerId: string): Promise<void> {
    const s = this.slot(workerId);
    if (s?.alive && s.worker) await s.worker.terminate();
  }

  info(): Array<{ id: string; alive: boolean; running: number; restarts: number }> {
    return this.slots.map((s) => ({ id: s.id, alive: s.alive, running: s.jobs.size, restarts: s.restarts }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
  }
}

export function createProbe(slots: number): SharedArrayBuffer {
  return new SharedArrayBuffer(slots * 4 + 8);
}
export function probeConflicts(p: SharedArrayBuffer): number {
  return Atomics.load(new Int32Array(p, p.byteLength - 8, 2), 0);
}
