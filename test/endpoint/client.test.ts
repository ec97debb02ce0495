import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect, readEndpoint, type RustyClawClient } from '../../src/client/index.js';
import { startService, type Service } from '../../src/service.js';
import { validateConfig } from '../../src/config/load.js';
import { sup, tempDir, worker, until } from '../kernel/helpers.js';

let svc: Service;
let client: RustyClawClient;
let dir: string;

before(async () => {
  dir = tempDir('rc-ep-');
  const config = validateConfig({ data_dir: dir, log: { level: 'silent' }, endpoint: { port: 0, max_payload_bytes: 64 * 1024 } });
  svc = await startService(config, { tree: sup('root', [worker('test/a')]) });
  client = await connect({ dataDir: dir });
});
after(async () => {
  await client.close();
  await svc.stop();
});

/** A raw socket, for frames the client library would never send. */
async function raw(): Promise<{ ws: WebSocket; next(): Promise<any>; send(o: unknown): void }> {
  const info = readEndpoint(dir)!;
  const ws = new WebSocket(info.url);
  const queue: any[] = [];
  const waiters: Array<(m: any) => void> = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await new Promise((r) => ws.once('open', r));
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
  const send = (o: unknown) => ws.send(typeof o === 'string' ? o : JSON.stringify(o));
  send({ v: 1, op: 'hello', token: info.token });
  assert.equal((await next()).op, 'welcome');
  return { ws, next, send };
}

test('an external client asks an actor and gets the reply', async () => {
  assert.deepEqual(await client.askDynamic('test/a', 'test.echo', { hello: 'world' }), { hello: 'world' });
});

test('status over the endpoint lists the actors', async () => {
  const st = await client.ask('kernel', 'kernel.status');
  assert.deepEqual(st.actors.map((a: { path: string }) => a.path), ['test/a']);
  assert.equal(st.actors[0].state, 'running');
});

test('typed errors cross the process boundary', async () => {
  await assert.rejects(client.askDynamic('test/missing', 'test.echo', {}), { code: 'unknown_actor' });
  await assert.rejects(client.askDynamic('test/a', 'test.fail', { code: 'bad_thing' }), { code: 'bad_thing' });
});

test('external clients subscribe to topics', async () => {
  const seen: unknown[] = [];
  const off = await client.subscribe('news/*', (p) => seen.push(p));
  await client.askDynamic('test/a', 'test.publish', { topic: 'news/today', payload: 'hi' });
  await until(() => seen.length === 1, 2000, 'event');
  off();
});

test('a wrong token is refused', async () => {
  const info = readEndpoint(dir)!;
  await assert.rejects(connect({ url: info.url, token: 'wrong' }), /token/);
});

test('malformed frames get errors naming what was wrong; the service stays up', async () => {
  const c = await raw();
  c.send('{not json');
  assert.match((await c.next()).error.message, /not valid JSON/);
  c.send({ v: 2, op: 'ask' });
  assert.match((await c.next()).error.message, /protocol version 1/);
  c.send({ v: 1, op: 'dance' });
  assert.match((await c.next()).error.message, /op: expected one of/);
  c.send({ v: 1, op: 'ask', id: 7, to: 'test/a' });
  const r = await c.next();
  assert.equal(r.id, 7);
  assert.equal(r.error.code, 'invalid_message');
  assert.match(r.error.message, /type/);
  c.send({ v: 1, op: 'ask', id: 8, to: 'kernel', type: 'kernel.status', payload: { verbose: true } });
  const r2 = await c.next();
  assert.equal(r2.error.code, 'invalid_message');
  assert.match(r2.error.message, /payload/);
  c.ws.close();
  assert.equal(await client.askDynamic('test/a', 'test.echo', 'alive'), 'alive');
});

test('an oversized frame closes that connection only', async () => {
  const c = await raw();
  const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
  c.send({ v: 1, op: 'tell', to: 'test/a', type: 'test.record', payload: 'x'.repeat(200 * 1024) });
  assert.equal(await closed, 1009);
  assert.equal(await client.askDynamic('test/a', 'test.echo', 'alive'), 'alive');
});

test('a client that disconnects mid-ask does not disturb the service', async () => {
  const c = await raw();
  c.send({ v: 1, op: 'ask', id: 1, to: 'test/a', type: 'test.sleep', payload: { ms: 100 } });
  c.ws.terminate();
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await client.askDynamic('test/a', 'test.echo', 'alive'), 'alive');
});

test('asks before hello are refused', async () => {
  const info = readEndpoint(dir)!;
  const ws = new WebSocket(info.url);
  await new Promise((r) => ws.once('open', r));
  const reply = new Promise<any>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
  ws.send(JSON.stringify({ v: 1, op: 'ask', id: 1, to: 'test/a', type: 'test.echo', payload: 1 }));
  assert.equal((await reply).error.code, 'unauthorized');
  ws.close();
});
