/**
 * Messages of `system/scheduler`: jobs (persisted, leased, retried), routines (cron, event,
 * webhook, manual triggers) and scheduler stats. Version 1.
 */
import { Type, type Static } from '@sinclair/typebox';
import { errorsOf, messagesOf, topicsOf } from './define.js';

export const SCHEDULER_PROTOCOL_VERSION = 1;

export const JobStateSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('completed'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
]);
export type JobState = Static<typeof JobStateSchema>;

export const JobKindSchema = Type.Union([Type.Literal('agent_turn'), Type.Literal('noop')]);
export type JobKind = Static<typeof JobKindSchema>;

export const RetryPolicySchema = Type.Object(
  {
    max_attempts: Type.Integer({ minimum: 1, maximum: 100 }),
    backoff_ms: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
  },
  { additionalProperties: false },
);
export type RetryPolicy = Static<typeof RetryPolicySchema>;

/** Parameters of the `noop` kind (tests and bench): sleep, busy-block (a stuck worker), or fail. */
export const NoopParamsSchema = Type.Object(
  {
    sleep_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
    block_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
    fail: Type.Optional(Type.String({ maxLength: 1000 })),
    /** Bench instrumentation: index into the pool's probe buffer (see worker-pool.ts). */
    probe_slot: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type NoopParams = Static<typeof NoopParamsSchema>;

export const JobErrorSchema = Type.Object({ code: Type.String(), message: Type.String() });
export type JobError = Static<typeof JobErrorSchema>;

export const JobSchema = Type.Object({
  id: Type.String(),
  kind: JobKindSchema,
  state: JobStateSchema,
  agent: Type.Optional(Type.String()),
  prompt: Type.Optional(Type.String()),
  model: Type.Optional(Type.String()),
  purpose: Type.Union([Type.Literal('job'), Type.Literal('heartbeat')]),
  params: Type.Optional(NoopParamsSchema),
  routine_id: Type.Optional(Type.String()),
  key: Type.Optional(Type.String()),
  retry: RetryPolicySchema,
  timeout_ms: Type.Integer(),
  /** Runs started so far (a re-queue after a lost worker or a failure counts as one). */
  attempts: Type.Integer(),
  /** Fencing token: bumped on every dispatch, cancel and re-queue; stale worker reports are rejected. */
  epoch: Type.Integer(),
  lease: Type.Optional(
    Type.Object({
      worker: Type.String(),
      incarnation: Type.Integer(),
      granted_at: Type.Number(),
      /** Shared jobs (NATS): the process running it and the work-queue message it came in. */
      node: Type.Optional(Type.String()),
      seq: Type.Optional(Type.Integer()),
    }),
  ),
  not_before: Type.Optional(Type.Number()),
  created_at: Type.Number(),
  updated_at: Type.Number(),
  started_at: Type.Optional(Type.Number()),
  finished_at: Type.Optional(Type.Number()),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(JobErrorSchema),
  /** Errors of earlier attempts (last few). */
  attempt_errors: Type.Optional(Type.Array(JobErrorSchema)),
});
export type Job = Static<typeof JobSchema>;

export const JobSubmitRequest = Type.Object(
  {
    kind: JobKindSchema,
    agent: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    prompt: Type.Optional(Type.String({ maxLength: 200_000 })),
    model: Type.Optional(Type.String({ maxLength: 128 })),
    purpose: Type.Optional(Type.Union([Type.Literal('job'), Type.Literal('heartbeat')])),
    params: Type.Optional(NoopParamsSchema),
    retry: Type.Optional(RetryPolicySchema),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000 })),
    routine_id: Type.Optional(Type.String()),
    /**
     * Idempotency key: a submit with the key of a job still in the store returns that job instead
     * of creating another, so a client may retry a submit whose answer it lost (e.g. actor_crashed).
     */
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type JobSubmit = Static<typeof JobSubmitRequest>;
export const JobRef = Type.Object({ id: Type.String(), state: JobStateSchema });

export const JobIdRequest = Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: false });
export const JobListRequest = Type.Object(
  {
    state: Type.Optional(JobStateSchema),
    routine_id: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);
export const JobListReply = Type.Object({ jobs: Type.Array(JobSchema), total: Type.Integer() });

// ---- routines ----

export const CronTriggerSchema = Type.Object(
  {
    type: Type.Literal('cron'),
    /** 5 fields (minute precision) or 6 fields (leading seconds), croner syntax, e.g. `0 9 * * MON-FRI`. */
    expr: Type.String({ minLength: 1, maxLength: 256 }),
    /** IANA time zone, e.g. `Europe/Berlin`; default: the service's local zone. */
    tz: Type.Optional(Type.String({ maxLength: 64 })),
    /** Firings missed while the service was down: `skip` them or `run_once` at start. */
    missed: Type.Optional(Type.Union([Type.Literal('skip'), Type.Literal('run_once')])),
  },
  { additionalProperties: false },
);
export const EventTriggerSchema = Type.Object(
  {
    type: Type.Literal('event'),
    /** Kernel topic to watch. */
    topic: Type.String({ minLength: 1, maxLength: 256 }),
    /** Regex tested against the event (a string payload as is, otherwise its JSON). */
    pattern: Type.String({ minLength: 1, maxLength: 1000 }),
    /** Regex flags, a subset of `ims`. */
    flags: Type.Optional(Type.String({ pattern: '^[ims]{0,3}$' })),
  },
  { additionalProperties: false },
);
export const WebhookTriggerSchema = Type.Object(
  {
    type: Type.Literal('webhook'),
    /** HMAC-SHA256 key; generated (and returned once by routine.create) when absent. */
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export const ManualTriggerSchema = Type.Object({ type: Type.Literal('manual') }, { additionalProperties: false });
export const TriggerSchema = Type.Union([CronTriggerSchema, EventTriggerSchema, WebhookTriggerSchema, ManualTriggerSchema]);
export type Trigger = Static<typeof TriggerSchema>;

/** What a user gives to create a routine (CLI flags or YAML file map onto this). */
export const RoutineSpecSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    /** `agent_turn` (default) or `noop` (tests). */
    kind: Type.Optional(JobKindSchema),
    agent: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    prompt: Type.Optional(Type.String({ maxLength: 100_000 })),
    model: Type.Optional(Type.String({ maxLength: 128 })),
    params: Type.Optional(NoopParamsSchema),
    trigger: TriggerSchema,
    enabled: Type.Optional(Type.Boolean()),
    retry: Type.Optional(RetryPolicySchema),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000 })),
    /** Guardrails. */
    max_consecutive_failures: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    cooldown_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000 })),
    max_concurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type RoutineSpec = Static<typeof RoutineSpecSchema>;

export const RoutineSchema = Type.Composite([
  RoutineSpecSchema,
  Type.Object({
    enabled: Type.Boolean(),
    created_at: Type.Number(),
    consecutive_failures: Type.Integer(),
    disabled_reason: Type.Optional(Type.String()),
    last_fired_at: Type.Optional(Type.Number()),
    /** Scheduled time of the last cron slot handled (fired or skipped): the base for missed-firing detection. */
    last_cron_slot: Type.Optional(Type.Number()),
    last_job_id: Type.Optional(Type.String()),
    fired: Type.Integer(),
    skipped: Type.Integer(),
    next_fire_at: Type.Optional(Type.Number()),
  }),
]);
export type Routine = Static<typeof RoutineSchema>;

export const RoutineIdRequest = Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: false });
export const RoutineCreateReply = Type.Object({
  routine: RoutineSchema,
  /** Webhook routines: the URL to POST to and the secret (shown once). */
  webhook: Type.Optional(Type.Object({ url: Type.String(), secret: Type.String(), signature_header: Type.String(), timestamp_header: Type.String() })),
  /** Set when a webhook routine was stored but the HTTP endpoint is not running. */
  warning: Type.Optional(Type.String()),
});
export const RoutineRunRequest = Type.Object(
  { id: Type.String({ minLength: 1 }), input: Type.Optional(Type.String({ maxLength: 100_000 })) },
  { additionalProperties: false },
);
export const FireResult = Type.Object({ job_id: Type.Optional(Type.String()), skipped: Type.Optional(Type.String()) });
export type FireResultT = Static<typeof FireResult>;

export const SchedulerStatsReply = Type.Object({
  incarnation: Type.Integer(),
  jobs: Type.Record(Type.String(), Type.Integer()),
  running: Type.Integer(),
  queued: Type.Integer(),
  workers: Type.Array(Type.Object({ id: Type.String(), alive: Type.Boolean(), running: Type.Integer(), restarts: Type.Integer() })),
  counters: Type.Record(Type.String(), Type.Number()),
  routines: Type.Integer(),
  webhook: Type.Optional(Type.Object({ url: Type.String() })),
  /** Set when scheduler.webhook.enabled but the endpoint could not listen (port in use, ...). */
  webhook_error: Type.Optional(Type.String()),
  /** Shared jobs (NATS): this process's node, whether it fires routines and heartbeats, and which node does. */
  node: Type.Optional(Type.String()),
  leader: Type.Optional(Type.Boolean()),
  leader_node: Type.Optional(Type.String()),
});

/** Topic on which the scheduler publishes each job's start and end (what `rustyclaw job watch` follows). */
export const JOBS_TOPIC = 'scheduler.jobs';
export const JobEventSchema = Type.Object({
  kind: Type.Literal('job'),
  event: Type.Union([Type.Literal('started'), Type.Literal('finished')]),
  id: Type.String(),
  state: JobStateSchema,
  purpose: Type.String(),
  agent: Type.Optional(Type.String()),
  routine_id: Type.Optional(Type.String()),
  attempts: Type.Integer(),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  at: Type.Number(),
  /** Shared jobs (NATS): the process that ran (or finished) it. */
  node: Type.Optional(Type.String()),
});
export type JobEvent = Static<typeof JobEventSchema>;

/** `POST /hooks/<routine id>` as the gateway received it: the raw body (base64: HMAC is over bytes) and the signing headers. */
export const WebhookRequest = Type.Object(
  {
    routine_id: Type.String({ minLength: 1, maxLength: 200 }),
    signature: Type.Optional(Type.String({ maxLength: 512 })),
    timestamp: Type.Optional(Type.String({ maxLength: 64 })),
    body_b64: Type.String(),
  },
  { additionalProperties: false },
);

/** The scheduler's own error codes (beside the kernel's and not_found / invalid_* from routines and jobs). */
export const schedulerErrors = errorsOf({
  webhook_unauthorized: 'webhook: missing, malformed, stale or wrong signature',
  webhook_replayed: 'webhook: this signature was already used within the timestamp window',
  not_found: 'no such job, routine or worker',
  no_leader: 'shared jobs (NATS): no process holds the scheduler lease right now (a takeover is in progress); retry',
});

export const schedulerMessages = messagesOf('system/scheduler', {
  'job.submit': { request: JobSubmitRequest, reply: JobRef },
  'job.status': { request: JobIdRequest, reply: JobSchema },
  'job.list': { request: JobListRequest, reply: JobListReply },
  'job.cancel': { request: JobIdRequest, reply: JobRef },
  // The spec (RoutineSpecSchema) is checked by the scheduler itself, whose errors name the exact
  // field (`trigger.expr: …`, `schedule: unknown field`) where a generic union check could only say
  // "trigger: expected union value"; here only "an object" is required.
  'routine.create': { request: Type.Object({}, { additionalProperties: true, description: 'RoutineSpecSchema' }), reply: RoutineCreateReply },
  'routine.delete': { request: RoutineIdRequest, reply: Type.Object({ deleted: Type.Boolean() }) },
  'routine.list': { request: Type.Object({}, { additionalProperties: false }), reply: Type.Object({ routines: Type.Array(RoutineSchema) }) },
  'routine.run': { request: RoutineRunRequest, reply: FireResult },
  'routine.enable': { request: RoutineIdRequest, reply: Type.Object({ routine: RoutineSchema }) },
  'routine.disable': { request: RoutineIdRequest, reply: Type.Object({ routine: RoutineSchema }) },
  'scheduler.stats': { request: Type.Object({}, { additionalProperties: false }), reply: SchedulerStatsReply },
  /** Chaos/ops: terminate one pool worker (its jobs are re-queued per their retry policy). */
  'scheduler.kill_worker': {
    request: Type.Object({ worker: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
    reply: Type.Object({ worker: Type.String(), jobs: Type.Integer() }),
  },
  /** The gateway received a webhook: verify it (HMAC, timestamp window, replay) and fire the routine. */
  'scheduler.webhook': { request: WebhookRequest, reply: FireResult },
  /** The gateway tells where it listens (routine.create prints `<url>/hooks/<id>`; kept across restarts of the scheduler). */
  'scheduler.gateway': { request: Type.Object({ url: Type.String({ minLength: 1 }) }, { additionalProperties: false }), reply: Type.Object({ ok: Type.Boolean() }) },
});

/** What the scheduler sends to `agents/<id>` for an `agent_turn` job. */
export const AgentSendForJob = Type.Object({
  text: Type.String(),
  session: Type.String(),
  purpose: Type.Union([Type.Literal('job'), Type.Literal('heartbeat')]),
  model: Type.Optional(Type.String()),
  silent: Type.Literal(true),
});

/** Payload published on the `notifications` topic when a heartbeat says action is needed. */
export const HeartbeatNotification = Type.Object({
  kind: Type.Literal('heartbeat'),
  agent: Type.String(),
  job_id: Type.String(),
  text: Type.String(),
  at: Type.Number(),
});
/** Topics the scheduler publishes (the heartbeat's topic is `scheduler.heartbeat.notify_topic`). */
/** Published on `notifications` when a routine is switched off by the scheduler (e.g. failing too often). */
export const RoutineDisabledNotification = Type.Object({ kind: Type.Literal('routine_disabled'), routine: Type.String(), reason: Type.String(), at: Type.Number() });
export const NotificationSchema = Type.Union([HeartbeatNotification, RoutineDisabledNotification]);
export type Notification = Static<typeof NotificationSchema>;
export const schedulerTopics = topicsOf({ notifications: NotificationSchema, [JOBS_TOPIC]: JobEventSchema });

export const SchedulerConfigSchema = Type.Object(
  {
    workers: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
    workers_start: Type.Union([Type.Literal('on_demand'), Type.Literal('eager')], { default: 'on_demand' }),
    max_parallel: Type.Integer({ minimum: 1, maximum: 10_000, default: 8 }),
    max_parallel_per_agent: Type.Integer({ minimum: 1, maximum: 10_000, default: 2 }),
    per_agent: Type.Record(Type.String(), Type.Integer({ minimum: 1 }), { default: {} }),
    worker_heartbeat_ms: Type.Integer({ minimum: 10, default: 1000 }),
    lease_ms: Type.Integer({ minimum: 50, default: 5000 }),
    job_timeout_ms: Type.Integer({ minimum: 1, default: 600_000 }),
    retry: Type.Object(
      {
        max_attempts: Type.Integer({ minimum: 1, maximum: 100, default: 3 }),
        backoff_ms: Type.Integer({ minimum: 0, default: 1000 }),
        max_backoff_ms: Type.Integer({ minimum: 0, default: 60_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    keep_finished: Type.Integer({ minimum: 0, default: 10_000 }),
    routines: Type.Object(
      {
        event_max_input: Type.Integer({ minimum: 16, default: 4096 }),
        regex_probe_ms: Type.Integer({ minimum: 10, default: 200 }),
        max_consecutive_failures: Type.Integer({ minimum: 1, default: 3 }),
        cooldown_ms: Type.Integer({ minimum: 0, default: 0 }),
        max_concurrent: Type.Integer({ minimum: 1, default: 1 }),
        trigger_payload_max_chars: Type.Integer({ minimum: 0, default: 4000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    webhook: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        body_limit: Type.Integer({ minimum: 1, default: 65_536 }),
        timestamp_window_s: Type.Integer({ minimum: 1, default: 300 }),
      },
      { additionalProperties: false, default: {} },
    ),
    heartbeat: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        interval_ms: Type.Integer({ minimum: 1000, default: 1_800_000 }),
        model: Type.String({ default: '' }),
        agents: Type.Array(Type.String(), { default: [] }),
        file: Type.String({ default: 'HEARTBEAT.md' }),
        ok_token: Type.String({ minLength: 1, default: 'HEARTBEAT_OK' }),
        notify_topic: Type.String({ default: 'notifications' }),
        timeout_ms: Type.Integer({ minimum: 1, default: 300_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);
export type SchedulerConfig = Static<typeof SchedulerConfigSchema>;
