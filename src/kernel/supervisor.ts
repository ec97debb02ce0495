/**
 * OTP-style supervisor. Children become ready in order and stop in reverse order. When a child ends:
 * - restart type `permanent` always restarts, `transient` only after an abnormal end, `temporary` never;
 * - strategy `one_for_one` restarts that child, `one_for_all` all children, `rest_for_one` that child
 *   and the ones started after it;
 * - restarts are spaced by exponential backoff, and more than `intensity` restarts within `periodMs`
 *   escalate: the supervisor stops its children and fails to its own parent.
 * The root never takes the service down: a subtree that exhausts its intensity there is left stopped
 * (and reported) while everything else keeps running.
 */
import type { Logger } from 'pino';
import type { ExitReason } from './host-process.js';

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';
export type RestartType = 'permanent' | 'transient' | 'temporary';

export interface SupervisorPolicy {
  strategy: Strategy;
  intensity: number;
  periodMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

/** Anything a supervisor can supervise: a worker host or another supervisor. */
export interface Child {
  readonly id: string;
  readonly restart: RestartType;
  state: string;
  restarts: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Set by the supervisor: called when the child ends on its own. */
  onExit: (reason: ExitReason, detail: string) => void;
  /** Actor paths inside this child (for status and for failing their callers). */
  paths(): string[];
}

export interface SupervisorHooks {
  log: Logger;
  /** Actors in a child that will not come back (temporary, or the subtree gave up). */
  onStopped(paths: string[], why: string): void;
  onRestart?(childId: string, reason: ExitReason, ms: number): void;
}

export class Supervisor implements Child {
  readonly id: string;
  readonly restart: RestartType;
  state: 'idle' | 'running' | 'stopping' | 'stopped' | 'failed' = 'idle';
  restarts = 0;
  readonly children: Child[] = [];
  private readonly policy: SupervisorPolicy;
  private readonly hooks: SupervisorHooks;
  private readonly isRoot: boolean;
  private restartTimes: number[] = [];
  private consecutive = 0;
  /** Operations run one at a time so that crashes during a restart are handled in order. */
  private queue: Promise<void> = Promise.resolve();
  onExit: (reason: ExitReason, detail: string) => void = () => {};

  constructor(id: string, policy: SupervisorPolicy, restart: RestartType, hooks: SupervisorHooks, isRoot = false) {
    this.id = id;
    this.policy = policy;
    this.restart = restart;
    this.hooks = hooks;
    this.isRoot = isRoot;
  }

  add(child: Child): void {
    this.children.push(child);
    child.onExit = (reason, detail) => this.enqueue(() => this.childExited(child, reason, detail));
  }

  paths(): string[] {
    return this.children.flatMap((c) => c.paths());
  }

  private enqueue(op: () => Promise<void>): void {
    this.queue = this.queue.then(op).catch((err) => this.hooks.log.error({ supervisor: this.id, err }, 'supervisor operation failed'));
  }

  /**
   * Children's threads are spawned concurrently (thread start-up is the dominant cost and two cores
   * overlap it), and become ready in order: the supervisor waits for them first to last. An actor
   * that asks an earlier sibling during its setup simply waits: messages queue until it is ready.
   */
  async start(): Promise<void> {
    this.state = 'running';
    this.restartTimes = [];
    this.consecutive = 0;
    const starts = this.children.map((c) => {
      const p = c.start();
      p.catch(() => {}); // awaited below, in order
      return p;
    });
    for (let i = 0; i < starts.length; i++) {
      try {
        await starts[i];
      } catch (err) {
        // The failed start already counts as an exit of that child and is being handled by policy;
        // the rest of the tree still starts.
        this.hooks.log.error({ supervisor: this.id, child: this.children[i].id, err: (err as Error).message }, 'child failed to start');
      }
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'failed') return;
    this.state = 'stopping';
    for (const c of [...this.children].reverse()) await c.stop();
    this.state = 'stopped';
  }

  /** Waits until queued restarts are done (tests and status use it). */
  settled(): Promise<void> {
    return this.queue;
  }

  private async childExited(child: Child, reason: ExitReason, detail: string): Promise<void> {
    if (this.state !== 'running') return;
    const abnormal = reason !== 'normal';
    if (child.restart === 'temporary' || (child.restart === 'transient' && !abnormal)) {
      child.state = 'stopped';
      this.hooks.log.info({ supervisor: this.id, child: child.id, reason, detail }, 'child ended; not restarted (restart type %s)', child.restart);
      this.hooks.onStopped(child.paths(), `${child.id} ended (${reason}) and is ${child.restart}`);
      return;
    }
    if (!this.recordRestart()) {
      this.hooks.log.error(
        { supervisor: this.id, child: child.id, reason, detail, intensity: this.policy.intensity, period_ms: this.policy.periodMs },
        'restart intensity exceeded; escalating',
      );
      await this.giveUp(child, `restart intensity of ${this.id} exceeded after ${child.id} ended (${reason}: ${detail})`);
      return;
    }
    const delay = this.backoff();
    this.hooks.log.warn({ supervisor: this.id, child: child.id, reason, detail, backoff_ms: delay }, 'child ended; restarting');
    if (delay > 0) await sleep(delay);
    if (this.state !== 'running') return;
    const t0 = performance.now();
    const idx = this.children.indexOf(child);
    const affected =
      this.policy.strategy === 'one_for_all' ? this.children : this.policy.strategy === 'rest_for_one' ? this.children.slice(idx) : [child];
    // Stop the others (in reverse order) before restarting the whole group in order.
    for (const c of [...affected].reverse()) if (c !== child) await c.stop();
    for (const c of affected) {
      if (this.state !== 'running') return;
      c.restarts++;
      try {
        await c.start();
      } catch (err) {
        // A failed start is another crash of that child: its onExit has been queued already.
        this.hooks.log.error({ supervisor: this.id, child: c.id, err: (err as Error).message }, 'restart failed');
        return;
      }
    }
    this.hooks.onRestart?.(child.id, reason, performance.now() - t0);
  }

  /** Records a restart; false when the intensity within the period is exceeded. */
  private recordRestart(): boolean {
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < this.policy.periodMs);
    if (this.restartTimes.length === 0) this.consecutive = 0;
    this.restartTimes.push(now);
    this.consecutive++;
    return this.restartTimes.length <= this.policy.intensity;
  }

  private backoff(): number {
    if (this.consecutive <= 1) return this.policy.backoffInitialMs;
    return Math.min(this.policy.backoffMaxMs, this.policy.backoffInitialMs * 2 ** (this.consecutive - 1));
  }

  private async giveUp(child: Child, why: string): Promise<void> {
    if (this.isRoot) {
      // Never take the whole service down: the failing subtree stays stopped, everything else runs on.
      await child.stop();
      child.state = 'failed';
      this.hooks.onStopped(child.paths(), why);
      return;
    }
    for (const c of [...this.children].reverse()) await c.stop();
    this.state = 'failed';
    this.onExit('crash', why);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
