/**
 * The scheduler's firing side: routines (cron, event, webhook, manual), per-agent heartbeats and
 * the webhook receiver, over one store, submitting through `submit`. One process of a cluster runs
 * it (with shared jobs, the holder of the scheduler lease: a firing is one submitted job); a
 * single process always does.
 */
import type { Static } from '@sinclair/typebox';
import { ActorError, type ActorStore } from '../../src/kernel/actor.js';
import { schedulerMessages, type Job, type JobSubmit, type SchedulerConfig } from '../../protocol/scheduler.js';
import { schemaError } from './config.js';
import { HeartbeatService, heartbeatAgents } from './heartbeat.js';
import { JobInputError } from './job-scheduler.js';
import { RoutineEngine, RoutineInputError } from './routines.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookReceiver } from './webhook.js';

type Msgs = typeof schedulerMessages;
export type Reply<K extends keyof Msgs> = Static<Msgs[K]['reply']>;
/** Messages only the firing side answers (with shared jobs: forwarded to the lease holder). */
export const FIRING_TYPES = ['routine.create', 'routine.delete', 'routine.list', 'routine.run', 'routine.enable', 'routine.disable', 'scheduler.webhook', 'scheduler.gateway'] as const;
export type FiringType = (typeof FIRING_TYPES)[number];

/** Store key of the gateway's URL (told by the gateway at start; kept so a restarted scheduler knows it). */
const GATEWAY_KEY = 'gateway_url';

/** The scheduler's own check (its errors name the exact field, e.g. `schedule: unknown field`), also under `validate: boundary`. */
export function check<K extends keyof Msgs>(type: K, payload: unknown): Static<Msgs[K]['request']> {
  const err = schemaError(schedulerMessages[type].request, payload ?? {});
  if (err) throw new ActorError('invalid_message', `${type}: ${err}`);
  return (payload ?? {}) as Static<Msgs[K]['request']>;
}

/** Domain errors become typed actor errors that name the field. */
export function typed(e: unknown): never {
  if (e instanceof RoutineInputError) throw new ActorError(e.code, e.message, { field: e.field });
  if (e instanceof JobInputError) throw new ActorError(e.code, e.message);
  throw e;
}

export interface FiringDeps {
  store: ActorStore;
  config: SchedulerConfig;
  submit(spec: JobSubmit): Promise<Job>;
  activeJobs(): Iterable<Job>;
  isActive(id: string): boolean;
  subscribe(topic: string, fn: (payload: unknown, topic: string) => void): () => void;
  publish(topic: string, payload: unknown): void;
  log: { warn(o: unknown, m?: string): void; info(o: unknown, m?: string): void };
  rootConfig: Readonly<Record<string, any>>;
  dataDir: string;
}

export interface FiringService {
  /** Arms the routines and heartbeats (after `createFiring`, once the job side's events are wired). */
  start(): Promise<void>;
  handle<K extends FiringType>(type: K, payload: unknown): Promise<Reply<K>>;
  onJobFinished(j: Job): void;
  routineCount(): number;
  hooksUrl(): string | undefined;
  counters(): Record<string, number>;
  stop(): void;
}

export function createFiring(d: FiringDeps): FiringService {
  const cfg = d.config;
  const routines = new RoutineEngine({
    store: d.store,
    config: cfg.routines,
    submit: (s) => d.submit(s),
    activeJobs: () => d.activeJobs(),
    subscribe: (topic, fn) => d.subscribe(topic, fn),
    publish: (topic, p) => d.publish(topic, p),
    log: d.log,
    knownAgents: () => heartbeatAgents(d.rootConfig, d.dataDir, []).map((a) => a.id),
  });
  const heartbeat = new HeartbeatService({
    config: cfg.heartbeat,
    agents: heartbeatAgents(d.rootConfig, d.dataDir, cfg.heartbeat.agents),
    store: d.store,
    submit: (s) => d.submit(s),
    isActive: (id) => d.isActive(id),
    publish: (topic, p) => d.publish(topic, p),
    log: d.log,
  });
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
  let gatewayUrl = d.store.get<string>(GATEWAY_KEY);
  const hooksUrl = () => (receiver && gatewayUrl ? `${gatewayUrl}/hooks` : undefined);

  const table: { [K in FiringType]: (p: unknown) => Promise<Reply<K>> } = {
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
    'routine.list': async () => ({ routines: routines.list() }),
    'routine.run': async (p) => {
      const { id, input } = check('routine.run', p);
      return routines.fire(id, 'manual', input).catch(typed);
    },
    'routine.enable': async (p) => ({ routine: await routines.setEnabled(check('routine.enable', p).id, true).catch(typed) }),
    'routine.disable': async (p) => ({
      routine: await routines.setEnabled(check('routine.disable', p).id, false, 'disabled by request').catch(typed),
    }),
    'scheduler.webhook': async (p) => {
      const { routine_id, signature, timestamp, body_b64 } = check('scheduler.webhook', p);
      if (!receiver) throw new ActorError('not_found', 'webhooks are off (scheduler.webhook.enabled: false)');
      return receiver.receive({ routineId: routine_id, body: Buffer.from(body_b64, 'base64'), ...(signature !== undefined ? { signature } : {}), ...(timestamp !== undefined ? { timestamp } : {}) });
    },
    'scheduler.gateway': async (p) => {
      gatewayUrl = check('scheduler.gateway', p).url;
      await d.store.put(GATEWAY_KEY, gatewayUrl);
      return { ok: true };
    },
  };

  return {
    async start() {
      await routines.start();
      heartbeat.start();
    },
    handle: (type, payload) => table[type](payload),
    onJobFinished(j) {
      heartbeat.onJobFinished(j);
      void routines.onJobFinished(j).catch((e) => d.log.warn({ err: e, job: j.id }, 'routine bookkeeping failed'));
    },
    routineCount: () => routines.list().length,
    hooksUrl,
    counters: () => ({ ...prefixed('routines', routines.counters), ...prefixed('heartbeat', heartbeat.counters) }),
    stop() {
      heartbeat.stop();
      routines.stop();
    },
  };
}

function prefixed(p: string, o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}.${k}`, v]));
}
