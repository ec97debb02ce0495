/**
 * The `transport` and `nats` config sections: with `transport: nats` the kernel of each process
 * joins a NATS cluster (docs/nats.md); with `local` (the default) nothing leaves the process but
 * the WebSocket endpoint.
 */
import { Type, type Static } from '@sinclair/typebox';

export const TransportConfigSchema = Type.Union([Type.Literal('local'), Type.Literal('nats')], { default: 'local' });

const Name = (what: string, dflt: string) =>
  Type.String({ default: dflt, maxLength: 64, pattern: '^[A-Za-z0-9_-]*$', description: `${what}: letters, digits, _ and - (a NATS subject token)` });

export const NatsConfigSchema = Type.Object(
  {
    servers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['nats://127.0.0.1:4222'] }),
    cluster: Name('cluster name', 'default'),
    node: Name("this process's node name (empty: <host>-<pid>)", ''),
    /** Credentials, at most one kind; env names are read when the service starts. */
    token_env: Type.String({ default: 'RUSTYCLAW_NATS_TOKEN' }),
    token_file: Type.String({ default: '' }),
    creds_file: Type.String({ default: '' }),
    nkey_seed_file: Type.String({ default: '' }),
    nkey_seed_env: Type.String({ default: 'RUSTYCLAW_NATS_NKEY_SEED' }),
    connect_timeout_ms: Type.Integer({ minimum: 100, default: 5000 }),
    reconnect_initial_ms: Type.Integer({ minimum: 10, default: 100 }),
    reconnect_max_ms: Type.Integer({ minimum: 10, default: 5000 }),
    heartbeat_ms: Type.Integer({ minimum: 50, default: 1000 }),
    node_timeout_ms: Type.Integer({ minimum: 150, default: 3000 }),
    max_payload_bytes: Type.Integer({ minimum: 1024, default: 1048576 }),
    singletons: Type.Array(Type.String({ minLength: 1 }), { default: ['system/scheduler'] }),
    lease_ttl_ms: Type.Integer({ minimum: 300, default: 3000 }),
    scheduler_store: Type.Union([Type.Literal('jetstream'), Type.Literal('lmdb')], { default: 'jetstream' }),
    /** shared: every process running the scheduler takes jobs from a JetStream work-queue stream; holder: only the lease holder runs jobs. */
    jobs: Type.Union([Type.Literal('shared'), Type.Literal('holder')], { default: 'shared' }),
    /** A job message not acked nor marked working this long is redelivered (its process is taken for dead). */
    job_ack_wait_ms: Type.Integer({ minimum: 500, default: 10000 }),
    export_topics: Type.Array(Type.String({ minLength: 1 }), { default: ['agents/*', 'notifications', 'scheduler.jobs'] }),
  },
  { additionalProperties: false, default: {} },
);
export type NatsConfig = Static<typeof NatsConfigSchema>;

/** Whether jobs go through the cluster's work-queue stream (every scheduler process runs some). */
export function sharedJobs(transport: string, nats: NatsConfig | undefined): nats is NatsConfig {
  return transport === 'nats' && !!nats && nats.scheduler_store === 'jetstream' && nats.jobs === 'shared';
}

/**
 * The paths that wait for a lease in this process. With shared jobs the scheduler runs on every
 * process that has it (only its routines and heartbeats are leader work, leased by the scheduler itself).
 */
export function singletonPaths(transport: string, nats: NatsConfig): string[] {
  const shared = transport === 'nats' && nats.scheduler_store === 'jetstream' && nats.jobs === 'shared';
  return shared ? nats.singletons.filter((p) => p !== 'system/scheduler') : nats.singletons;
}
