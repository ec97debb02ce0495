/**
 * Shared jobs (`transport: nats`, `nats.jobs: shared`; docs/nats.md): every process running the
 * scheduler takes jobs from one JetStream work-queue stream (`rustyclaw_<cluster>_jobq`, durable
 * pull consumer `runners`), so the cluster shares the job load; job records live in the KV bucket
 * `rustyclaw_<cluster>_jobs`, every change a compare-and-set on the key's revision.
 *
 * A job never runs twice at once: a process runs a job only after its CAS from `pending` to
 * `running` (a new fencing epoch, naming this node and the message's stream sequence) succeeded,
 * and every later write of that run is a CAS on the revision it wrote — a run whose job was
 * cancelled or taken over cannot report. While a job runs its message is marked working every
 * third of the ack wait; a process killed (or paused) mid-job stops doing so and the message is
 * redelivered after the ack wait: the process that gets it finds the job `running` under that same
 * message, counts the lost attempt and runs it again under a new epoch (or fails it when its retry
 * policy is spent). A paused process that resumes sees the new epoch in its KV watch and stops its
 * copy at once. A duplicate message (another stream sequence) for a job that runs is dropped.
 *
 * Submit order: idempotency key claimed, message published (deduplicated by job id), record
 * created. A message whose record is not there yet is retried shortly; one whose record never came
 * (its submitter died before writing it, and never answered) is dropped after a minute.
 */
import { EventEmitter } from 'node:events';
import { AckPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type Consumer, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { JobSchema, type Job, type JobState, type JobSubmit, type SchedulerConfig } from '../../protocol/scheduler.js';
import { backoffDelay } from './dispatcher.js';
import { TERMINAL, jobError, newJobId } from './job-store.js';
import { JobNotFound, PERMANENT_ERRORS, validateJob } from './job-scheduler.js';
import { kvKey } from './job-store-jetstream.js';
import { runMsgFor } from './job-runners.js';
import { WorkerPool, type DoneMsg, type PoolHost } from './worker-pool.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
/** A message whose job record never appeared within this is an orphan of a submit that died midway. */
const ORPHAN_MS = 60_000;
const CAS_RETRIES = 5;
const jobCheck = TypeCompiler.Compile(JobSchema);

export interface SharedJobsOptions {
  nc: NatsConnection;
  cluster: string;
  node: string;
  config: SchedulerConfig;
  ackWaitMs: number;
  host: PoolHost;
  log: { warn(o: unknown, m?: string): void; info(o: unknown, m?: string): void; error(o: unknown, m?: string): void };
}

interface Cached {
  job: Job;
  rev: number;
}

interface Run {
  id: string;
  epoch: number;
  /** The record as this run wrote it, and its revision (the CAS base of the run's report). */
  job: Job;
  rev: number;
  worker: string;
  msg: JsMsg;
  working: NodeJS.Timeout;
  /** Cancelled or taken over meanwhile: its report is void. */
  fenced: boolean;
}

function isCasError(err: unknown): boolean {
  return /wrong last sequence|key exists|exists/i.test((err as Error)?.message ?? '');
}

export class SharedJobs extends EventEmitter {
  readonly counters = { submitted: 0, started: 0, completed: 0, failed: 0, cancelled: 0, requeued: 0, worker_lost: 0, stale_reports: 0, taken_over: 0, duplicates_dropped: 0, cas_conflicts: 0, orphans: 0, recovered: 0 };
  readonly stream: string;
  readonly subject: string;
  private readonly cache = new Map<string, Cached>();
  private readonly runs = new Map<string, Run>();
  private readonly warned = new Set<string>();
  private taking = 0;
  private closed = false;
  private wake: (() => void) | null = null;
  private fetching: { stop(): void } | null = null;
  private watchStop: (() => void) | null = null;
  private pulling: Promise<void> = Promise.resolve();
  readonly pool: WorkerPool;

  private constructor(
    private readonly o: SharedJobsOptions,
    private readonly kv: KV,
    private readonly js: JetStreamClient,
    private readonly consumer: Consumer,
  ) {
    super();
    this.stream = `rustyclaw_${o.cluster}_jobq`;
    this.subject = `rustyclaw.${o.cluster}._jobq`;
    this.pool = new WorkerPool({ size: o.config.workers, heartbeatMs: o.config.worker_heartbeat_ms, host: o.host });
  }

  static async open(o: SharedJobsOptions): Promise<SharedJobs> {
    const kv = await new Kvm(o.nc).create(`rustyclaw_${o.cluster}_jobs`, { history: 1 });
    const jsm = await jetstreamManager(o.nc);
    const stream = `rustyclaw_${o.cluster}_jobq`;
    await jsm.streams.info(stream).catch(async () => {
      await jsm.streams
        .add({ name: stream, subjects: [`rustyclaw.${o.cluster}._jobq`], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window: 120_000 * 1_000_000 })
        .catch(async (err) => {
          // Another process created it at the same moment.
          if (!(await jsm.streams.info(stream).then(() => true, () => false))) throw err;
        });
    });
    const consumerCfg = { durable_name: 'runners', ack_policy: AckPolicy.Explicit, ack_wait: o.ackWaitMs * 1_000_000, max_deliver: -1, max_ack_pending: -1 };
    await jsm.consumers.add(stream, consumerCfg).catch(async () => {
      await jsm.consumers.update(stream, 'runners', { ack_wait: consumerCfg.ack_wait, max_deliver: -1, max_ack_pending: -1 });
    });
    const js = jetstream(o.nc);
    const consumer = await js.consumers.get(stream, 'runners');
    const s = new SharedJobs(o, kv, js, consumer);
    await s.watch();
    s.wirePool();
    await s.pool.start();
    s.pulling = s.pullLoop();
    return s;
  }

  // ---- the KV watch: every process sees every job change -------------------------------------

  private async watch(): Promise<void> {
    const initial = (await this.kv.status()).values;
    const it = await this.kv.watch({ key: 'job.>', ignoreDeletes: false });
    this.watchStop = () => it.stop();
    let loaded: () => void = () => {};
    const ready = new Promise<void>((r) => (loaded = r));
    if (initial === 0) loaded();
    void (async () => {
      for await (const e of it) {
        this.onEntry(e);
        if (e.isUpdate || !e.delta) loaded();
      }
    })().catch((err) => this.o.log.error({ err: (err as Error).message }, 'shared jobs: the KV watch ended'));
    await Promise.race([ready, new Promise((r) => setTimeout(r, 60_000))]);
  }

  private onEntry(e: KvEntry & { isUpdate?: boolean }): void {
    const id = e.key.slice(4);
    if (e.operation !== 'PUT') {
      this.cache.delete(id);
      return;
    }
    const prev = this.cache.get(id);
    if (prev && prev.rev >= e.revision) return;
    const job = this.parse(e);
    if (!job) return;
    this.cache.set(id, { job, rev: e.revision });
    this.fenceIfStale(id, job);
    if (e.isUpdate) this.emit('changed', job, prev?.job);
  }

  /** A local run whose job moved on (cancelled, or taken over by another process) stops now. */
  private fenceIfStale(id: string, job: Job): void {
    const r = this.runs.get(id);
    if (!r || r.fenced || job.epoch === r.epoch) return;
    r.fenced = true;
    clearInterval(r.working);
    this.pool.cancel(r.worker, id, r.epoch);
    if (job.kind === 'agent_turn' && job.agent) {
      this.o.host.ask(`agents/${job.agent}`, 'agent.cancel', { session: `job:${id}` }, { timeoutMs: 5000, signal: new AbortController().signal }).catch(() => {});
    }
  }

  /** A record written by something else than a scheduler (or damaged) is logged and left alone. */
  private parse(e: KvEntry): Job | undefined {
    const warn = (why: string) => {
      const k = `${e.key}@${e.revision}`;
      if (this.warned.has(k)) return;
      if (this.warned.size > 1000) this.warned.clear();
      this.warned.add(k);
      this.o.log.warn({ key: e.key }, `shared jobs: ${e.bucket} key ${e.key} ${why}; ignored`);
    };
    let v: unknown;
    try {
      v = JSON.parse(dec.decode(e.value));
    } catch (err) {
      warn(`is not JSON (${(err as Error).message})`);
      return undefined;
    }
    if (!jobCheck.Check(v) || `job.${v.id}` !== e.key) {
      const first = jobCheck.Errors(v).First();
      warn(`is not a job record (${first ? `${first.path || '(root)'}: ${first.message}` : 'id does not match the key'})`);
      return undefined;
    }
    return v;
  }

  private async read(id: string): Promise<Cached | undefined> {
    const e = await this.kv.get(`job.${id}`);
    if (!e || e.operation !== 'PUT') return undefined;
    const job = this.parse(e);
    if (!job) return undefined;
    const c = { job, rev: e.revision };
    const prev = this.cache.get(id);
    if (!prev || prev.rev < c.rev) this.cache.set(id, c);
    return c;
  }

  private async cas(j: Job, rev: number): Promise<number> {
    const r = await this.kv.update(`job.${j.id}`, enc.encode(JSON.stringify(j)), rev);
    const prev = this.cache.get(j.id);
    // Our own write: the watch will skip it (older than the copy), so it is announced here — unless the watch was first.
    if (!prev || prev.rev < r) {
      this.cache.set(j.id, { job: j, rev: r });
      this.emit('changed', j, prev?.job);
    }
    return r;
  }

  // ---- public API (any process) ----------------------------------------------------------------

  async submit(spec: JobSubmit): Promise<Job> {
    if (this.closed) throw new Error('scheduler is shutting down');
    const v = validateJob(spec, this.o.config);
    let id = newJobId();
    if (v.key) {
      const kk = `key.${kvKey(v.key)}`;
      try {
        await this.kv.create(kk, enc.encode(id));
      } catch (err) {
        if (!isCasError(err)) throw err;
        const e = await this.kv.get(kk);
        const known = e?.operation === 'PUT' ? dec.decode(e.value) : '';
        const cur = known ? await this.read(known) : undefined;
        if (cur) return cur.job;
        // The key's submit died before writing its job (young key), or the job was pruned (old key).
        if (known && e && Date.now() - e.created.getTime() < ORPHAN_MS) id = known;
        else if (e) await this.kv.update(kk, enc.encode(id), e.revision);
      }
    }
    const now = Date.now();
    const job: Job = { ...v, id, state: 'pending', attempts: 0, epoch: 0, created_at: now, updated_at: now };
    await this.js.publish(this.subject, enc.encode(JSON.stringify({ id })), { msgID: id });
    try {
      const rev = await this.kv.create(`job.${id}`, enc.encode(JSON.stringify(job)));
      if (!this.cache.has(id)) this.cache.set(id, { job, rev });
    } catch (err) {
      if (!isCasError(err)) throw err;
      const cur = await this.read(id); // a concurrent retry of the same key wrote it
      if (cur) return cur.job;
      throw err;
    }
    this.counters.submitted++;
    return job;
  }

  /** The job as stored now (read from KV, so a submit on another process is seen at once). */
  async get(id: string): Promise<Job | undefined> {
    return (await this.read(id))?.job;
  }

  isActive(id: string): boolean {
    const j = this.cache.get(id)?.job;
    return !!j && !TERMINAL.has(j.state);
  }

  active(): Job[] {
    return [...this.cache.values()].map((c) => c.job).filter((j) => !TERMINAL.has(j.state));
  }

  list(f: { state?: JobState; routine_id?: string; limit?: number } = {}): { jobs: Job[]; total: number } {
    const all = [...this.cache.values()].map((c) => c.job).filter((j) => (!f.state || j.state === f.state) && (!f.routine_id || j.routine_id === f.routine_id));
    all.sort((a, b) => (a.id < b.id ? 1 : -1));
    return { jobs: all.slice(0, f.limit ?? 50), total: all.length };
  }

  async cancel(id: string): Promise<Job> {
    for (let i = 0; i < CAS_RETRIES; i++) {
      const cur = await this.read(id);
      if (!cur) throw new JobNotFound(`job ${id}: not found`);
      const j = cur.job;
      if (TERMINAL.has(j.state)) return j;
      const now = Date.now();
      const next: Job = { ...j, state: 'cancelled', epoch: j.epoch + 1, updated_at: now, finished_at: now, error: jobError('cancelled', 'cancelled by request') };
      delete next.lease;
      delete next.not_before;
      try {
        await this.cas(next, cur.rev);
      } catch (err) {
        if (!isCasError(err)) throw err;
        this.counters.cas_conflicts++;
        continue;
      }
      this.counters.cancelled++;
      this.fenceIfStale(id, next);
      this.emit('finished', next);
      return next;
    }
    throw new Error(`job ${id}: changed by other processes ${CAS_RETRIES} times while cancelling; try again`);
  }

  stats() {
    const jobs: Record<string, number> = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
    for (const c of this.cache.values()) jobs[c.job.state] = (jobs[c.job.state] ?? 0) + 1;
    return { jobs, running: this.runs.size, queued: jobs.pending ?? 0, workers: this.pool.info(), counters: { ...this.counters } as Record<string, number> };
  }

  /** Drop the oldest finished jobs beyond `keep` (the leader does this), with their idempotency keys. */
  async prune(keep: number): Promise<number> {
    const done = [...this.cache.values()].map((c) => c.job).filter((j) => TERMINAL.has(j.state));
    if (done.length <= keep) return 0;
    done.sort((a, b) => (a.finished_at ?? 0) - (b.finished_at ?? 0));
    const gone = done.slice(0, done.length - keep);
    for (const j of gone) {
      await this.kv.delete(`job.${j.id}`).catch(() => {});
      if (j.key) await this.kv.delete(`key.${kvKey(j.key)}`).catch(() => {});
    }
    return gone.length;
  }

  // ---- taking jobs from the stream -------------------------------------------------------------

  private freeSlots(): number {
    return Math.max(0, this.o.config.max_parallel - this.runs.size - this.taking);
  }

  private slotFreed(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async pullLoop(): Promise<void> {
    while (!this.closed) {
      const free = this.freeSlots();
      if (free === 0 || !this.pool.pick()) {
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, 1000).unref();
        });
        continue;
      }
      try {
        const it = await this.consumer.fetch({ max_messages: free, expires: 2000 });
        this.fetching = it;
        for await (const m of it) {
          this.taking++;
          void this.take(m)
            .catch((err) => {
              this.o.log.warn({ err: (err as Error).message, seq: m.seq }, 'shared jobs: taking a job failed; it is redelivered');
              m.nak(500);
            })
            .finally(() => {
              this.taking--;
              this.slotFreed();
            });
        }
      } catch (err) {
        if (this.closed) return;
        this.o.log.warn({ err: (err as Error).message }, `shared jobs: pulling from ${this.stream} failed; retrying`);
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        this.fetching = null;
      }
    }
  }

  private async take(m: JsMsg): Promise<void> {
    if (this.closed) return m.nak();
    let id: string;
    try {
      id = (JSON.parse(dec.decode(m.data)) as { id: unknown }).id as string;
      if (typeof id !== 'string' || !/^[A-Za-z0-9]{1,64}$/.test(id)) throw new Error('no job id');
    } catch (err) {
      this.o.log.warn({ subject: m.subject, seq: m.seq }, `${m.subject}: message ${m.seq} is not {"id": <job id>} (${(err as Error).message}); dropped`);
      return m.term();
    }
    for (let i = 0; i < CAS_RETRIES; i++) {
      let cur = i === 0 ? this.cache.get(id) : undefined;
      cur ??= await this.read(id);
      if (!cur) {
        // The submit publishes before it writes the record: give it a moment.
        if (Date.now() - m.time.getTime() > ORPHAN_MS) {
          this.counters.orphans++;
          this.o.log.warn({ job: id }, `${this.subject}: job ${id} has no record ${ORPHAN_MS} ms after its message (its submit did not finish); dropped`);
          return m.term();
        }
        await new Promise((r) => setTimeout(r, 20 * (i + 1)));
        continue;
      }
      const j = cur.job;
      if (TERMINAL.has(j.state)) return m.ack();
      if (j.state === 'running') {
        const mine = this.runs.get(id);
        if (mine) {
          mine.msg = m; // ours, still running (a `working` came late): the run acks this delivery
          return;
        }
        if (j.lease?.seq !== m.seq) {
          this.counters.duplicates_dropped++;
          return m.ack();
        }
        // Redelivered: the process running it stopped marking it working (killed, paused, cut off).
        this.counters.taken_over++;
        if (j.attempts >= j.retry.max_attempts) {
          const err = jobError('worker_lost', `node ${j.lease?.node ?? '?'} stopped working on it (no heartbeat for ${this.o.ackWaitMs} ms)`);
          if (await this.finishAs(j, cur.rev, 'failed', { error: err, attempt_errors: [...(j.attempt_errors ?? []), err].slice(-5) })) return m.ack();
          continue;
        }
      } else if (j.not_before && j.not_before > Date.now() + 5) {
        return m.nak(j.not_before - Date.now());
      }
      const worker = this.pool.pick();
      if (!worker) return m.nak(500);
      const now = Date.now();
      const errors = j.state === 'running' ? [...(j.attempt_errors ?? []), jobError('worker_lost', `node ${j.lease?.node ?? '?'} stopped working on it`)].slice(-5) : j.attempt_errors;
      const next: Job = {
        ...j,
        state: 'running',
        epoch: j.epoch + 1,
        attempts: j.attempts + 1,
        started_at: now,
        updated_at: now,
        lease: { worker, incarnation: process.pid, granted_at: now, node: this.o.node, seq: m.seq },
        ...(errors ? { attempt_errors: errors } : {}),
      };
      delete next.not_before;
      let rev: number;
      try {
        rev = await this.cas(next, cur.rev);
      } catch (err) {
        if (!isCasError(err)) throw err;
        this.counters.cas_conflicts++;
        continue;
      }
      if (j.state === 'running') this.counters.recovered++;
      this.start(next, rev, worker, m);
      return;
    }
    m.nak(250);
  }

  private start(j: Job, rev: number, worker: string, m: JsMsg): void {
    const working = setInterval(() => m.working(), Math.max(100, Math.floor(this.o.ackWaitMs / 3)));
    working.unref();
    const r: Run = { id: j.id, epoch: j.epoch, job: j, rev, worker, msg: m, working, fenced: false };
    this.runs.set(j.id, r);
    this.counters.started++;
    const msg = runMsgFor(j, this.o.config.heartbeat.ok_token);
    if (!this.pool.run(worker, msg)) void this.onRunEnd(j.id, j.epoch, { ok: false, error: { code: 'worker_lost', message: `worker ${worker} gone before start` } });
  }

  private wirePool(): void {
    this.pool.on('started', (id: string, epoch: number, at: number) => {
      const r = this.runs.get(id);
      if (r && r.epoch === epoch && !r.fenced) this.emit('started', r.job, at);
    });
    this.pool.on('done', (m: DoneMsg) => void this.onRunEnd(m.id, m.epoch, m).catch((e) => this.o.log.warn({ err: (e as Error).message, job: m.id }, 'shared jobs: job report failed')));
    this.pool.on('exit', (w: string, lost: Array<{ id: string; epoch: number }>) => {
      if (this.closed) return;
      for (const l of lost) void this.onRunEnd(l.id, l.epoch, { ok: false, error: { code: 'worker_lost', message: `worker ${w} died` } }).catch(() => {});
    });
    this.pool.on('worker_error', (w: string, e: unknown) => this.o.log.warn({ err: e, worker: w }, 'scheduler worker crashed'));
  }

  private async onRunEnd(id: string, epoch: number, m: { ok: boolean; result?: unknown; error?: { code: string; message: string } }): Promise<void> {
    const r = this.runs.get(id);
    if (!r || r.epoch !== epoch) {
      this.counters.stale_reports++;
      return;
    }
    this.runs.delete(id);
    clearInterval(r.working);
    this.slotFreed();
    if (this.closed) return; // close() hands it back
    if (r.fenced) {
      // Cancelled (or taken over): whoever moved it on owns it; its message comes back and is acked as finished.
      this.counters.stale_reports++;
      return;
    }
    const j = r.job;
    if (m.ok) {
      if (await this.finishAs(j, r.rev, 'completed', { result: m.result })) r.msg.ack();
      return;
    }
    const err = m.error ?? { code: 'job_error', message: 'unknown error' };
    const errors = [...(j.attempt_errors ?? []), jobError(err.code, err.message)].slice(-5);
    if (j.attempts < j.retry.max_attempts && !PERMANENT_ERRORS.has(err.code)) {
      const delay = backoffDelay(j.retry.backoff_ms, j.attempts, this.o.config.retry.max_backoff_ms);
      const next: Job = { ...j, state: 'pending', epoch: j.epoch + 1, updated_at: Date.now(), not_before: Date.now() + delay, attempt_errors: errors };
      delete next.lease;
      try {
        await this.cas(next, r.rev);
      } catch (e) {
        if (isCasError(e)) return void this.counters.cas_conflicts++;
        throw e;
      }
      this.counters.requeued++;
      r.msg.nak(delay);
      return;
    }
    if (await this.finishAs(j, r.rev, 'failed', { error: jobError(err.code, err.message), attempt_errors: errors })) r.msg.ack();
  }

  /** CAS to a final state; false when someone else changed the job first (its report is void). */
  private async finishAs(j: Job, rev: number, to: 'completed' | 'failed', patch: Partial<Job>): Promise<boolean> {
    const now = Date.now();
    const next: Job = { ...j, ...patch, state: to, updated_at: now, finished_at: now };
    delete next.lease;
    delete next.not_before;
    try {
      await this.cas(next, rev);
    } catch (e) {
      if (isCasError(e)) {
        this.counters.cas_conflicts++;
        return false;
      }
      throw e;
    }
    this.counters[to]++;
    this.emit('finished', next);
    return true;
  }

  /**
   * Stop taking jobs; interrupted runs go back to `pending` (not counted as an attempt) and their
   * messages are redelivered at once to the other processes.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fetching?.stop();
    this.slotFreed();
    await this.pool.close();
    for (const r of this.runs.values()) {
      clearInterval(r.working);
      if (r.fenced) continue;
      const j = r.job;
      const next: Job = { ...j, state: 'pending', epoch: j.epoch + 1, updated_at: Date.now(), attempts: Math.max(0, j.attempts - 1), attempt_errors: [...(j.attempt_errors ?? []), jobError('shutdown', `node ${this.o.node} stopped during this run (not counted as an attempt)`)].slice(-5) };
      delete next.lease;
      try {
        await this.cas(next, r.rev);
        r.msg.nak();
      } catch (e) {
        this.o.log.warn({ err: (e as Error).message, job: j.id }, 'shared jobs: could not hand back a running job at shutdown (its message is redelivered after the ack wait)');
      }
    }
    this.runs.clear();
    this.watchStop?.();
    await Promise.race([this.pulling, new Promise((r) => setTimeout(r, 3000))]);
  }
}
