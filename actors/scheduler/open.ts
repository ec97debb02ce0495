/**
 * The scheduler actor's body, loaded and run by `index.ts` after the thread is ready: jobs
 * (persisted, parallel, leased, retried), routines (cron, event, webhook, manual) and per-agent
 * heartbeats. Thin shell over job-scheduler.ts (or, with shared jobs on NATS, shared-jobs.ts and
 * firing-leader.ts), routine-service.ts, webhook.ts and heartbeat.ts; jobs run on the scheduler's own
 * worker threads (worker-pool.ts).
 */
import { hostname } from 'node:os';
import { ActorError, type ActorInstance, type ContextOf, type Handlers } from '../../src/kernel/actor.js';
import type { NoEntries } from '../../protocol/define.js';
import { JOBS_TOPIC, type SchedulerConfigSchema, type schedulerMessages, type Job, type JobEvent, type JobState, type JobSubmit } from '../../protocol/scheduler.js';
import { resolveSchedulerConfig } from './config.js';
import { JobScheduler } from './job-scheduler.js';
import { check, createFiring, typed, type FiringService, type FiringType, type Reply } from './routine-service.js';
import { openSchedulerStore } from './store-select.js';
import { sharedJobs, type NatsConfig } from '../../src/transport/nats/config.js';
// The NATS client (~11 MB, ~20 modules) is imported only with `transport: nats` (below).
import type { SharedJobs } from './shared-jobs.js';
import type { WorkerPool } from './worker-pool.js';

type Msgs = typeof schedulerMessages;
export type SchedulerContext = ContextOf<Msgs, typeof SchedulerConfigSchema, NoEntries, NoEntries>;
export type SchedulerInstance = ActorInstance<Handlers<Msgs, SchedulerContext>>;

/** What the handlers need from either job backend. */
interface JobsBackend {
  submit(spec: JobSubmit): Promise<Job>;
  get(id: string): Job | undefined | Promise<Job | undefined>;
  list(f: { state?: JobState; routine_id?: string; limit?: number }): { jobs: Job[]; total: number };
  cancel(id: string): Promise<Job>;
  stats(): { jobs: Record<string, number>; running: number; queued: number; workers: ReturnType<WorkerPool['info']>; counters: Record<string, number>; incarnation?: number };
  pool: WorkerPool;
  extra(): Promise<{ node?: string; leader?: boolean; leader_node?: string }>;
  firing<K extends FiringType>(type: K, payload: unknown): Promise<Reply<K>>;
  firingService(): FiringService | null;
  close(): Promise<void>;
}

/** Opens the job backend (lmdb, or NATS when configured), starts routines and heartbeats. */
export async function openScheduler(ctx: SchedulerContext): Promise<SchedulerInstance> {
  const cfg = resolveSchedulerConfig(ctx.config);
  const jobEvent = (event: JobEvent['event'], j: Job, at = Date.now(), node?: string): JobEvent => ({
    kind: 'job', event, id: j.id, state: j.state, purpose: j.purpose, attempts: j.attempts, at,
    ...(j.agent ? { agent: j.agent } : {}), ...(j.routine_id ? { routine_id: j.routine_id } : {}),
    ...(j.error ? { error: { code: j.error.code, message: j.error.message } } : {}),
    ...(node ? { node } : {}),
  });
  const firingDeps = (store: typeof ctx.store, submit: (s: JobSubmit) => Promise<Job>, activeJobs: () => Iterable<Job>, isActive: (id: string) => boolean) => ({
    store, config: cfg, submit, activeJobs, isActive,
    subscribe: (topic: string, fn: (payload: unknown, topic: string) => void) => ctx.subscribe(topic, fn),
    publish: (topic: string, p: unknown) => ctx.publish(topic, p),
    log: ctx.log, rootConfig: ctx.rootConfig, dataDir: ctx.dataDir,
  });

  let backend: JobsBackend;
  const nats = ctx.rootConfig.nats as NatsConfig | undefined;
  if (sharedJobs(ctx.rootConfig.transport as string, nats)) {
    // Every scheduler process of the cluster takes jobs from the work-queue stream; the lease holder fires routines.
    const node = nats.node || `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`;
    const [{ Backoff, connectNats }, { SharedJobs }, { FiringLeader }] = await Promise.all([
      import('../../src/transport/nats/connect.js'),
      import('./shared-jobs.js'),
      import('./firing-leader.js'),
    ]);
    const nc = await connectNats(nats, `rustyclaw ${nats.cluster}/${node} scheduler pid ${process.pid}`, new Backoff(nats.reconnect_initial_ms, nats.reconnect_max_ms));
    let jobs: SharedJobs;
    try {
      jobs = await SharedJobs.open({ nc, cluster: nats.cluster, node, config: cfg, ackWaitMs: nats.job_ack_wait_ms, host: { ask: (to, type, payload, opts) => ctx.askDynamic(to, type, payload, opts) }, log: ctx.log });
    } catch (err) {
      await nc.close().catch(() => {});
      throw new Error(`scheduler: cannot open the shared job queue of cluster '${nats.cluster}' (JetStream): ${(err as Error).message}`, { cause: err });
    }
    const leader = new FiringLeader({
      nc, cluster: nats.cluster, node, ttlMs: nats.lease_ttl_ms, log: ctx.log,
      build: async (store) => {
        const f = createFiring(firingDeps(store, (s) => jobs.submit(s), () => jobs.active(), (id) => jobs.isActive(id)));
        await f.start();
        return f;
      },
    });
    jobs.on('started', (j: Job, at: number) => ctx.publish(JOBS_TOPIC, jobEvent('started', j, at, node)));
    jobs.on('finished', (j: Job) => ctx.publish(JOBS_TOPIC, jobEvent('finished', j, Date.now(), node)));
    // Whoever finished a job, the firing side (on the lease holder) does the routine bookkeeping.
    let finishedSincePrune = 0;
    jobs.on('changed', (j: Job, prev: Job | undefined) => {
      const f = leader.current();
      if (!f || !['completed', 'failed', 'cancelled'].includes(j.state) || prev?.state === j.state) return;
      f.onJobFinished(j);
      if (++finishedSincePrune >= 500) {
        finishedSincePrune = 0;
        void jobs.prune(cfg.keep_finished).catch((e) => ctx.log.warn({ err: e }, 'prune failed'));
      }
    });
    try {
      await leader.start();
    } catch (err) {
      ctx.log.error({ err: (err as Error).message }, `scheduler lease unavailable (${(err as Error).message}); routines and heartbeats do not fire from this process`);
    }
    backend = {
      submit: (s) => jobs.submit(s),
      get: (id) => jobs.get(id),
      list: (f) => jobs.list(f),
      cancel: (id) => jobs.cancel(id),
      stats: () => jobs.stats(),
      pool: jobs.pool,
      extra: async () => ({ node, leader: leader.leading, leader_node: (await leader.holder().catch(() => undefined)) ?? '' }),
      firing: (type, p) => leader.call(type, p),
      firingService: () => leader.current(),
      async close() {
        await leader.close();
        await jobs.close();
        await nc.drain().catch(() => {});
      },
    };
  } else {
    // lmdb in the data dir, or JetStream KV shared by the cluster (transport: nats; docs/nats.md).
    const storage = await openSchedulerStore(ctx.rootConfig, ctx.store, ctx.log);
    const sched = await JobScheduler.create({
      store: storage.store,
      config: cfg,
      host: { ask: (to, type, payload, opts) => ctx.askDynamic(to, type, payload, opts) },
      log: ctx.log,
    });
    sched.on('started', (j: Job, at: number) => ctx.publish(JOBS_TOPIC, jobEvent('started', j, at)));
    const f = createFiring(firingDeps(storage.store, (s) => sched.submit(s), () => [...sched.store.all()].filter((j) => j.state === 'pending' || j.state === 'running'), (id) => sched.isActive(id)));
    sched.on('finished', (j: Job) => {
      ctx.publish(JOBS_TOPIC, jobEvent('finished', j));
      f.onJobFinished(j);
    });
    await f.start();
    backend = {
      submit: (s) => sched.submit(s),
      get: (id) => sched.get(id),
      list: (f) => sched.list(f),
      cancel: (id) => sched.cancel(id),
      stats: () => sched.stats(),
      pool: sched.pool,
      extra: async () => ({}),
      firing: (type, p) => f.handle(type, p),
      firingService: () => f,
      async close() {
        f.stop();
        await sched.close();
        await storage.close();
      },
    };
  }

  return {
    handlers: {
      'job.submit': async (p) => {
        const spec = check('job.submit', p);
        const j = await backend.submit(spec).catch(typed);
        return { id: j.id, state: j.state };
      },
      'job.status': async (p) => {
        const { id } = check('job.status', p);
        const j = await backend.get(id);
        if (!j) throw new ActorError('not_found', `job ${id}: not found`);
        return j;
      },
      'job.list': (p) => backend.list(check('job.list', p)),
      'job.cancel': async (p) => {
        const { id } = check('job.cancel', p);
        const j = await backend.cancel(id).catch(typed);
        return { id: j.id, state: j.state };
      },
      'routine.create': (p) => backend.firing('routine.create', p),
      'routine.delete': (p) => backend.firing('routine.delete', p),
      'routine.list': (p) => backend.firing('routine.list', p),
      'routine.run': (p) => backend.firing('routine.run', p),
      'routine.enable': (p) => backend.firing('routine.enable', p),
      'routine.disable': (p) => backend.firing('routine.disable', p),
      'scheduler.stats': async () => {
        const f = backend.firingService();
        const s = backend.stats();
        const hooks = f?.hooksUrl();
        return {
          ...s,
          incarnation: s.incarnation ?? 0,
          counters: { ...s.counters, ...(f?.counters() ?? {}) },
          routines: f?.routineCount() ?? 0,
          ...(hooks ? { webhook: { url: hooks } } : {}),
          ...(await backend.extra()),
        };
      },
      'scheduler.webhook': (p) => backend.firing('scheduler.webhook', p),
      'scheduler.gateway': (p) => backend.firing('scheduler.gateway', p),
      'scheduler.kill_worker': async (p) => {
        const { worker } = check('scheduler.kill_worker', p);
        const r = await backend.pool.kill(worker);
        if (!r) throw new ActorError('not_found', worker === undefined ? 'no live worker to kill' : `worker ${worker}: not alive or no such worker`);
        return r;
      },
    },
    async stop() {
      await backend.close();
    },
  };
}
