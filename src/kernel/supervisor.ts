/**
 * OTP-style supervisor. Children become ready in order and stop in reverse order. When a child ends:
 * - restart type `permanent` always restarts, `transient` only after an abnormal end, `temporary` never;
 * - strategy `one_for_one` restarts that child, `one_for_all` all children, `rest_for_one` that child
 *   and the ones started after it;
 * - a restart waits `backoffInitialMs`; a child that ends again within `backoffResetMs` of its
 *   restart waits twice as long as the time before (up to `backoffMaxMs`), one that served longer
 *   starts from `backoffInitialMs` again: a crash loop is slowed down, an actor hit by an occasional
 *   fault (even every few hundred ms) serves again at once;
 * - more than `intensity` restarts within `periodMs` escalate: the supervisor stops its children and
 *   fails to its own parent. Kills the kernel made at the starvation hard cap (see liveness.ts) do
 *   not count: a starved machine must not escalate into a storm of restarts.
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
  backoffResetMs: number;
}

/** Anything a supervisor can supervise: a worker host or another supervisor. */
export interface Child {
  readonly id: string;
  readonly restart: RestartType;
  state: string;
  restarts: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Set by the supervisor: called when the child ends on its own (`counted`: toward intensity). */
  onExit: (reason: ExitReason, detail: string, counted: boolean) => void;
  /** Actor paths inside this child (for status and for failing their callers). */
  paths(): string[];
}

export interface SupervisorHooks {
  log: Logger;
  /** Actors in a child that will not come back (temporary, or the subtree gave up). */
  onStopped(paths: string[], why: string): void;
  onRestart?(childId: string, reason: ExitReason, ms: number, backoffMs: number): void;
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
  /** Per child: restarts in a row that ended within backoffResetMs, and when it last came up. */
  private readonly streak = new Map<Child, { n: number; upAt: number; delay: number }>();
  /** Operations run one at a time so that crashes during a restart are handled in order. */
  private queue: Promise<void> = Promise.resolve();
  onExit: (reason: ExitReason, detail: string, counted: boolean) => void = () => {};

  constructor(id: string, policy: SupervisorPolicy, restart: RestartType, hooks: SupervisorHooks, isRoot = false) {
    this.id = id;
    this.policy = policy;
    this.restart = restart;
    this.hooks = hooks;
    this.isRoot = isRoot;
  }

  add(child: Child): void {
    this.children.push(child);
    child.onExit = (reason, detail, counted) => this.enqueue(() => this.childExited(child, reason, detail, counted));
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
    this.streak.clear();
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
        // Its restarts are under way: the tree is ready only when it runs again or is given up.
        await this.untilSettled(this.children[i]);
      }
    }
  }

  /** Waits until a child runs again, or is stopped for good, or this supervisor stops. */
  private async untilSettled(child: Child): Promise<void> {
    while (this.state === 'running' && child.state !== 'running' && child.state !== 'stopped' && child.state !== 'failed') {
      await this.queue;
      await sleep(5);
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

  private async childExited(child: Child, reason: ExitReason, detail: string, counted = true): Promise<void> {
    if (this.state !== 'running') return;
    const abnormal = reason !== 'normal';
    if (child.restart === 'temporary' || (child.restart === 'transient' && !abnormal)) {
      child.state = 'stopped';
      this.hooks.log.info({ supervisor: this.id, child: child.id, reason, detail }, 'child ended; not restarted (restart type %s)', child.restart);
      this.hooks.onStopped(child.paths(), `${child.id} ended (${reason}) and is ${child.restart}`);
      return;
    }
    if (counted && !this.recordRestart()) {
      this.hooks.log.error(
        { supervisor: this.id, child: child.id, reason, detail, intensity: this.policy.intensity, period_ms: this.policy.periodMs },
        'restart intensity exceeded; escalating',
      );
      await this.giveUp(child, `restart intensity of ${this.id} exceeded after ${child.id} ended (${reason}: ${detail})`);
      return;
    }
    const delay = this.backoff(child);
    this.hooks.log.warn({ supervisor: this.id, child: child.id, reason, detail, backoff_ms: delay, counted }, 'child ended; restarting');
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
        const st = this.streak.get(c);
        if (st) st.upAt = Date.now();
      } catch (err) {
        // A failed start is another crash of that child: its onExit has been queued already.
        this.hooks.log.error({ supervisor: this.id, child: c.id, err: (err as Error).message }, 'restart failed');
        return;
      }
    }
    this.hooks.onRestart?.(child.id, reason, performance.now() - t0, delay);
  }

  /** Records a restart; false when the intensity within the period is exceeded. */
  private recordRestart(): boolean {
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < this.policy.periodMs);
    this.restartTimes.push(now);
    return this.restartTimes.length <= this.policy.intensity;
  }

  /** The delay before restarting `child`: doubled while it keeps ending soon after coming up. */
  private backoff(child: Child): number {
    const { backoffInitialMs: initial, backoffMaxMs: max, backoffResetMs: reset } = this.policy;
    const st = this.streak.get(child);
    // upAt 0: its last restart never came up (setup failed), which is as quick as an end can be.
    const quick = st !== undefined && (st.upAt === 0 || Date.now() - st.upAt < reset);
    const delay = quick ? Math.min(max, Math.max(1, st.delay) * 2) : initial;
    this.streak.set(child, { n: quick ? st.n + 1 : 1, upAt: 0, delay });
    return delay;
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
    this.onExit('crash', why, true);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
