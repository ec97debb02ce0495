/**
 * The topic bridge's receiving side against a real nats-server, driven by a stock client: events
 * on an exact subscription and on a prefix one reach the kernel's subscribers in order; forged,
 * malformed, binary and oversized ones are dropped with a log line naming the subject, and the
 * bridge keeps delivering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Value } from '@sinclair/typebox/value';
import { connect } from '@nats-io/transport-node';
import { ActorSystem } from '../../src/kernel/system.js';
import { validateConfig } from '../../src/config/load.js';
import { NatsTransport } from '../../src/transport/nats.js';
import { NatsConfigSchema } from '../../src/transport/nats/config.js';
import { tempDir, until } from '../kernel/helpers.js';
import { natsServerOrSkip } from '../support/nats-server.js';

test('topic events from a stock client: delivered in order on exact and prefix subscriptions; bad ones dropped with a log line naming the subject', { timeout: 120_000 }, async (t) => {
  const srv = await natsServerOrSkip(t);
  if (!srv) return;
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const config = validateConfig({ data_dir: tempDir('rc-nats-topics-'), log: { level: 'silent' }, endpoint: { enabled: false }, transport: 'nats' });
  const sys = new ActorSystem(config, { kind: 'supervisor', id: 'root', children: [] }, log);
  await sys.start();
  const tr = new NatsTransport({ config: Value.Default(NatsConfigSchema, { servers: [srv.url], cluster: 'tev', node: 'rx', max_payload_bytes: 4096 }) as typeof config.nats, log });
  await tr.start(sys);
  const nc = await connect({ servers: srv.url });
  t.after(async () => {
    await nc.close();
    await tr.stop();
    await sys.stop();
    await srv.stop();
  });
  const exact: unknown[] = [];
  const prefix: Array<[string, unknown]> = [];
  sys.subscribe('ev/x', (p) => exact.push(p));
  sys.subscribe('wild/*', (p, topic) => prefix.push([topic, p]));
  const ev = (topic: string, payload: unknown) => JSON.stringify({ v: 1, op: 'event', topic, payload });
  // The NATS subscriptions follow the deferred announcement: wait until an event gets through.
  await until(async () => {
    nc.publish('rustyclaw.tev._topic.ev.x', ev('ev/x', 'probe'));
    await nc.flush();
    await new Promise((r) => setTimeout(r, 50));
    return exact.length > 0;
  }, 10_000, 'the bridge subscribed');
  exact.length = 0;

  for (let i = 0; i < 100; i++) nc.publish('rustyclaw.tev._topic.ev.x', ev('ev/x', i));
  nc.publish('rustyclaw.tev._topic.wild.a%2Eb', ev('wild/a.b', 'dot'));
  nc.publish('rustyclaw.tev._topic.wild.deep.er', ev('wild/deep/er', 'deep'));
  // Hostile: a topic other than its exact subject's, a topic other than its prefix subject's,
  // not JSON, binary, JSON that is not an event, one over nats.max_payload_bytes.
  nc.publish('rustyclaw.tev._topic.ev.x', ev('ev/y', 'forged'));
  nc.publish('rustyclaw.tev._topic.wild.a', ev('wild/b', 'forged'));
  nc.publish('rustyclaw.tev._topic.ev.x', 'not json');
  nc.publish('rustyclaw.tev._topic.ev.x', new Uint8Array([0, 255, 1, 0xc3, 0x28]));
  nc.publish('rustyclaw.tev._topic.ev.x', JSON.stringify({ v: 1, op: 'ask', payload: 1 }));
  nc.publish('rustyclaw.tev._topic.ev.x', ev('ev/x', 'y'.repeat(5000)));
  nc.publish('rustyclaw.tev._topic.ev.x', ev('ev/x', 'after'));
  await nc.flush();
  await until(() => exact.includes('after') && prefix.length >= 2, 10_000, 'the events after the bad ones');

  assert.deepEqual(exact, [...Array.from({ length: 100 }, (_, i) => i), 'after'], 'every good event once, in order, nothing forged');
  assert.deepEqual(prefix, [['wild/a.b', 'dot'], ['wild/deep/er', 'deep']]);
  const text = lines.join('');
  assert.match(text, /rustyclaw\.tev\._topic\.ev\.x: event topic 'ev\/y' does not match its subject; dropped/);
  assert.match(text, /rustyclaw\.tev\._topic\.wild\.a: event topic 'wild\/b' does not match its subject; dropped/);
  assert.match(text, /rustyclaw\.tev\._topic\.ev\.x: event is not valid JSON/);
  assert.match(text, /rustyclaw\.tev\._topic\.ev\.x: expected \{\\"v\\":1,\\"op\\":\\"event\\"/);
  assert.match(text, /rustyclaw\.tev\._topic\.ev\.x: event over nats.max_payload_bytes; dropped/);
  assert.equal((text.match(/event is not valid JSON/g) ?? []).length, 2, 'the text and the binary one');
});
