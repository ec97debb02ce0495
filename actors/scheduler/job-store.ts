/**
 * Jobs persisted in the actor's lmdb store, with the state machine
 *   pending → running → completed | failed | cancelled,  pending → cancelled | failed,
 *   running → pending (re-queue after a lost lease or a failed attempt with retries left).
 * Every other transition is rejected. The in-memory map mirrors the store (loaded at open) so reads
 * are synchronous; writes are durable when their promise resolves (see `write` for why plain puts).
 * Callers await the returned promise before acting on the new state
 * (e.g. a job is handed to a worker only once `running` with its new fencing epoch is durable).
 */
import { randomBytes } from 'node:crypto';
import type { ActorStore } from '../../src/kernel/actor.js';
import type { Job, JobError, JobState } from '../../protocol/scheduler.js';

export const JOB_PREFIX = 'job:';
const META_INCARNATION = 'meta:incarnation';

const ALLOWED: Record<JobState, readonly JobState[]> = {
  pending: ['running', 'cancelled', 'failed'],
  running: ['completed', 'failed', 'cancelled', 'pending'],
  completed: [],
  failed: [],
  cancelled: [],
};

export const TERMINAL: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

export class TransitionError extends Error {
  readonly code = 'invalid_transition';
  constructor(
    readonly jobId: string,
    readonly from: JobState,
    readonly to: JobState,
  ) {
    super(`job ${jobId}: invalid transition ${from} → ${to}`);
  }
}

export function canTransition(from: JobState, to: JobState): boolean {
  return ALLOWED[from].includes(to);
}

let idCounter = 0;
/** Time-ordered ids (so store order is submission order), unique across restarts by the random tail. */
export function newJobId(now = Date.now()): string {
  idCounter = (idCounter + 1) % 36 ** 4;
  return `j${now.toString(36).padStart(9, '0')}${idCounter.toString(36).padStart(4, '0')}${randomBytes(3).toString('hex')}`;
}

export type NewJob = Omit<Job, 'id' | 'state' | 'attempts' | 'epoch' | 'created_at' | 'updated_at'>;
export type Change = { id: string; to: JobState; patch?: Partial<Job>; expectEpoch?: number; bumpEpoch?: boolean };

export class JobStore {
  private readonly jobs = new Map<string, Job>();
  /** Idempotency key → job id. */
  private readonly keys = new Map<string, string>();
  private readonly counts: Record<JobState, number> = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  /** Finished job ids in finish order, for retention. */
  private readonly finished: string[] = [];
  readonly incarnation: number;

  private constructor(
    private readonly store: ActorStore,
    private readonly clock: () => number,
    incarnation: number,
  ) {
    this.incarnation = incarnation;
  }

  /** Loads every job and bumps the persisted incarnation (the epoch of this scheduler's leases). */
  static async open(store: ActorStore, clock: () => number = Date.now): Promise<JobStore> {
    const incarnation = (store.get<number>(META_INCARNATION) ?? 0) + 1;
    await store.put(META_INCARNATION, incarnation);
    const js = new JobStore(store, clock, incarnation);
    const done: Job[] = [];
    for (const { value } of store.entries<Job>({ prefix: JOB_PREFIX })) {
      js.jobs.set(value.id, value);
      if (value.key) js.keys.set(value.key, value.id);
      js.counts[value.state]++;
      if (TERMINAL.has(value.state)) done.push(value);
    }
    done.sort((a, b) => (a.finished_at ?? 0) - (b.finished_at ?? 0));
    for (const j of done) js.finished.push(j.id);
    return js;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** The stored job submitted with idempotency key `key`, if any. */
  byKey(key: string): Job | undefined {
    const id = this.keys.get(key);
    return id === undefined ? undefined : this.jobs.get(id);
  }

  all(): IterableIterator<Job> {
    return this.jobs.values();
  }

  countByState(): Record<JobState, number> {
    return { ...this.counts };
  }

  /** New pending job records (not stored yet; see `commit`). */
  build(specs: NewJob[]): Job[] {
    const now = this.clock();
    return specs.map((s) => ({ ...s, id: newJobId(now), state: 'pending' as const, attempts: 0, epoch: 0, created_at: now, updated_at: now }));
  }

  /** Accept new jobs; durable when the promise resolves. */
  async create(specs: NewJob[]): Promise<Job[]> {
    const jobs = this.build(specs);
    await this.commit(jobs, []);
    return jobs;
  }

  /**
   * Apply several transitions atomically. Each is checked against the state machine and, when
   * `expectEpoch` is given, against the job's current fencing epoch (a stale report is rejected).
   * All checks run before anything is written; one bad transition rejects the whole batch.
   */
  transition(changes: Change[]): Promise<Job[]> {
    return this.commit([], changes);
  }

  /**
   * One atomic write: insert `creates` (built by `build`, state pending) and apply `changes`, which
   * may already move a created job on (pending → running in the same commit). Returns the changed
   * records. On a failed write memory is restored and nothing is stored.
   */
  async commit(creates: Job[], changes: Change[]): Promise<Job[]> {
    const now = this.clock();
    for (const j of creates) {
      if (this.jobs.has(j.id)) throw new Error(`job ${j.id}: already exists`);
      if (j.key && this.keys.has(j.key)) throw new Error(`job key ${JSON.stringify(j.key)}: already used by ${this.keys.get(j.key)}`);
    }
    const created = new Map(creates.map((j) => [j.id, j]));
    const next: Job[] = [];
    for (const c of changes) {
      const cur = created.get(c.id) ?? this.jobs.get(c.id);
      if (!cur) throw new Error(`job ${c.id}: not found`);
      if (!canTransition(cur.state, c.to)) throw new TransitionError(c.id, cur.state, c.to);
      if (c.expectEpoch !== undefined && cur.epoch !== c.expectEpoch) {
        throw new StaleEpochError(c.id, cur.epoch, c.expectEpoch);
      }
      const j: Job = { ...cur, ...c.patch, state: c.to, updated_at: now, epoch: cur.epoch + (c.bumpEpoch ? 1 : 0) };
      if (TERMINAL.has(c.to)) {
        j.finished_at = now;
        delete j.lease;
        delete j.not_before;
      }
      if (c.to === 'pending') delete j.lease;
      next.push(j);
    }
    // Apply in memory first so a concurrent transition of the same job is checked against the new
    // state; revert if the write fails.
    const prevs = next.filter((j) => !created.has(j.id)).map((j) => this.jobs.get(j.id)!);
    for (const j of creates) {
      this.apply(j);
      if (j.key) this.keys.set(j.key, j.id);
    }
    for (const j of next) this.apply(j);
    const finalById = new Map<string, Job>();
    for (const j of creates) finalById.set(j.id, j);
    for (const j of next) finalById.set(j.id, j);
    try {
      await this.write([...finalById.values()]);
    } catch (e) {
      for (const p of prevs) this.apply(p);
      for (const j of creates) this.drop(j.id);
      throw e;
    }
    for (const j of next) if (TERMINAL.has(j.state)) this.finished.push(j.id);
    return next;
  }

  /**
   * Each job record is self-contained (a partial write leaves every job in a valid state that
   * recovery handles), so records are written with plain async puts rather than one synchronous
   * `batch`: lmdb-js commits the puts of one event turn in one transaction on its own write thread,
   * without blocking this thread during fsync, and — unlike a synchronous transaction — a thread
   * terminated mid-write (a crash restart of this actor) cannot leave lmdb's write lock held, which
   * would block every later write in the process.
   */
  private async write(jobs: Job[]): Promise<void> {
    await Promise.all(jobs.map((j) => this.store.put(JOB_PREFIX + j.id, j)));
  }

  private drop(id: string): void {
    const j = this.jobs.get(id);
    if (j) this.counts[j.state]--;
    if (j?.key && this.keys.get(j.key) === id) this.keys.delete(j.key);
    this.jobs.delete(id);
  }

  private apply(j: Job): void {
    const prev = this.jobs.get(j.id);
    if (prev) this.counts[prev.state]--;
    this.counts[j.state]++;
    this.jobs.set(j.id, j);
  }

  /** Drop the oldest finished jobs beyond `keep`. */
  async prune(keep: number): Promise<Job[]> {
    const excess = this.finished.length - keep;
    if (excess <= 0) return [];
    const gone = this.finished
      .splice(0, excess)
      .map((id) => this.jobs.get(id))
      .filter((j): j is Job => !!j);
    await Promise.all(gone.map((j) => this.store.remove(JOB_PREFIX + j.id)));
    for (const j of gone) this.drop(j.id);
    return gone;
  }
}

export class StaleEpochError extends Error {
  readonly code = 'stale_epoch';
  constructor(
    readonly jobId: string,
    readonly current: number,
    readonly given: number,
  ) {
    super(`job ${jobId}: stale fencing epoch ${given} (current ${current})`);
  }
}

export function jobError(code: string, message: string): JobError {
  return { code, message: message.slice(0, 2000) };
}
