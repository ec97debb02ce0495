/**
 * Child process for the `nats` scenario. Modes:
 * - `rustyclaw URL CLUSTER NODE`: one echo actor `bench/0` on a thread, joined to the cluster; the
 *   main-thread actor `bench/pub` publishes `n` events `{n, s}` on topic `bench/ev` when asked;
 * - `raw URL SUBJECT`: a bare NATS responder on `raw.echo` (replies with the request body) and a
 *   publisher of `n` events (payload `{n, s}`) on SUBJECT when asked on `raw.pub` — the baseline;
 * - `sched URL CLUSTER NODE [shared|holder]`: the scheduler for the chaos run — shared jobs (every
 *   process takes jobs from the work-queue stream, the lease holder fires routines) or holder (a
 *   singleton, its jobs in JetStream KV).
 * Prints one line `ready` when serving, runs until killed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Value } from '@sinclair/typebox/value';
import { connect } from '@nats-io/transport-node';
import { ActorSystem } from '../../src/kernel/system.js';
import { validateConfig } from '../../src/config/load.js';
import { NatsTransport } from '../../src/transport/nats.js';
import { NatsConfigSchema, singletonPaths } from '../../src/transport/nats/config.js';
import { ECHO_ACTOR } from './kernel-fixture.js';

const [mode, url, cluster = 'bench', node = 'srv', jobs = 'shared'] = process.argv.slice(2);
const log = pino({ level: process.env.BENCH_LOG ?? 'silent' });

if (mode === 'raw') {
  // Events go out on the subject the rustyclaw side uses (CLUSTER holds it here): the same bytes on the wire.
  const subject = cluster;
  const nc = await connect({ servers: url!, noEcho: true });
  nc.subscribe('raw.echo', { callback: (_e, m) => void m.respond(m.data) });
  nc.subscribe('raw.pub', {
    callback: (_e, m) => {
      const { n, s = 'hello' } = JSON.parse(new TextDecoder().decode(m.data)) as { n: number; s?: string };
      void (async () => {
        for (let i = 0; i < n; i++) {
          nc.publish(subject, JSON.stringify({ v: 1, op: 'event', topic: 'bench/ev', payload: { n: i, s } }));
          if (i % 2000 === 1999) await new Promise((r) => setImmediate(r));
        }
        m.respond('{}');
      })();
    },
  });
  await nc.flush();
  process.stdout.write('ready\n');
} else {
  const sched = mode === 'sched';
  const config = validateConfig({
    data_dir: mkdtempSync(path.join(tmpdir(), 'rc-bench-nats-')),
    log: { level: 'silent' },
    endpoint: { enabled: false },
    transport: 'nats',
    nats: { servers: [url], cluster, node, lease_ttl_ms: 2000, jobs, job_ack_wait_ms: 3000 },
    scheduler: { webhook: { enabled: false }, heartbeat: { enabled: false }, retry: { max_attempts: 10, backoff_ms: 50 } },
  });
  const nats = Value.Default(NatsConfigSchema, config.nats) as typeof config.nats;
  const actor = sched ? { path: 'system/scheduler', module: 'scheduler', config: config.scheduler } : { path: 'bench/0', module: ECHO_ACTOR };
  const sys = new ActorSystem(config, { kind: 'supervisor', id: 'root', intensity: 1000, periodMs: 1000, children: [{ kind: 'worker', id: actor.path, actors: [actor] }] }, log);
  if (sched) sys.holdForLease(singletonPaths('nats', nats));
  await sys.start();
  sys.addLocalActor('bench/pub', {
    // In slices, yielding between them: a main thread that never yields misses its own announcements.
    'bench.publish': async (p: unknown) => {
      const { n, s = 'hello' } = p as { n: number; s?: string };
      for (let i = 0; i < n; i++) {
        sys.publish('bench/ev', { n: i, s });
        if (i % 2000 === 1999) await new Promise((r) => setImmediate(r));
      }
      return {};
    },
  });
  const t = new NatsTransport({ config: nats, log });
  await t.start(sys);
  process.stdout.write('ready\n');
}
