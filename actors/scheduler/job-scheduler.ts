/**
 * The job scheduler: ties the persisted JobStore, the pure Dispatcher and the WorkerPool together.
 *
 * Exactly-once-at-a-time: a job is handed to a worker only after `running` with a new fencing
 * epoch (and a lease naming this incarnation and the worker) is durable; every report from a
 * worker carries the epoch and a stale one is ignored. A job whose worker died, or stopped
 * heartbeating (that worker is terminated first, so it cannot go on), is re-queued with backoff
 * or failed per its retry policy — only after the old run is known to have stopped. For
 * `agent_turn` jobs, whose turn runs in the agent actor, "stopped" means `agent.cancel` for the
 * job's session was answered (or the agent is gone) before the job may run again.
 * On start, jobs left `running` by an earlier incarnation (whose worker threads died with it) get
 * the same treatment; `pending` ones are queued again. Nothing accepted is ever dropped.
 */
import { EventEmitter } from 'node:events';
import type { Job, JobState, JobSubmit, SchedulerConfig } from '../../protocol/scheduler.js';
import type { ActorStore } from '../../src/kernel/actor.js';
import { backoffDelay, Dispatcher } from './dispatcher.js';
import { JobStore, TERMINAL, jobError, type Change, type NewJob } from './job-store.js';
import { runMsgFor } from './job-runners.js';
import { WorkerPool, type DoneMsg } from './worker-pool.js';

export interface SchedulerHost {
  ask(to: string, type: string, payload: unknown, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<unknown>;
}

export interface JobSchedulerOptions {
  store: ActorStore;
  config: SchedulerConfig;
  host: SchedulerHost;
  clock?: () => number;
  probe?: SharedArrayBuffer;
  log?: { warn(o: unknown, m?: string): void; info(o: unknown, m?: string): void };
  /** Start with dispatch paused (bench: queue everything first). */
  paused?: boolean;
}

export class JobInputError extends Error {
  readonly code: string = 'invalid_job';
}

export class JobNotFound extends JobInputError {
  override readonly code = 'not_found';
}

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const CANCEL_TIMEOUT_MS = 5000;
/** Errors another attempt cannot fix (no such agent, a message the agent rejects): fail at once. */
export const PERMANENT_ERRORS = new Set(['unknown_actor', 'unknown_type', 'invalid_message', 'payload_too_large']);

/** A submitted spec checked and completed with the config's defaults (retry, timeout). */
export function validateJob(spec: JobSubmit, cfg: SchedulerConfig): NewJob {
  if (spec.kind !== 'agent_turn' && spec.kind !== 'noop') throw new JobInputError(`kind: must be agent_turn or noop, got ${JSON.stringify(spec.kind)}`);
  if (spec.kind === 'agent_turn') {
    if (!spec.agent) throw new JobInputError('agent: required for an agent_turn job');
    if (!AGENT_ID.test(spec.agent)) throw new JobInputError(`agent: invalid agent id ${JSON.stringify(spec.agent)}`);
    if (!spec.prompt || !spec.prompt.trim()) throw new JobInputError('prompt: required for an agent_turn job');
  }
  const r = cfg.retry;
  return {
    kind: spec.kind,
    ...(spec.agent ? { agent: spec.agent } : {}),
    ...(spec.prompt !== undefined ? { prompt: spec.prompt } : {}),
    ...(spec.model ? { model: spec.model } : {}),
    ...(spec.params ? { params: spec.params } : {}),
    ...(spec.routine_id ? { routine_id: spec.routine_id } : {}),
    ...(spec.key ? { key: spec.key } : {}),
    purpose: spec.purpose ?? 'job',
    retry: spec.retry ?? { max_attempts: r.max_attempts, backoff_ms: r.backoff_ms },
    timeout_ms: spec.timeout_ms ?? cfg.job_timeout_ms,
  };
}

export class JobScheduler extends EventEmitter {
  readonly store: JobStore;
  readonly pool: WorkerPool;
  readonly dispatcher: Dispatcher;
  readonly counters = { submitted: 0, started: 0, completed: 0, failed: 0, cancelled: 0, requeued: 0, worker_lost: 0, stale_reports: 0, lease_expired: 0, recovered: 0 };
  private readonly clock: () => number;
  private readonly cfg: SchedulerConfig;
  /** Jobs handed to a worker: id → {worker, epoch}. Holds the dispatch slot until the worker lets go. */
  private readonly onWorker = new Map<string, { worker: string; epoch: number }>();
  private pumping = false;
  private repump = false;
  private paused: boolean;
  private delayTimer?: NodeJS.Timeout;
  private leaseTimer?: NodeJS.Timeout;
  private closed = false;
  private finishedSincePrune = 0;
  /** Successful reports awaiting the next commit round. */
  private readonly completions: DoneMsg[] = [];
  /** Idempotency keys of submissions not yet written → their job once written. */
  private readonly pendingKeys = new Map<string, Promise<Job>>();
  /** Accepted-but-unwritten submissions awaiting the next commit round. */
  private readonly submissions: Array<{ jobs: Job[]; resolve(): void; reject(e: unknown): void }> = [];

  private constructor(
    private readonly o: JobSchedulerOptions,
    store: JobStore,
  ) {
    super();
    this.cfg = o.config;
    this.clock = o.clock ?? Date.now;
    this.store = store;
    this.paused = o.paused ?? false;
    this.dispatcher = new Dispatcher(
      { maxParallel: this.cfg.max_parallel, maxPerAgent: this.cfg.max_parallel_per_agent, perAgent: this.cfg.per_agent },
      this.clock,
      this.cfg.lease_ms,
    );
    this.pool = new WorkerPool({
      size: this.cfg.workers,
      heartbeatMs: this.cfg.worker_heartbeat_ms,
      probe: o.probe,
      onDemand: this.cfg.workers_start === 'on_demand',
      host: { ask: (to, type, payload, opts) => this.o.host.ask(to, type, payload, opts) },
    });
  }

  static async create(o: JobSchedulerOptions): Promise<JobScheduler> {
    const store = await JobStore.open(o.store, o.clock);
    const s = new JobScheduler(o, store);
    s.wirePool();
    await s.pool.start();
    s.recover();
    s.leaseTimer = setInterval(() => s.checkLeases(), Math.max(10, Math.floor(o.config.lease_ms / 4)));
    s.leaseTimer.unref?.();
    s.pump();
    return s;
  }

  get incarnation(): number {
    return this.store.incarnation;
  }

  private wirePool(): void {
    this.pool.on('ready', () => this.pump());
    this.pool.on('hb', (w: string) => this.dispatcher.renew(w));
    this.pool.on('started', (id: string, epoch: number, at: number) => {
      const j = this.store.get(id);
      if (j && j.state === 'running' && j.epoch === epoch) this.emit('started', j, at);
    });
    this.pool.on('done', (m: DoneMsg) => void this.onDone(m).catch((e) => this.o.log?.warn({ err: e, job: m.id }, 'job report failed')));
    this.pool.on('exit', (w: string, lost: Array<{ id: string; epoch: number }>) => {
      this.dispatcher.forgetWorker(w);
      if (this.closed) return; // close() hands these back itself
      for (const l of lost) void this.onLost(l.id, l.epoch, 'worker_lost', `worker ${w} died`).catch((e) => this.o.log?.warn({ err: e, job: l.id }, 'lost job handling failed'));
    });
    this.pool.on('worker_error', (w: string, e: unknown) => this.o.log?.warn({ err: e, worker: w }, 'scheduler worker crashed'));
  }

  /** Jobs of earlier incarnations: re-queue pending ones; runs left `running` are void (their threads died). */
  private recover(): void {
    for (const j of this.store.all()) {
      if (j.state === 'pending') this.dispatcher.enqueue({ id: j.id, agent: j.agent, notBefore: j.not_before });
      else if (j.state === 'running') {
        this.counters.recovered++;
        this.dispatcher.adoptRunning(j.id, j.agent);
        this.onWorker.set(j.id, { worker: j.lease?.worker ?? '?', epoch: j.epoch });
        void this.onLost(j.id, j.epoch, 'scheduler_restarted', `scheduler restarted (incarnation ${this.incarnation})`).catch((e) =>
          this.o.log?.warn({ err: e, job: j.id }, 'recovery failed'),
        );
      }
    }
  }

  // ---- public API ----

  validate(spec: JobSubmit): NewJob {
    return validateJob(spec, this.cfg);
  }

  async submit(spec: JobSubmit): Promise<Job> {
    return (await this.submitMany([spec]))[0];
  }

  /** Accept jobs (durable before this resolves) and queue them. */
  async submitMany(specs: JobSubmit[]): Promise<Job[]> {
    if (this.closed) throw new Error('scheduler is shutting down');
    const valid = specs.map((s) => this.validate(s));
    // Idempotency: a key already stored, or in an unwritten earlier submission, or earlier in this
    // batch, yields that job instead of a new one.
    const earlier = new Map<number, Promise<Job> | Job>();
    const fresh: NewJob[] = [];
    const freshIndex: number[] = [];
    const seen = new Set<string>();
    valid.forEach((v, i) => {
      const stored = v.key ? this.store.byKey(v.key) : undefined;
      if (stored) earlier.set(i, stored);
      else if (v.key && this.pendingKeys.has(v.key)) earlier.set(i, this.pendingKeys.get(v.key)!);
      else if (v.key && seen.has(v.key)) return; // resolved by key once written
      else {
        if (v.key) seen.add(v.key);
        fresh.push(v);
        freshIndex.push(i);
      }
    });
    const jobs = this.store.build(fresh);
    if (jobs.length > 0) {
      // Written by the next commit round, which may start them in the same write.
      const written = new Promise<void>((resolve, reject) => {
        this.submissions.push({ jobs, resolve, reject });
        this.pump();
      });
      for (const j of jobs) if (j.key) this.pendingKeys.set(j.key, written.then(() => this.store.get(j.id)!));
      try {
        await written;
      } finally {
        for (const j of jobs) if (j.key) this.pendingKeys.delete(j.key);
      }
      this.counters.submitted += jobs.length;
    }
    const mine = new Map(freshIndex.map((i, k) => [i, jobs[k]]));
    const out: Job[] = [];
    for (let i = 0; i < valid.length; i++) {
      const m = mine.get(i);
      if (m) out.push(this.store.get(m.id) ?? m);
      else if (earlier.has(i)) out.push(await earlier.get(i)!);
      else out.push(this.store.byKey(valid[i].key!)!);
    }
    return out;
  }

  get(id: string): Job | undefined {
    return this.store.get(id);
  }

  isActive(id: string): boolean {
    const j = this.store.get(id);
    return !!j && !TERMINAL.has(j.state);
  }

  list(f: { state?: JobState; routine_id?: string; limit?: number } = {}): { jobs: Job[]; total: number } {
    const all: Job[] = [];
    for (const j of this.store.all()) if ((!f.state || j.state === f.state) && (!f.routine_id || j.routine_id === f.routine_id)) all.push(j);
    all.sort((a, b) => (a.id < b.id ? 1 : -1));
    return { jobs: all.slice(0, f.limit ?? 50), total: all.length };
  }

  /** Cancel a pending or running job; a finished job is returned unchanged. */
  async cancel(id: string): Promise<Job> {
    const j = this.store.get(id);
    if (!j) throw new JobNotFound(`job ${id}: not found`);
    if (TERMINAL.has(j.state)) return j;
    if (j.state === 'pending') {
      this.dispatcher.dequeue(id);
      const [c] = await this.store.transition([{ id, to: 'cancelled', bumpEpoch: true, patch: { error: jobError('cancelled', 'cancelled by request') } }]);
      this.counters.cancelled++;
      this.finish(c);
      return c;
    }
    // Running: the epoch bump fences off the worker's late report; the slot stays taken until the
    // worker lets go of the job (its report, or its death).
    const w = this.onWorker.get(id);
    const [c] = await this.store.transition([{ id, to: 'cancelled', bumpEpoch: true, patch: { error: jobError('cancelled', 'cancelled by request') } }]);
    this.counters.cancelled++;
    if (w) this.pool.cancel(w.worker, id, w.epoch);
    if (j.kind === 'agent_turn') void this.cancelAgentTurn(j);
    this.finish(c);
    return c;
  }

  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.pump();
  }

  stats() {
    return {
      incarnation: this.incarnation,
      jobs: this.store.countByState() as Record<string, number>,
      running: this.dispatcher.runningCount,
      queued: this.dispatcher.queuedCount,
      workers: this.pool.info(),
      counters: { ...this.counters } as Record<string, number>,
    };
  }

  /**
   * Stop: terminate the workers and hand the interrupted runs back as `pending` — a shutdown is not
   * the job's fault, so the interrupted attempt is not counted (agent turns are cancelled first).
   * Completions already reported are written as such. Unwritten submissions are refused.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.leaseTimer);
    clearTimeout(this.delayTimer);
    for (const x of this.submissions.splice(0)) x.reject(new Error('scheduler is shutting down'));
    await this.pool.close();
    const running = [...this.store.all()].filter((j) => j.state === 'running');
    await Promise.all(running.filter((j) => j.kind === 'agent_turn').map((j) => this.cancelAgentTurn(j, 1000)));
    const done = new Map(this.completions.splice(0).map((m) => [m.id, m]));
    const changes: Change[] = [];
    for (const j of running) {
      const cur = this.store.get(j.id);
      if (!cur || cur.state !== 'running') continue;
      const m = done.get(j.id);
      if (m && m.epoch === cur.epoch) changes.push({ id: j.id, to: 'completed', expectEpoch: cur.epoch, patch: { result: m.result } });
      else {
        const errors = [...(cur.attempt_errors ?? []), jobError('shutdown', 'the service stopped during this run (not counted as an attempt)')].slice(-5);
        changes.push({ id: j.id, to: 'pending', expectEpoch: cur.epoch, bumpEpoch: true, patch: { attempts: Math.max(0, cur.attempts - 1), attempt_errors: errors } });
      }
    }
    if (changes.length === 0) return;
    try {
      await this.store.commit([], changes);
    } catch (e) {
      // Left `running`: the next start recovers them as lost attempts instead.
      this.o.log?.warn({ err: e }, 'could not hand back running jobs at shutdown');
    }
  }

  // ---- dispatch ----

  /**
   * The commit loop. Each round writes, in one lmdb transaction, the jobs submitted since the last
   * round, the completions reported since then and the starts of as many queued jobs as the limits
   * allow (a durable commit is the costly part, ~2 ms, so rounds are coalesced); only then are the
   * started jobs sent to workers.
   */
  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    void this.pumpLoop().finally(() => {
      this.pumping = false;
      // A wake-up that arrived after the loop's last check must not be lost.
      if (this.repump) this.pump();
      else this.armDelayTimer();
    });
  }

  private async pumpLoop(): Promise<void> {
    do {
      // Let the reports that queued up during the last commit arrive first, so that one commit
      // covers all of them.
      await new Promise((r) => setImmediate(r));
      this.repump = false;
      if (this.closed) return;
      const subs = this.submissions.splice(0);
      const creates = subs.flatMap((x) => x.jobs);
      for (const j of creates) this.dispatcher.enqueue({ id: j.id, agent: j.agent });
      const completions = this.completions.splice(0).filter((m) => {
        const j = this.store.get(m.id);
        return j && j.state === 'running' && j.epoch === m.epoch;
      });
      // An on-demand pool starts with the first job due; its workers' `ready` pumps again.
      if (!this.paused && !this.pool.started && this.dispatcher.hasReady()) void this.pool.ensure();
      const ids = this.paused || !this.pool.pick() ? [] : this.dispatcher.take();
      if (ids.length === 0 && completions.length === 0 && creates.length === 0) return;
      try {
        await this.commitRound(creates, completions, ids);
        for (const x of subs) x.resolve();
      } catch (e) {
        this.o.log?.warn({ err: e }, 'dispatch round failed; jobs re-queued');
        const fresh = new Set(creates.map((j) => j.id));
        for (const id of fresh) this.dispatcher.dequeue(id);
        for (const id of ids) {
          this.dispatcher.release(id);
          const j = this.store.get(id);
          if (j?.state === 'pending' && !fresh.has(id)) this.dispatcher.enqueue({ id, agent: j.agent, notBefore: this.clock() + 100 });
        }
        // Submissions fail (nothing was stored); completions stay reported for the next round.
        for (const x of subs) x.reject(e);
        this.completions.push(...completions);
        await new Promise((r) => setTimeout(r, 50));
      }
      this.repump = true;
    } while (this.repump);
  }

  private armDelayTimer(): void {
    clearTimeout(this.delayTimer);
    const d = this.dispatcher.nextDelay();
    if (d === undefined || this.closed) return;
    this.delayTimer = setTimeout(() => this.pump(), d + 1);
    this.delayTimer.unref?.();
  }

  private async commitRound(creates: Job[], completions: DoneMsg[], ids: string[]): Promise<void> {
    const now = this.clock();
    const changes: Change[] = completions.map((m) => ({ id: m.id, to: 'completed', expectEpoch: m.epoch, patch: { result: m.result } }));
    const fresh = new Map(creates.map((j) => [j.id, j]));
    const workers = new Map<string, string>();
    for (const id of ids) {
      const j = fresh.get(id) ?? this.store.get(id);
      const w = this.pool.pick();
      if (!j || j.state !== 'pending' || !w) {
        this.dispatcher.release(id);
        if (j?.state === 'pending') this.dispatcher.enqueue({ id, agent: j.agent });
        continue;
      }
      workers.set(id, w);
      changes.push({
        id,
        to: 'running',
        bumpEpoch: true,
        patch: { attempts: j.attempts + 1, started_at: now, lease: { worker: w, incarnation: this.incarnation, granted_at: now } },
      });
    }
    if (changes.length === 0 && creates.length === 0) return;
    const written = await this.store.commit(creates, changes);
    for (const j of written) {
      if (j.state === 'completed') {
        this.counters.completed++;
        this.finish(j);
        continue;
      }
      const w = workers.get(j.id)!;
      // Cancelled while the write was in flight: the slot is free again, nothing was sent.
      const cur = this.store.get(j.id)!;
      if (cur.state !== 'running' || cur.epoch !== j.epoch) {
        this.dispatcher.release(j.id);
        continue;
      }
      const msg = runMsgFor(j, this.cfg.heartbeat.ok_token);
      this.onWorker.set(j.id, { worker: w, epoch: j.epoch });
      this.dispatcher.assign(j.id, w);
      this.counters.started++;
      if (!this.pool.run(w, msg)) {
        // The worker died between pick and send: the job never ran, treat as lost.
        void this.onLost(j.id, j.epoch, 'worker_lost', `worker ${w} gone before start`);
      }
    }
  }

  /** The worker let go of (id, epoch): free the slot if that is the run holding it. */
  private letGo(id: string, epoch: number): void {
    const w = this.onWorker.get(id);
    if (w && w.epoch === epoch) {
      this.onWorker.delete(id);
      this.dispatcher.release(id);
      this.pump();
    }
  }

  private async onDone(m: DoneMsg): Promise<void> {
    if (this.closed) return;
    this.letGo(m.id, m.epoch);
    const j = this.store.get(m.id);
    if (!j || j.state !== 'running' || j.epoch !== m.epoch) {
      this.counters.stale_reports++;
      return;
    }
    if (m.ok) {
      // Written by the next commit round, together with the starts it makes room for.
      this.completions.push(m);
      this.pump();
      return;
    }
    const err = m.error ?? { code: 'job_error', message: 'unknown error' };
    if (j.kind === 'agent_turn' && (err.code === 'timeout' || err.code === 'cancelled')) await this.cancelAgentTurn(j);
    const cur = this.store.get(m.id);
    if (cur && cur.state === 'running' && cur.epoch === m.epoch) await this.retryOrFail(cur, err);
  }

  /** The run (id, epoch) is gone without a report (worker died / stuck / restart). */
  private async onLost(id: string, epoch: number, code: string, message: string): Promise<void> {
    const j = this.store.get(id);
    try {
      if (!j || j.state !== 'running' || j.epoch !== epoch) return;
      if (this.closed) return;
      this.counters.worker_lost++;
      // The agent may still be running the turn the dead worker asked for: stop it first.
      if (j.kind === 'agent_turn') await this.cancelAgentTurn(j);
      if (this.closed) return;
      this.letGo(id, epoch); // the slot is free before the job may be queued again
      const cur = this.store.get(id);
      if (cur && cur.state === 'running' && cur.epoch === epoch) await this.retryOrFail(cur, { code, message });
    } finally {
      this.letGo(id, epoch);
    }
  }

  private async retryOrFail(j: Job, err: { code: string; message: string }): Promise<void> {
    const errors = [...(j.attempt_errors ?? []), jobError(err.code, err.message)].slice(-5);
    if (j.attempts < j.retry.max_attempts && !PERMANENT_ERRORS.has(err.code)) {
      const notBefore = this.clock() + backoffDelay(j.retry.backoff_ms, j.attempts, this.cfg.retry.max_backoff_ms);
      const [c] = await this.store.transition([{ id: j.id, to: 'pending', expectEpoch: j.epoch, bumpEpoch: true, patch: { not_before: notBefore, attempt_errors: errors } }]);
      this.counters.requeued++;
      this.dispatcher.enqueue({ id: c.id, agent: c.agent, notBefore });
      this.pump();
      return;
    }
    const [c] = await this.store.transition([{ id: j.id, to: 'failed', expectEpoch: j.epoch, patch: { error: jobError(err.code, err.message), attempt_errors: errors } }]);
    this.counters.failed++;
    this.finish(c);
  }

  private async cancelAgentTurn(j: Job, timeoutMs = CANCEL_TIMEOUT_MS): Promise<void> {
    if (!j.agent) return;
    try {
      await this.o.host.ask(`agents/${j.agent}`, 'agent.cancel', { session: `job:${j.id}` }, { timeoutMs });
    } catch (e: any) {
      // unknown_actor / actor_crashed: the turn is gone with the agent. Anything else is logged.
      if (!['unknown_actor', 'actor_crashed', 'actor_stopped', 'unknown_type'].includes(e?.code)) this.o.log?.warn({ err: e, job: j.id }, 'agent.cancel failed');
    }
  }

  private finish(j: Job): void {
    this.emit('finished', j);
    if (++this.finishedSincePrune >= 500) {
      this.finishedSincePrune = 0;
      void this.store
        .prune(this.cfg.keep_finished)
        .then((gone) => {
          // The job's agent session goes with the job (it only served that job).
          for (const j of gone) {
            if (j.kind === 'agent_turn' && j.agent && j.attempts > 0) {
              this.o.host.ask(`agents/${j.agent}`, 'agent.reset', { session: `job:${j.id}` }, { timeoutMs: 5000 }).catch(() => {});
            }
          }
        })
        .catch((e) => this.o.log?.warn({ err: e }, 'prune failed'));
    }
  }

  // ---- leases ----

  /** Workers whose leases expired (stuck thread, no heartbeat) are terminated; their jobs come back via `exit`. */
  private checkLeases(): void {
    for (const w of this.dispatcher.expired()) {
      this.counters.lease_expired++;
      this.o.log?.warn({ worker: w, jobs: this.dispatcher.jobsOn(w) }, 'worker lease expired; terminating it');
      this.dispatcher.renew(w); // don't re-trigger while it dies
      void this.pool.killById(w);
    }
  }
}
