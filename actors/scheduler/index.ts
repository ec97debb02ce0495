/**
 * `system/scheduler`: jobs (persisted, parallel, leased, retried), routines (cron, event, webhook,
 * manual) and per-agent heartbeats. Thin shell over job-scheduler.ts, routines.ts, webhook.ts and
 * heartbeat.ts; jobs run on the scheduler's own worker threads (worker-pool.ts).
 */
import type { Static } from '@sinclair/typebox';
import { ActorError, defineActor } from '../../src/kernel/actor.js';
import {
  JOBS_TOPIC,
  SchedulerConfigSchema,
  schedulerMessages,
  type Job,
  type JobEvent,
} from '../../protocol/scheduler.js';
import { resolveSchedulerConfig, schemaError } from './config.js';
import { HeartbeatService, heartbeatAgents } from './heartbeat.js';
import { JobInputError, JobScheduler } from './job-scheduler.js';
import { RoutineEngine, RoutineInputError } from './routines.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookReceiver } from './webhook.js';

/** Store key of the gateway's URL (told by the gateway at start; kept so a restarted scheduler knows it). */
const GATEWAY_KEY = 'gateway_url';
import { openSchedulerStore } from './store-select.js';

/** The scheduler's own check (its errors name the exact field, e.g. `schedule: unknown field`), also under `validate: boundary`. */
function check<K extends keyof typeof schedulerMessages>(type: K, payload: unknown): Static<(typeof schedulerMessages)[K]['request']> {
  const err = schemaError(schedulerMessages[type].request, payload ?? {});
  if (err) throw new ActorError('invalid_message', `${type}: ${err}`);
  return (payload ?? {}) as Static<(typeof schedulerMessages)[K]['request']>;
}

/** Domain errors become typed actor errors that name the field. */
function typed(e: unknown): never {
  if (e instanceof RoutineInputError) throw new ActorError(e.code, e.message, { field: e.field });
  if (e instanceof JobInputError) throw new ActorError(e.code, e.message);
  throw e;
}

export default defineActor({
  messages: schedulerMessages,
  config: SchedulerConfigSchema,
  onCrash: 'redeliver',
  async setup(ctx) {
    const cfg = resolveSchedulerConfig(ctx.config);
    // lmdb in the data dir, or JetStream KV shared by the cluster (transport: nats; docs/nats.md).
    const storage = await openSchedulerStore(ctx.rootConfig, ctx.store, ctx.log);
    const sched = await JobScheduler.create({
      store: storage.store,
      config: cfg,
      host: { ask: (to, type, payload, opts) => ctx.askDynamic(to, type, payload, opts) },
      log: ctx.log,
    });
    const routines = new RoutineEngine({
      store: storage.store,
      config: cfg.routines,
      submit: (s) => sched.submit(s),
      activeJobs: () => [...sched.store.all()].filter((j) => j.state === 'pending' || j.state === 'running'),
      subscribe: (topic, fn) => ctx.subscribe(topic, fn),
      publish: (topic, p) => ctx.publish(topic, p),
      log: ctx.log,
      knownAgents: () => heartbeatAgents(ctx.rootConfig, ctx.dataDir, []).map((a) => a.id),
    });
    const heartbeat = new HeartbeatService({
      config: cfg.heartbeat,
      agents: heartbeatAgents(ctx.rootConfig, ctx.dataDir, cfg.heartbeat.agents),
      store: storage.store,
      submit: (s) => sched.submit(s),
      isActive: (id) => sched.isActive(id),
      publish: (topic, p) => ctx.publish(topic, p),
      log: ctx.log,
    });
    const jobEvent = (event: JobEvent['event'], j: Job, at = Date.now()): JobEvent => ({
      kind: 'job', event, id: j.id, state: j.state, purpose: j.purpose, attempts: j.attempts, at,
      ...(j.agent ? { agent: j.agent } : {}), ...(j.routine_id ? { routine_id: j.routine_id } : {}),
      ...(j.error ? { error: { code: j.error.code, message: j.error.message } } : {}),
    });
    sched.on('started', (j: Job, at: number) => ctx.publish(JOBS_TOPIC, jobEvent('started', j, at)));
    sched.on('finished', (j: Job) => {
      ctx.publish(JOBS_TOPIC, jobEvent('finished', j));
      heartbeat.onJobFinished(j);
      void routines.onJobFinished(j).catch((e) => ctx.log.warn({ err: e, job: j.id }, 'routine bookkeeping failed'));
    });
    await routines.start();

    // Webhooks arrive at the gateway (POST /hooks/<id> on the endpoint port), which asks scheduler.webhook.
    const receiver = cfg.webhook.enabled
      ? new WebhookReceiver({
        windowS: cfg.webhook.timestamp_window_s,
        lookup: (id) => {
          const secret = routines.webhookSecret(id);
          return secret ? { secret } : undefined;
        },
        fire: (id, body) => routines.fire(id, 'webhook', body.toString('utf8')),
      })
      : undefined;
    let gatewayUrl = ctx.store.get<string>(GATEWAY_KEY);
    const hooksUrl = () => (receiver && gatewayUrl ? `${gatewayUrl}/hooks` : undefined);
    heartbeat.start();

    return {
      handlers: {
        'job.submit': async (p) => {
          const spec = check('job.submit', p);
          const j = await sched.submit(spec).catch(typed);
          return { id: j.id, state: j.state };
        },
        'job.status': (p) => {
          const { id } = check('job.status', p);
          const j = sched.get(id);
          if (!j) throw new ActorError('not_found', `job ${id}: not found`);
          return j;
        },
        'job.list': (p) => sched.list(check('job.list', p)),
        'job.cancel': async (p) => {
          const { id } = check('job.cancel', p);
          const j = await sched.cancel(id).catch(typed);
          return { id: j.id, state: j.state };
        },
        'routine.create': async (p) => {
          const { routine, secret } = await routines.create(p).catch(typed);
          if (routine.trigger.type !== 'webhook' || !secret) return { routine };
          const base = hooksUrl();
          if (!base) return { routine, warning: receiver ? 'webhooks are received by the gateway, which is not running (endpoint.enabled / gateway.enabled)' : 'webhooks are off (scheduler.webhook.enabled: false)' };
          return {
            routine,
            webhook: { url: `${base}/${routine.id}`, secret, signature_header: SIGNATURE_HEADER, timestamp_header: TIMESTAMP_HEADER },
          };
        },
        'routine.delete': async (p) => ({ deleted: await routines.remove(check('routine.delete', p).id) }),
        'routine.list': () => ({ routines: routines.list() }),
        'routine.run': async (p) => {
          const { id, input } = check('routine.run', p);
          return routines.fire(id, 'manual', input).catch(typed);
        },
        'routine.enable': async (p) => ({ routine: await routines.setEnabled(check('routine.enable', p).id, true).catch(typed) }),
        'routine.disable': async (p) => ({
          routine: await routines.setEnabled(check('routine.disable', p).id, false, 'disabled by request').catch(typed),
        }),
        'scheduler.stats': () => ({
          ...sched.stats(),
          counters: { ...sched.counters, ...prefixed('routines', routines.counters), ...prefixed('heartbeat', heartbeat.counters) },
          routines: routines.list().length,
          ...(hooksUrl() ? { webhook: { url: hooksUrl()! } } : {}),
        }),
        'scheduler.webhook': async (p) => {
          const { routine_id, signature, timestamp, body_b64 } = check('scheduler.webhook', p);
          if (!receiver) throw new ActorError('not_found', 'webhooks are off (scheduler.webhook.enabled: false)');
          return receiver.receive({ routineId: routine_id, body: Buffer.from(body_b64, 'base64'), ...(signature !== undefined ? { signature } : {}), ...(timestamp !== undefined ? { timestamp } : {}) });
        },
        'scheduler.gateway': async (p) => {
          gatewayUrl = check('scheduler.gateway', p).url;
          await ctx.store.put(GATEWAY_KEY, gatewayUrl);
          return { ok: true };
        },
        'scheduler.kill_worker': async (p) => {
          const { worker } = check('scheduler.kill_worker', p);
          const r = await sched.pool.kill(worker);
          if (!r) throw new ActorError('not_found', worker === undefined ? 'no live worker to kill' : `worker ${worker}: not alive or no such worker`);
          return r;
        },
      },
      async stop() {
        heartbeat.stop();
        routines.stop();
        await sched.close();
        await storage.close();
      },
    };
  },
});

function prefixed(p: string, o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}.${k}`, v]));
}
