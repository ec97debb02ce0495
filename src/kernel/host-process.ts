/**
 * The kernel-side handle of one worker host: starts the worker, watches it (crash, out-of-memory,
 * liveness deadline) and reports how it ended to its supervisor. It knows nothing of restart policy.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { RouterOptions } from './router.js';
import type { ControlFromHost, ControlToHost, HostActorSpec } from './control.js';
import type { LivenessMonitor, Watched } from './liveness.js';

export type ExitReason = 'normal' | 'crash' | 'stuck' | 'oom';

export interface HostSpec {
  id: string;
  actors: HostActorSpec[];
  memoryLimitMb: number;
  /** V8's young generation of the thread (`kernel.young_generation_mb`); unset: V8's default. */
  youngGenerationMb?: number;
  livenessIntervalMs: number;
  livenessDeadlineMs: number;
  /** Liveness deadline while the thread is in setup (imports, native loads). */
  setupGraceMs: number;
  shutdownMs: number;
  startTimeoutMs: number;
}

export interface HostEnv {
  dataDir: string;
  rootConfig: Record<string, any>;
  routerOpts: RouterOptions;
  logLevel: string;
  log: Logger;
  liveness: LivenessMonitor;
  /** The worker exists (its actors are in setup): give it the directory and its links. */
  onSpawn(host: HostProcess): void;
  onReady(host: HostProcess, actors: Array<{ path: string; onCrash: 'redeliver' | 'fail' }>): void;
  onDown(host: HostProcess, reason: ExitReason, detail: string): void;
  onControl(host: HostProcess, msg: ControlFromHost): void;
}

const HOST_URL = new URL('./host.js', import.meta.url);

export class HostProcess {
  readonly spec: HostSpec;
  private readonly env: HostEnv;
  private worker: Worker | null = null;
  state: 'idle' | 'starting' | 'running' | 'stopping' | 'down' = 'idle';
  startedAt = 0;
  readyMs = 0;
  private watched: Watched | null = null;
  /** Rejects the pending start() when the incarnation ends before it is ready (never a hung boot). */
  private failStart: ((err: Error) => void) | null = null;
  /** Why the kernel is terminating the current incarnation (reported once the thread has stopped). */
  private killing: { reason: ExitReason; detail: string } | null = null;
  /** False when the kernel ended it at the starvation hard cap (see liveness.ts). */
  private counted = true;
  private pingN = 0;
  get alive(): boolean {
    return this.worker !== null;
  }
  private stopping = false;
  private exiting: Promise<void> = Promise.resolve();
  private exitHandled = false;
  /**
   * Called once when the current incarnation ends for any reason. `counted` is false when the kernel
   * may have misjudged a starved process: such a restart does not count toward restart intensity.
   */
  onExit: (reason: ExitReason, detail: string, counted: boolean) => void = () => {};
  private statsWaiters = new Map<number, (m: Extract<ControlFromHost, { t: 'stats' }>) => void>();

  constructor(spec: HostSpec, env: HostEnv) {
    this.spec = spec;
    this.env = env;
  }

  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  post(msg: ControlToHost, transfer?: any[]): void {
    this.worker?.postMessage(msg, transfer);
  }

  /** Starts a new incarnation; resolves when every actor's setup finished, rejects if it failed. */
  start(): Promise<void> {
    this.state = 'starting';
    this.stopping = false;
    this.exitHandled = false;
    this.killing = null;
    this.counted = true;
    this.startedAt = performance.now();
    const env = this.env;
    // Slots: beat counter, OS thread id, in a declared blocking load (blocking.ts).
    const beat = new Int32Array(new SharedArrayBuffer(12));
    const worker = new Worker(HOST_URL, {
      workerData: {
        beat,
        beatMs: this.spec.livenessIntervalMs,
        node: this.spec.id,
        actors: this.spec.actors,
        dataDir: env.dataDir,
        rootConfig: env.rootConfig,
        routerOpts: env.routerOpts,
        logLevel: env.logLevel,
      },
      resourceLimits: { maxOldGenerationSizeMb: this.spec.memoryLimitMb, ...(this.spec.youngGenerationMb ? { maxYoungGenerationSizeMb: this.spec.youngGenerationMb } : {}) },
      stdout: false,
      stderr: false,
    });
    this.worker = worker;
    env.onSpawn(this);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      this.failStart = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(startTimer);
        reject(err);
      };
      const startTimer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new Error(`${this.spec.id}: setup did not finish within ${this.spec.startTimeoutMs} ms`));
        this.kill('crash', 'start timeout');
      }, this.spec.startTimeoutMs);
      // Events of an incarnation that has already been replaced (a killed worker's late `exit`)
      // must not touch its successor.
      const current = () => this.worker === worker;
      worker.on('message', (m: ControlFromHost) => {
        if (!current()) return;
        switch (m.t) {
          case 'ready':
            if (settled) return;
            settled = true;
            this.failStart = null;
            clearTimeout(startTimer);
            if (this.watched) env.liveness.ready(this.watched);
            this.state = 'running';
            this.readyMs = performance.now() - this.startedAt;
            env.onReady(this, m.actors);
            resolve();
            return;
          case 'setup_failed':
            if (settled) return;
            settled = true;
            clearTimeout(startTimer);
            reject(new Error(`${this.spec.id}: actor setup failed: ${m.error.message}`));
            this.kill('crash', `setup failed: ${m.error.message}`);
            return;
          case 'setup':
            // An on-demand actor's setup after boot: setup grace while it runs.
            if (this.watched) {
              if (m.on) this.watched.setup = true;
              else env.liveness.ready(this.watched);
            }
            env.onControl(this, m);
            return;
          case 'stats':
            this.statsWaiters.get(m.n)?.(m);
            this.statsWaiters.delete(m.n);
            return;
          default:
            env.onControl(this, m);
        }
      });
      worker.on('error', (err: Error & { code?: string }) => {
        if (!current()) return;
        const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
        if (!settled) {
          settled = true;
          clearTimeout(startTimer);
          reject(new Error(`${this.spec.id}: ${err.message}`));
        }
        if (this.killing) this.ended(this.killing.reason, this.killing.detail);
        else this.ended(oom ? 'oom' : 'crash', err.message);
      });
      worker.on('exit', (code) => {
        clearTimeout(startTimer);
        if (!current()) return;
        if (!settled) {
          settled = true;
          reject(new Error(`${this.spec.id}: worker exited with code ${code} during setup`));
        }
        if (this.killing) this.ended(this.killing.reason, this.killing.detail);
        else this.ended(this.stopping ? 'normal' : code === 0 ? 'normal' : 'crash', `exit code ${code}`);
      });
      this.watched = {
        id: this.spec.id,
        beat,
        deadlineMs: this.spec.livenessDeadlineMs,
        setupGraceMs: this.spec.setupGraceMs,
        setup: true,
        onStuck: (detail, starved) => {
          if (!current()) return;
          this.counted = !starved;
          this.kill('stuck', detail);
        },
      };
      env.liveness.watch(this.watched);
    });
  }

  private disarm(): void {
    if (this.watched) this.env.liveness.unwatch(this.watched);
    this.watched = null;
  }

  /**
   * End this incarnation and report why. A stuck thread can only be terminated. A responsive one is
   * asked to crash itself first (an uncaught error at its next turn of the event loop): terminating
   * a thread while it is inside a native addon call (lmdb, hnswlib) can abort the whole process
   * (nodejs/node-addon-api#902), whereas a thread between two tasks is never inside one. If it has
   * not ended within `selfCrashMs` (busy in JavaScript), it is terminated; 0 terminates at once.
   */
  kill(reason: ExitReason, detail: string, selfCrashMs = 50): void {
    const w = this.worker;
    if (!w) return;
    if (reason === 'stuck' || this.state === 'starting' || selfCrashMs <= 0) {
      this.terminate(w, reason, detail);
      return;
    }
    w.postMessage({ t: 'crash', why: detail });
    setTimeout(() => {
      if (this.worker !== w) return; // it crashed by itself
      this.terminate(w, reason, detail);
    }, selfCrashMs).unref();
  }

  /**
   * Terminates and reports the end only once the thread has stopped: a thread still running when
   * its end is reported could start another queued message after the kernel read which ones it had
   * started, and that message would be redelivered and run twice (seen under load: a busy thread
   * outliving the 50 ms self-crash wait). A thread stuck inside native code may never stop; after
   * 1 s it is reported anyway (it cannot start messages from there).
   */
  private terminate(w: import('node:worker_threads').Worker, reason: ExitReason, detail: string): void {
    if (this.killing) return;
    this.killing = { reason, detail };
    const report = () => {
      if (this.worker === w) this.ended(reason, detail);
    };
    void w.terminate().then(report, report);
    setTimeout(report, 1000).unref();
  }

  private ended(reason: ExitReason, detail: string): void {
    if (this.exitHandled) return;
    this.exitHandled = true;
    this.disarm();
    this.state = 'down';
    const w = this.worker;
    this.worker = null;
    for (const resolve of this.statsWaiters.values()) resolve({ t: 'stats', n: -1, actors: [], heapUsed: 0 });
    this.statsWaiters.clear();
    if (w) w.removeAllListeners('message');
    const failStart = this.failStart;
    this.failStart = null;
    failStart?.(new Error(`${this.spec.id}: ended during setup (${reason}: ${detail})`));
    // Every end of an incarnation (even a planned stop) is a `down` for the other threads: their asks
    // to it must settle, and what it never started must be redelivered or failed.
    this.env.onDown(this, reason, detail);
    this.onExit(reason, detail, this.counted);
    if (w && reason !== 'normal') void w.terminate();
  }

  /** Graceful stop: ask the actors to stop, terminate after the shutdown timeout. */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w || this.state === 'down') return;
    this.stopping = true;
    this.state = 'stopping';
    this.disarm();
    const done = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.spec.shutdownMs);
      w.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      w.on('message', (m: ControlFromHost) => {
        if (m.t === 'stopped_ok') {
          clearTimeout(t);
          resolve();
        }
      });
    });
    w.postMessage({ t: 'stop' });
    await done;
    this.ended('normal', 'stopped');
    // The thread has stopped its actors and flushed its stores (stopped_ok): the next sibling's stop
    // need not wait for this isolate's teardown; ActorSystem.stop() awaits them all (terminated()).
    this.exiting = w.terminate().then(() => {}, () => {});
  }

  /** Resolves once the thread of the last stop() has ended. */
  terminated(): Promise<void> {
    return this.exiting;
  }

  stats(timeoutMs = 1000): Promise<Extract<ControlFromHost, { t: 'stats' }> | null> {
    if (!this.worker || this.state !== 'running') return Promise.resolve(null);
    const n = ++this.pingN;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.statsWaiters.delete(n);
        resolve(null);
      }, timeoutMs);
      this.statsWaiters.set(n, (m) => {
        clearTimeout(t);
        resolve(m.n === -1 ? null : m);
      });
      this.post({ t: 'stats', n });
    });
  }
}
