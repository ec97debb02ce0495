/**
 * A kernel with no actors of its own on the NATS transport: a process that only asks the cluster
 * (the nats bench's caller, and the remote-asks test's). Shared so both build it alike.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Value } from '@sinclair/typebox/value';
import { ActorSystem } from '../../src/kernel/system.js';
import { validateConfig } from '../../src/config/load.js';
import { NatsTransport } from '../../src/transport/nats.js';
import { NatsConfigSchema } from '../../src/transport/nats/config.js';

export async function clientNode(url: string, cluster: string, tmpPrefix = 'rc-nats-client-'): Promise<{ sys: ActorSystem; t: NatsTransport }> {
  const config = validateConfig({ data_dir: mkdtempSync(path.join(tmpdir(), tmpPrefix)), log: { level: 'silent' }, endpoint: { enabled: false }, transport: 'nats' });
  const nats = Value.Default(NatsConfigSchema, { servers: [url], cluster, node: 'client' }) as typeof config.nats;
  const log = pino({ level: 'silent' });
  const sys = new ActorSystem(config, { kind: 'supervisor', id: 'root', children: [] }, log);
  await sys.start();
  const t = new NatsTransport({ config: nats, log });
  await t.start(sys);
  return { sys, t };
}
