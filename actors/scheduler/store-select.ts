/**
 * Which store the scheduler keeps its jobs, routines and heartbeat state in: the actor's lmdb store,
 * or — with `transport: nats` and `nats.scheduler_store: jetstream` — the cluster's JetStream KV
 * bucket, through a NATS connection of this thread's own.
 */
import type { ActorStore } from '../../src/kernel/actor.js';
import type { NatsConfig } from '../../src/transport/nats/config.js';

/** True when the scheduler keeps its state in the cluster's JetStream KV (a NATS connection), not in lmdb. */
export function jetstreamState(root: Readonly<Record<string, any>>): boolean {
  const nats = root.nats as NatsConfig | undefined;
  return root.transport === 'nats' && !!nats && nats.scheduler_store === 'jetstream';
}

export async function openSchedulerStore(
  root: Readonly<Record<string, any>>,
  local: ActorStore,
  log: { info(o: unknown, m?: string): void },
): Promise<{ store: ActorStore; close(): Promise<void> }> {
  if (!jetstreamState(root)) return { store: local, close: async () => {} };
  const nats = root.nats as NatsConfig;
  // Imported here, not at load: the lmdb path (the default) never loads the NATS client.
  const [{ Backoff, connectNats }, { JetStreamStore }] = await Promise.all([import('../../src/transport/nats/connect.js'), import('./job-store-jetstream.js')]);
  const nc = await connectNats(nats, `rustyclaw ${nats.cluster} scheduler pid ${process.pid}`, new Backoff(nats.reconnect_initial_ms, nats.reconnect_max_ms));
  const bucket = `rustyclaw_${nats.cluster}_scheduler`;
  try {
    const store = await JetStreamStore.open(nc, bucket);
    log.info({ bucket, keys: [...store.entries()].length }, `scheduler state in JetStream KV bucket ${bucket}`);
    return {
      store,
      async close() {
        await store.flushed().catch(() => {});
        await nc.drain().catch(() => {});
      },
    };
  } catch (err) {
    await nc.close().catch(() => {});
    throw new Error(`scheduler: cannot open the JetStream KV bucket ${bucket}: ${(err as Error).message}`, { cause: err });
  }
}
