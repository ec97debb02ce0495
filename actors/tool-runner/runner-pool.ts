/**
 * The pool of runner threads. One call per thread at a time; calls beyond the pool size wait in a
 * FIFO queue. A call past its deadline gets `timeout` at once and its thread is terminated; a
 * spare thread, started in advance, takes its place so the pool is whole again within
 * milliseconds (the time is kept as `lastReplacementMs`). A thread that dies for another reason
 * fails its call (`runner_unavailable`) and is replaced the same way.
 */
import { Worker } from 'node:worker_threads';
import type { SandboxOutcome, SandboxSpec } from './sandbox.js';
import type { RunnerRunMsg } from './runner-worker.js';

export interface PoolCall {
  key: string;
  module: WebAssembly.Module;
  spec: Omit<SandboxSpec, 'module' | 'http'>;
  timeoutMs: number;
  /** Host side of HTTP requests; absent = no network. */
  http?: (req: Uint8Array) => Promise<Uint8Array>;
  httpTimeoutMs?: number;
}

export type PoolOutcome = SandboxOutcome | { ok: false; code: 'timeout' | 'runner_unavailable'; message: string; output: ''; log: ''; fuelUsed: number; memoryPeakBytes: number };

interface Runner {
  worker: Worker;
  sab: SharedArrayBuffer;
  ready: Promise<void>;
  isReady: boolean;
  known: Set<string>;
  dead: boolean;
}

interface Slot {
  index: number;
  runner: Runner;
  replaced: number;
  call?: { id: number; call: PoolCall; resolve: (o: PoolOutcome) => void; timer: NodeJS.Timeout };
}

export interface PoolOptions {
  size: number;
  /** Largest host-function response (bytes). */
  responseBytes: number;
  onError?: (msg: string, err?: unknown) => void;
}

const fail = (code: 'timeout' | 'runner_unavailable', message: string, fuelUsed = 0): PoolOutcome => ({ ok: false, code, message, output: '', log: '', fuelUsed, memoryPeakBytes: 0 });

export class RunnerPool {
  private readonly slots: Slot[] = [];
  private spare?: Runner;
  private readonly queue: Array<{ call: PoolCall; resolve: (o: PoolOutcome) => void }> = [];
  private nextId = 1;
  private closed = false;
  private readonly url = new URL('./runner-worker.js', import.meta.url);
  lastReplacementMs?: number;
  calls = 0;

  private starting?: Promise<void>;

  constructor(private readonly opts: PoolOptions) {}

  /** Whether the runner threads were started (by `start()` or by the first call). */
  get started(): boolean {
    return this.starting !== undefined;
  }

  /** Start the runner threads (and the spare); later calls return the same promise. */
  start(): Promise<void> {
    if (!this.starting) {
      for (let i = 0; i < this.opts.size; i++) this.slots.push({ index: i, runner: this.spawn(), replaced: 0 });
      this.spare = this.spawn();
      this.starting = Promise.all([...this.slots.map((s) => s.runner.ready), this.spare.ready]).then(() => this.pump());
    }
    return this.starting;
  }

  private spawn(): Runner {
    const sab = new SharedArrayBuffer(8 + this.opts.responseBytes + 65536);
    // The JS heap of a runner holds only buffers of one call; wasm memory is capped by the rewrite.
    const worker = new Worker(this.url, { workerData: { sab }, resourceLimits: { maxOldGenerationSizeMb: 128 } });
    const r: Runner = { worker, sab, isReady: false, known: new Set(), dead: false, ready: Promise.resolve() };
    r.ready = new Promise<void>((resolve) => {
      worker.once('message', (m: { t: string }) => {
        if (m.t === 'ready') { r.isReady = true; resolve(); }
      });
      worker.once('exit', () => resolve());
    });
    worker.on('message', (m: any) => this.onMessage(r, m));
    worker.on('error', (e) => this.opts.onError?.('runner thread error', e));
    worker.on('exit', () => this.onExit(r));
    return r;
  }

  private slotOf(r: Runner): Slot | undefined {
    return this.slots.find((s) => s.runner === r);
  }

  private onMessage(r: Runner, m: any): void {
    const s = this.slotOf(r);
    if (!s?.call) return;
    if (m.t === 'http' && m.id === s.call.id) {
      const { call, id } = s.call;
      const answer = call.http ? call.http(m.req as Uint8Array) : Promise.resolve(new TextEncoder().encode('{"error":{"code":"network_denied","message":"no network"}}'));
      void answer.catch((e) => new TextEncoder().encode(JSON.stringify({ error: { code: 'host_error', message: String((e as Error)?.message ?? e) } }))).then((bytes) => {
        if (s.runner !== r || s.call?.id !== id) return;
        const ctl = new Int32Array(r.sab, 0, 2);
        const room = r.sab.byteLength - 8;
        const body = bytes.length <= room ? bytes : new TextEncoder().encode(JSON.stringify({ error: { code: 'response_too_large', message: `response of ${bytes.length} bytes exceeds ${room}` } }));
        new Uint8Array(r.sab, 8).set(body);
        Atomics.store(ctl, 1, body.length);
        Atomics.store(ctl, 0, 1);
        Atomics.notify(ctl, 0);
      });
      return;
    }
    if (m.t === 'done' && m.id === s.call.id) {
      const c = s.call;
      if (m.missing) {
        // The thread lost the module (cache evicted): send it again.
        r.known.delete(c.call.key);
        this.post(s, c.id, c.call);
        return;
      }
      clearTimeout(c.timer);
      s.call = undefined;
      this.calls++;
      c.resolve(m.outcome as SandboxOutcome);
      this.pump();
    }
  }

  private onExit(r: Runner): void {
    r.dead = true;
    if (this.spare === r) {
      // A spare that dies before it is ready (e.g. its module cannot load) is retried after a pause, not in a loop.
      this.spare = undefined;
      if (!this.closed) setTimeout(() => { if (!this.closed && !this.spare) this.spare = this.spawn(); }, r.isReady ? 0 : 1000).unref();
      return;
    }
    const s = this.slotOf(r);
    if (!s || this.closed) return;
    if (s.call) {
      const c = s.call;
      s.call = undefined;
      clearTimeout(c.timer);
      c.resolve(fail('runner_unavailable', `the runner thread died during the call`));
    }
    this.replace(s, performance.now());
  }

  /** Put the spare (or a new thread) into the slot; start a new spare. */
  private replace(s: Slot, since: number): void {
    const next = this.spare && !this.spare.dead ? this.spare : this.spawn();
    this.spare = this.closed ? undefined : this.spawn();
    s.runner = next;
    s.replaced++;
    void next.ready.then(() => {
      this.lastReplacementMs = performance.now() - since;
      this.pump();
    });
  }

  private post(s: Slot, id: number, call: PoolCall): void {
    const r = s.runner;
    const first = !r.known.has(call.key);
    const msg: RunnerRunMsg = { t: 'run', id, key: call.key, spec: call.spec, network: !!call.http, httpTimeoutMs: call.httpTimeoutMs ?? 30_000, ...(first ? { module: call.module } : {}) };
    r.known.add(call.key);
    r.worker.postMessage(msg);
  }

  run(call: PoolCall): Promise<PoolOutcome> {
    if (this.closed) return Promise.resolve(fail('runner_unavailable', 'the runner pool is shut down'));
    // Threads start with the first call unless started at setup (tools.runners_start); start() is idempotent.
    void this.start();
    return new Promise((resolve) => {
      this.queue.push({ call, resolve });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length) {
      const s = this.slots.find((x) => !x.call && x.runner.isReady && !x.runner.dead);
      if (!s) return;
      const { call, resolve } = this.queue.shift()!;
      const id = this.nextId++;
      const timer = setTimeout(() => this.expire(s, id), call.timeoutMs);
      s.call = { id, call, resolve, timer };
      this.post(s, id, call);
    }
  }

  private expire(s: Slot, id: number): void {
    if (s.call?.id !== id) return;
    const since = performance.now();
    const c = s.call;
    s.call = undefined;
    const old = s.runner;
    this.replace(s, since);
    void old.worker.terminate();
    c.resolve(fail('timeout', `the tool ran longer than ${c.call.timeoutMs} ms (limits.timeout_ms); its runner thread was replaced`));
  }

  /** Resolves once a spare runner is ready (the bench waits for it between timeouts). */
  async whenSpareReady(): Promise<void> {
    await this.start();
    for (;;) {
      const sp = this.spare;
      if (sp && sp.isReady && !sp.dead) return;
      if (sp && !sp.dead) await sp.ready;
      else await new Promise((r) => setTimeout(r, 20));
      if (this.closed) return;
    }
  }

  info(): Array<{ id: string; alive: boolean; busy: boolean; replaced: number }> {
    return this.slots.map((s) => ({ id: `runner-${s.index}`, alive: s.runner.isReady && !s.runner.dead, busy: !!s.call, replaced: s.replaced }));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.resolve(fail('runner_unavailable', 'the runner pool is shutting down'));
    for (const s of this.slots) if (s.call) { clearTimeout(s.call.timer); s.call.resolve(fail('runner_unavailable', 'the runner pool is shutting down')); s.call = undefined; }
    await Promise.all([...this.slots.map((s) => s.runner.worker.terminate()), this.spare?.worker.terminate()]);
  }
}
