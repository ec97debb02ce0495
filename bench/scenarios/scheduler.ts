/**
 * Bench scenario `scheduler` (docs/scheduler.md, "Bench"). The scheduler's real parts run in this
 * process exactly as the actor wires them — JobScheduler with its worker threads, the kernel's lmdb
 * actor store, RoutineEngine, the fastify webhook server, the kernel's topic
 * router for events — so each figure isolates the scheduler from message hops into its thread.
 *
 *  - throughput: N queued noop jobs (default 10,000) dispatched and completed with 2 workers, at
 *    max_parallel = `mp` (default 256), plus a sweep over max_parallel 1, 4, 16, 64, 256;
 *  - trigger latency: signed webhook request / kernel topic event → the job's worker starts it
 *    (timestamp taken in the worker thread), one trigger at a time;
 *  - cron: a 6-field every-second routine, lateness of each firing after its second;
 *  - chaos: N noop jobs (sleep 20 ms) while one of the 2 workers is terminated every 500 ms;
 *    lost = accepted jobs not completed (re-read from lmdb after closing), duplicated = starts of a
 *    job while another, not yet dead thread still ran it (shared-memory probe, worker-pool.ts);
 *  - chaos_thread: N agent_turn jobs through the real kernel while the scheduler actor's own thread
 *    is crashed every 500 ms (its job threads die with it); the agent (a fixture actor, 5 ms per
 *    turn, honours agent.cancel like the real one) counts turns of one job session running at once.
 *
 *   set: jobs=N, mp=MAX_PARALLEL, triggers=T (per kind, default 200), workers=W (default 2), thread_chaos=0 (skip chaos_thread)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { actorStore, closeEnv } from '../../src/kernel/store.js';
import { startSystem } from '../../src/kernel/index.js';
import { resolveSchedulerConfig } from '../../actors/scheduler/config.js';
import { JobScheduler } from '../../actors/scheduler/job-scheduler.js';
import { JobStore } from '../../actors/scheduler/job-store.js';
import { RoutineEngine } from '../../actors/scheduler/routines.js';
import { signWebhook, WebhookReceiver, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../actors/scheduler/webhook.js';
import Fastify from 'fastify';
import { createProbe, probeConflicts } from '../../actors/scheduler/worker-pool.js';
import type { Job } from '../../protocol/scheduler.js';
import { percentile, round } from '../lib/stats.js';

const noAgents = { ask: async () => Promise.reject(new Error('no agents in this bench')) };

function tmp(): { dir: string; done(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-bench-sched-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

// The pools start eagerly here: the scenarios time dispatch, not the pool's on-demand start (whose
// first-job cost is measured on its own, docs/decisions.md).
function config(over: Record<string, unknown>) {
  return resolveSchedulerConfig({ workers_start: 'eager', worker_heartbeat_ms: 100, lease_ms: 2000, webhook: { enabled: false }, heartbeat: { enabled: false }, ...over });
}

async function throughput(jobs: number, mp: number, workers: number): Promise<number> {
  const t = tmp();
  const store = actorStore(t.dir, 'system/scheduler');
  const s = await JobScheduler.create({ store, config: config({ workers, max_parallel: mp }), host: noAgents, paused: true });
  try {
    await s.submitMany(Array.from({ length: jobs }, () => ({ kind: 'noop' as const })));
    let done = 0;
    const all = new Promise<void>((r) => s.on('finished', () => ++done === jobs && r()));
    const t0 = performance.now();
    s.resume();
    await all;
    return jobs / ((performance.now() - t0) / 1000);
  } finally {
    await s.close();
    await closeEnv();
    t.done();
  }
}

async function triggers(n: number, workers: number) {
  const t = tmp();
  const store = actorStore(t.dir, 'system/scheduler');
  const cfg = config({ workers, max_parallel: 64 });
  const sys = await startSystem({ config: { data_dir: path.join(t.dir, 'kernel'), log: { level: 'silent' }, endpoint: { enabled: false } }, tree: { kind: 'supervisor', id: 'root', children: [] } });
  const s = await JobScheduler.create({ store, config: cfg, host: noAgents });
  const eng = new RoutineEngine({
    store,
    config: cfg.routines,
    submit: (x) => s.submit(x),
    activeJobs: () => [],
    subscribe: (topic, fn) => sys.subscribe(topic, fn),
  });
  s.on('finished', (j: Job) => void eng.onJobFinished(j));
  const started = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  s.on('started', (j: Job, at: number) => {
    const w = waiters.get(j.routine_id ?? '');
    if (w) w(at);
    else started.set(j.id, at);
  });
  const nextStart = (routine: string) => new Promise<number>((r) => waiters.set(routine, (at) => (waiters.delete(routine), r(at))));
  // One trigger at a time on an otherwise idle scheduler: wait for each job to finish.
  let onFinish: (() => void) | undefined;
  s.on('finished', () => onFinish?.());
  const finished = () => new Promise<void>((r) => (onFinish = r));
  // The webhook path as the gateway runs it (raw body to the receiver), on a bare fastify here: the bench has no actor system.
  const receiver = new WebhookReceiver({
    windowS: cfg.webhook.timestamp_window_s,
    lookup: (id) => {
      const secret = eng.webhookSecret(id);
      return secret ? { secret } : undefined;
    },
    fire: (id, body) => eng.fire(id, 'webhook', body.toString('utf8')),
  });
  const app = Fastify({ bodyLimit: cfg.webhook.body_limit });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.post<{ Params: { id: string } }>('/hooks/:id', async (req, reply) => {
    const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
    const r = await receiver.receive({ routineId: req.params.id, body: req.body as Buffer, signature: one(req.headers[SIGNATURE_HEADER]), timestamp: one(req.headers[TIMESTAMP_HEADER]) });
    return reply.code(r.job_id ? 202 : 200).send(r);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const hook = { url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, close: () => app.close() };
  try {
    await eng.start();
    const { secret } = await eng.create({ id: 'hook', kind: 'noop', trigger: { type: 'webhook' }, max_concurrent: 1000 });
    await eng.create({ id: 'ev', kind: 'noop', trigger: { type: 'event', topic: 'bench/events', pattern: 'deploy (failed|error)' }, max_concurrent: 1000 });
    const webhook: number[] = [];
    const event: number[] = [];
    for (let i = 0; i < n + 10; i++) {
      const body = JSON.stringify({ i, ref: 'main' });
      const ts = Math.floor(Date.now() / 1000);
      const startP = nextStart('hook');
      const doneP = finished();
      const t0 = performance.timeOrigin + performance.now(); // same clock as the worker's `at`
      const res = await request(`${hook.url}/hooks/hook`, { method: 'POST', body, headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: signWebhook(secret!, ts, body) } });
      await res.body.dump();
      if (res.statusCode !== 202) throw new Error(`webhook answered ${res.statusCode}`);
      const at = await startP;
      await doneP;
      if (i >= 10) webhook.push(at - t0);
    }
    for (let i = 0; i < n + 10; i++) {
      const startP = nextStart('ev');
      const doneP = finished();
      const t0 = performance.timeOrigin + performance.now();
      sys.publish('bench/events', { msg: `deploy failed #${i}` });
      const at = await startP;
      await doneP;
      if (i >= 10) event.push(at - t0);
    }
    // Cron: every second for a few seconds.
    await eng.create({ id: 'tick', kind: 'noop', trigger: { type: 'cron', expr: '* * * * * *' }, max_concurrent: 100 });
    const ticks = n >= 100 ? 5 : 3;
    await new Promise((r) => setTimeout(r, ticks * 1000 + 300));
    eng.stop();
    return {
      webhook_p50: percentile(webhook, 50),
      webhook_p99: percentile(webhook, 99),
      event_p50: percentile(event, 50),
      event_p99: percentile(event, 99),
      cron_late_max: Math.max(...eng.cronLateness),
      cron_late_p50: percentile(eng.cronLateness, 50),
      cron_firings: eng.cronLateness.length,
    };
  } finally {
    eng.stop();
    await hook.close();
    await s.close();
    await sys.stop();
    await closeEnv();
    t.done();
  }
}

async function chaos(jobs: number, workers: number) {
  const t = tmp();
  const probe = createProbe(jobs);
  const store = actorStore(t.dir, 'system/scheduler');
  const s = await JobScheduler.create({ store, config: config({ workers, max_parallel: 32, lease_ms: 1000 }), host: noAgents, probe, paused: true });
  let kills = 0;
  let completed = 0;
  let failed = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    const accepted = await s.submitMany(Array.from({ length: jobs }, (_, i) => ({ kind: 'noop' as const, params: { sleep_ms: 20, probe_slot: i }, retry: { max_attempts: 20, backoff_ms: 10 } })));
    const all = new Promise<void>((r) =>
      s.on('finished', (j: Job) => {
        if (j.state === 'completed') completed++;
        else failed++;
        if (completed + failed === jobs) r();
      }),
    );
    s.resume();
    timer = setInterval(() => {
      kills++;
      void s.pool.kill();
    }, 500);
    await all;
    clearInterval(timer);
    const counters = { ...s.counters };
    await s.close();
    await closeEnv();
    // Re-read from disk: every accepted job must be durably completed.
    const js = await JobStore.open(actorStore(t.dir, 'system/scheduler'));
    const lost = accepted.filter((j) => js.get(j.id)?.state !== 'completed').length;
    await closeEnv();
    return { jobs, lost, duplicated: probeConflicts(probe), kills, failed, requeued: counters.requeued, worker_lost: counters.worker_lost };
  } finally {
    clearInterval(timer);
    await s.close().catch(() => {});
    await closeEnv();
    t.done();
  }
}

const FAKE_AGENT = fileURLToPath(new URL('../../test/scheduler/fixtures/fake-agent.js', import.meta.url));
const S = 'system/scheduler';

async function chaosThread(jobs: number, workers: number) {
  const t = tmp();
  const sys = await startSystem({
    config: { data_dir: t.dir, log: { level: 'silent' }, endpoint: { enabled: false } },
    tree: {
      kind: 'supervisor',
      id: 'root',
      intensity: 100_000,
      periodMs: 1000,
      backoffInitialMs: 0,
      backoffMaxMs: 0,
      children: [
        {
          kind: 'worker',
          id: S,
          actors: [
            {
              path: S,
              module: 'scheduler',
              config: {
                workers,
                workers_start: 'eager',
                max_parallel: 64,
                per_agent: { bench: 64 },
                worker_heartbeat_ms: 100,
                lease_ms: 2000,
                retry: { max_attempts: 100, backoff_ms: 10, max_backoff_ms: 100 },
                webhook: { enabled: false },
                heartbeat: { enabled: false },
              },
            },
          ],
        },
        { kind: 'worker', id: 'agents/bench', actors: [{ path: 'agents/bench', module: FAKE_AGENT, config: { delay_ms: 5 } }] },
      ],
    },
  });
  const retrying = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await fn();
      } catch (e: any) {
        if (!['actor_crashed', 'actor_stopped', 'unknown_actor', 'timeout', 'shutting_down'].includes(e?.code)) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  let kills = 0;
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ids: string[] = [];
    for (let i = 0; i < jobs; i += 500) {
      const batch = Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({ kind: 'agent_turn', agent: 'bench', prompt: `task ${i + k}` }));
      const refs = await Promise.all(batch.map((b) => sys.ask<{ id: string }>(S, 'job.submit', b)));
      ids.push(...refs.map((r) => r.id));
    }
    timer = setInterval(() => {
      const h = sys.threadOf(S);
      if (h) {
        kills++;
        h.kill('crash', 'bench chaos');
      }
    }, 500);
    // Watchdog: no answer from the scheduler for 30 s means it is not coming back (see notes).
    let lastProgress = Date.now();
    for (;;) {
      const st = await sys.ask<{ jobs: Record<string, number> }>(S, 'scheduler.stats', {}, { timeoutMs: 1000 }).catch(() => undefined);
      if (st) lastProgress = Date.now();
      if (process.env.BENCH_DEBUG) process.stderr.write(`chaos_thread: kills ${kills} ${JSON.stringify(st?.jobs)}\n`);
      if (st && (st.jobs.completed ?? 0) + (st.jobs.failed ?? 0) >= jobs) break;
      if (Date.now() - lastProgress > 30_000) {
        clearInterval(timer);
        stalled = true;
        return { jobs: ids.length, lost: NaN, duplicated: NaN, kills, stalled: 1 };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    clearInterval(timer);
    await sys.waitUp(S, 10_000);
    let completed = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const st = await Promise.all(ids.slice(i, i + 500).map((id) => retrying(() => sys.ask<{ state: string }>(S, 'job.status', { id }))));
      completed += st.filter((x) => x.state === 'completed').length;
    }
    const agent = await sys.ask<{ duplicates: number; turns: number }>('agents/bench', 'test.counts');
    return { jobs: ids.length, lost: ids.length - completed, duplicated: agent.duplicates, kills, agent_turns: agent.turns, stalled: 0 };
  } finally {
    clearInterval(timer);
    // A stalled store may block shutdown too; the harness exits the process after the scenario.
    if (!stalled) {
      await sys.stop();
      t.done();
    }
  }
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const jobs = Number(opts.set.jobs ?? (opts.quick ? 2000 : 10_000));
  const mp = Number(opts.set.mp ?? 256);
  const workers = Number(opts.set.workers ?? 2);
  const n = Number(opts.set.triggers ?? (opts.quick ? 50 : 200));

  const jobsPerS = await throughput(jobs, mp, workers);
  const sweep: Record<string, number> = {};
  for (const m of [1, 4, 16, 64, 256]) sweep[`mp_${m}`] = round(await throughput(Math.min(jobs, m === 1 ? 1000 : jobs), m, workers), 0);
  const lat = await triggers(n, workers);
  const ch = await chaos(jobs, workers);
  // Needs the compiled test fixture (dist/test/...), present after `npm run build`; `--set thread_chaos=0` skips it.
  const chThread = opts.set.thread_chaos !== '0' && existsSync(FAKE_AGENT) ? await chaosThread(jobs, workers) : undefined;
  return {
    results: {
      rustyclaw: {
        jobs_per_s: round(jobsPerS, 0),
        trigger_ms_p99: round(Math.max(lat.webhook_p99, lat.event_p99), 2),
        webhook_ms_p50: round(lat.webhook_p50, 2),
        webhook_ms_p99: round(lat.webhook_p99, 2),
        event_ms_p50: round(lat.event_p50, 2),
        event_ms_p99: round(lat.event_p99, 2),
        cron_late_ms_max: round(lat.cron_late_max, 1),
        cron_late_ms_p50: round(lat.cron_late_p50, 1),
        cron_firings: lat.cron_firings,
      },
      jobs_per_s_by_max_parallel: sweep,
      chaos: ch,
      ...(chThread ? { chaos_thread: chThread } : {}),
    },
    notes: [
      `${jobs} noop jobs, ${workers} worker threads, max_parallel ${mp}; the sweep's mp_1 row runs ${Math.min(jobs, 1000)} jobs`,
      'every state change is durable (lmdb, fsync) before it is acted on; one commit covers all submissions, reports and starts of a dispatch round',
      `trigger latency: ${n} webhook requests / topic events one at a time (each job finished before the next trigger), trigger sent → job started in its worker thread`,
      'chaos: noop jobs sleep 20 ms, max_parallel 32, a random worker terminated every 500 ms; lost re-read from lmdb after close',
      'chaos_thread: agent_turn jobs via the kernel, the scheduler actor thread crashed every 500 ms; duplicated = turns of one job session running at once in the agent; agent_turns - jobs = runs repeated after a crash (never concurrently)',
    ],
  };
}
