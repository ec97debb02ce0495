/**
 * Schema of the kernel's own config sections (`data_dir`, `log`, `kernel`, `endpoint`).
 * Subsystem sections are defined next to their messages in `protocol/<name>.ts` and
 * collected in `./sections.ts`.
 */
import { totalmem } from 'node:os';
import { Type, type Static } from '@sinclair/typebox';

/**
 * V8 young generation of each thread (MB) unless `kernel.young_generation_mb` says otherwise: an
 * idle thread's semi-spaces otherwise keep the garbage of its start-up (docs/decisions.md, issue 14 part g).
 */
export const DEFAULT_YOUNG_GENERATION_MB = 4;

const RestartType = Type.Union([Type.Literal('permanent'), Type.Literal('transient'), Type.Literal('temporary')]);
const Strategy = Type.Union([Type.Literal('one_for_one'), Type.Literal('one_for_all'), Type.Literal('rest_for_one')]);

export const SupervisorConfigSchema = Type.Object(
  {
    strategy: Type.Optional(Strategy),
    intensity: Type.Integer({ minimum: 0, default: 5, description: 'restarts allowed within period_ms before escalating' }),
    period_ms: Type.Integer({ minimum: 1, default: 5000 }),
    backoff_initial_ms: Type.Integer({ minimum: 0, default: 5 }),
    backoff_max_ms: Type.Integer({ minimum: 0, default: 2000 }),
    backoff_reset_ms: Type.Integer({
      minimum: 0,
      default: 250,
      description: 'a child that served this long since its restart starts again from backoff_initial_ms',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const ActorOverrideSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    thread: Type.Optional(Type.String({ minLength: 1, description: 'thread group name; actors with the same group share a thread' })),
    memory_limit_mb: Type.Optional(Type.Integer({ minimum: 1 })),
    young_generation_mb: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, description: "V8 young generation of its thread in MB (a shared thread takes its actors' largest); default kernel.young_generation_mb, 16 for safety" })),
    restart: Type.Optional(RestartType),
    shutdown_timeout_ms: Type.Optional(Type.Integer({ minimum: 0 })),
    liveness_deadline_ms: Type.Optional(Type.Integer({ minimum: 10 })),
    module: Type.Optional(Type.String({ minLength: 1, description: "a user-written actor: file path (relative to the config file) or package specifier of a module whose default export is defineActor({...}); it runs at system/<name> and reads the top-level section <name>" })),
    on_crash: Type.Optional(Type.Union([Type.Literal('redeliver'), Type.Literal('fail')], { description: "messages queued at a crash: redeliver to the successor or fail them; wins over the module's onCrash" })),
    start: Type.Optional(
      Type.Union([Type.Literal('eager'), Type.Literal('on_demand')], {
        description: 'eager: imported and set up while the tree boots; on_demand: on its first message (its mailbox waits meanwhile). Default on_demand for most system actors under placement edge',
      }),
    ),
  },
  { additionalProperties: false },
);

export const KernelConfigSchema = Type.Object(
  {
    placement: Type.Union([Type.Literal('dedicated'), Type.Literal('shared'), Type.Literal('edge')], { default: 'dedicated' }),
    mailbox: Type.Object(
      {
        capacity: Type.Integer({ minimum: 1, default: 1024 }),
        overflow: Type.Union([Type.Literal('wait'), Type.Literal('fail')], { default: 'wait' }),
      },
      { additionalProperties: false, default: {} },
    ),
    batch_max: Type.Integer({ minimum: 1, maximum: 65536, default: 256 }),
    ask_batch_max: Type.Integer({ minimum: 1, maximum: 65536, default: 32, description: 'most asks and replies in one postMessage (at most batch_max)' }),
    ask_timeout_ms: Type.Integer({ minimum: 1, default: 30000 }),
    liveness: Type.Object(
      {
        interval_ms: Type.Integer({ minimum: 5, default: 500 }),
        deadline_ms: Type.Integer({ minimum: 10, default: 2000 }),
        setup_grace_ms: Type.Integer({ minimum: 10, default: 20000, description: 'liveness deadline while a thread is in setup' }),
      },
      { additionalProperties: false, default: {} },
    ),
    memory_limit_mb: Type.Integer({ minimum: 1, default: 256 }),
    young_generation_mb: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, description: 'V8 young generation of each worker thread in MB (default 4)' })),
    validate: Type.Union([Type.Literal('boundary'), Type.Literal('all')], {
      default: 'boundary',
      description: 'boundary: check messages from outside the process; all: also every in-process request and reply (env RUSTYCLAW_VALIDATE wins)',
    }),
    shutdown_timeout_ms: Type.Integer({ minimum: 0, default: 5000 }),
    boot_timeout_ms: Type.Integer({ minimum: 100, default: 60000, description: 'the tree is ready within this or the start fails' }),
    supervisor: SupervisorConfigSchema,
    system_actors: Type.Array(Type.String({ minLength: 1 }), { default: ['safety', 'embedder', 'memory', 'provider-router', 'scheduler', 'tool-runner'] }),
    actors: Type.Record(Type.String(), ActorOverrideSchema, { default: {} }),
  },
  { additionalProperties: false, default: {} },
);
export type KernelConfig = Static<typeof KernelConfigSchema>;

export const EndpointConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 7420 }),
    allow_remote: Type.Boolean({ default: false }),
    max_payload_bytes: Type.Integer({ minimum: 1024, default: 1048576 }),
  },
  { additionalProperties: false, default: {} },
);

export const LogConfigSchema = Type.Object(
  {
    level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    file: Type.Optional(Type.String({ description: 'also write JSON logs to this file' })),
    /** stderr format: auto = readable on a terminal, JSON when piped. */
    format: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], { default: 'auto' }),
  },
  { additionalProperties: false, default: {} },
);

/**
 * Heap a worker thread needs to start: the host (router, links) takes ~8 MB (measured: 4 MB fails
 * with ERR_WORKER_OUT_OF_MEMORY, 8 MB starts), a light actor a few more.
 */
export const MIN_THREAD_HEAP_MB = 16;

/**
 * Checks across kernel options that a schema cannot express. `threads` is how many worker threads
 * the configured tree runs (computed by the caller from the actors and agents it enables).
 */
export function kernelProblems(k: KernelConfig, threads: number, deviceMb = totalmem() / 1048576): string[] {
  const problems: string[] = [];
  const interval = k.liveness.interval_ms;
  if (interval >= k.liveness.deadline_ms) {
    problems.push(
      `kernel.liveness.deadline_ms: ${k.liveness.deadline_ms} ms is not longer than kernel.liveness.interval_ms (${interval} ms): ` +
        'a thread beats once per interval, so a healthy one would miss its deadline',
    );
  }
  if (k.memory_limit_mb < MIN_THREAD_HEAP_MB) {
    problems.push(`kernel.memory_limit_mb: ${k.memory_limit_mb} MB is below what a worker thread needs to start (${MIN_THREAD_HEAP_MB} MB)`);
  }
  for (const [name, o] of Object.entries(k.actors)) {
    if (o.liveness_deadline_ms !== undefined && o.liveness_deadline_ms <= interval) {
      problems.push(`kernel.actors.${name}.liveness_deadline_ms: ${o.liveness_deadline_ms} ms is not longer than kernel.liveness.interval_ms (${interval} ms)`);
    }
    if (o.memory_limit_mb !== undefined && o.memory_limit_mb < MIN_THREAD_HEAP_MB) {
      problems.push(`kernel.actors.${name}.memory_limit_mb: ${o.memory_limit_mb} MB is below what a worker thread needs to start (${MIN_THREAD_HEAP_MB} MB)`);
    }
  }
  const heaps = threads * k.memory_limit_mb;
  if (threads > 0 && heaps > deviceMb) {
    problems.push(
      `kernel.placement: '${k.placement}' runs ${threads} threads × kernel.memory_limit_mb ${k.memory_limit_mb} MB = ${Math.round(heaps)} MB of heap, ` +
        `more than this device's ${Math.round(deviceMb)} MB of memory; use placement: edge, or lower kernel.memory_limit_mb`,
    );
  }
  return problems;
}
