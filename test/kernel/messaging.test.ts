import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ActorError } from '../../src/kernel/index.js';
import { boot, codeOf, sup, until, worker, type TestSystem } from './helpers.js';

let t: TestSystem;
before(async () => {
  t = await boot(sup('root', [worker('test/a'), worker('test/b')]));
});
after(() => t.close());

test('ask returns the handler result', async () => {
  assert.deepEqual(await t.sys.ask('test/a', 'test.echo', { x: [1, 2] }), { x: [1, 2] });
});

test('an actor asks another over its own channel', async () => {
  assert.equal(await t.sys.ask('test/a', 'test.forward', { to: 'test/b', type: 'test.echo', payload: 'hop' }), 'hop');
});

test('errors thrown in a handler reach the caller typed', async () => {
  await assert.rejects(t.sys.ask('test/a', 'test.fail', { code: 'nope' }), (e: ActorError) => {
    assert.ok(e instanceof ActorError);
    assert.equal(e.code, 'nope');
    assert.deepEqual(e.details, { why: 'test' });
    return true;
  });
});

test('unknown actor and unknown message type are typed errors', async () => {
  assert.equal(await codeOf(t.sys.ask('test/missing', 'test.echo')), 'unknown_actor');
  assert.equal(await codeOf(t.sys.ask('test/a', 'test.no_such_type')), 'unknown_type');
  assert.throws(() => t.sys.tell('nowhere/x', 'test.echo', 1), { code: 'unknown_actor' });
});

test('ask times out with a typed error', async () => {
  const e = await t.sys.ask<never>('test/a', 'test.sleep', { ms: 400 }, { timeoutMs: 60 }).catch((err: ActorError) => err);
  assert.equal(e.code, 'timeout');
  assert.match(e.message, /test\.sleep/);
});

test('an uncloneable reply becomes an error instead of crashing the thread', async () => {
  assert.equal(await codeOf(t.sys.ask('test/a', 'test.uncloneable')), 'invalid_message');
  assert.equal(await t.sys.ask('test/a', 'test.echo', 'still up'), 'still up');
});

test('tells arrive in order', async () => {
  for (let i = 0; i < 500; i++) t.sys.tell('test/b', 'test.record', i);
  const records = await t.sys.ask<number[]>('test/b', 'test.records');
  assert.deepEqual(records.slice(-500), Array.from({ length: 500 }, (_, i) => i));
});

test('many pipelined asks all complete', async () => {
  const replies = await Promise.all(Array.from({ length: 5000 }, (_, i) => t.sys.ask<number>('test/a', 'test.echo', i)));
  assert.equal(replies.reduce((a, b) => a + b, 0), (4999 * 5000) / 2);
});

test('topics: events published in one thread reach subscribers in others and in main', async () => {
  const seen: unknown[] = [];
  const off = t.sys.subscribe('events/*', (p, topic) => seen.push([topic, p]));
  await t.sys.ask('test/b', 'test.subscribe', { topic: 'events/x', reply_to: 'test/b' });
  await t.sys.ask('test/a', 'test.publish', { topic: 'events/x', payload: 42 });
  await until(() => seen.length === 1, 2000, 'main subscriber');
  assert.deepEqual(seen[0], ['events/x', 42]);
  await until(async () => (await t.sys.ask<unknown[]>('test/b', 'test.records')).some((r: any) => r?.topic === 'events/x'), 2000, 'worker subscriber');
  off();
  await t.sys.ask('test/a', 'test.publish', { topic: 'events/x', payload: 43 });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen.length, 1, 'no delivery after unsubscribe');
});

test('an actor added on the main thread after start is reachable from worker actors', async () => {
  t.sys.addLocalActor('main/late', { 'late.echo': (p) => ({ late: p }) });
  // The directory update travels over the control port, the ask over the data port: allow for either order.
  let reply: unknown;
  await until(async () => {
    reply = await t.sys.ask('test/a', 'test.forward', { to: 'main/late', type: 'late.echo', payload: 1 }).catch((e) => e.code);
    return reply !== 'unknown_actor';
  }, 2000, 'directory update');
  assert.deepEqual(reply, { late: 1 });
});

test('ctx.flush() posts a queued event at once; without it the event leaves when the handler returns', async () => {
  const got: number[] = [];
  const off = t.sys.subscribe('test/flush', () => got.push(Date.now()));
  try {
    // The subscription reaches the worker asynchronously: publish until one arrives.
    await until(async () => {
      await t.sys.ask('test/a', 'test.publish', { topic: 'test/flush', payload: 'probe' });
      return got.length > 0;
    }, 10_000, 'the subscription to reach the worker');
    await new Promise((r) => setTimeout(r, 50));
    for (const flush of [true, false]) {
      got.length = 0;
      const { ended } = await t.sys.ask('test/a', 'test.publish_then_block', { topic: 'test/flush', ms: 600, flush }) as { ended: number };
      await until(() => got.length > 0, 10_000, 'the event');
      if (flush) assert.ok(got[0]! < ended, `flushed: arrived ${ended - got[0]!} ms before the handler's work ended`);
      else assert.ok(got[0]! >= ended, `batched: arrived ${got[0]! - ended} ms after the handler's work ended`);
    }
  } finally {
    off();
  }
});
