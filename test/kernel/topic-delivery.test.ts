/**
 * Topic delivery on one thread runs from one microtask per burst (router.ts `runDeliveries`): the
 * semantics a per-subscriber microtask had must hold — after `publish` returns, in order, a
 * throwing subscriber isolated, events published by a subscriber delivered too — an event goes
 * to another thread once however many of its patterns match there, and the per-topic match caches
 * follow every subscription change.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { boot, sup, until, worker, type TestSystem } from './helpers.js';

let t: TestSystem;
before(async () => {
  t = await boot(sup('root', [worker('test/a'), worker('test/b')]));
});
after(() => t.close());

test('subscribers run after publish returns, in publish order, each event to every matching pattern', async () => {
  const seen: string[] = [];
  const offs = [t.sys.subscribe('burst/x', (p) => seen.push(`x:${p}`)), t.sys.subscribe('burst/*', (p) => seen.push(`*:${p}`))];
  for (let i = 0; i < 3; i++) t.sys.publish('burst/x', i);
  assert.deepEqual(seen, [], 'nothing runs inside publish');
  await Promise.resolve();
  assert.deepEqual(seen, ['x:0', '*:0', 'x:1', '*:1', 'x:2', '*:2']);
  for (const off of offs) off();
});

test('a throwing subscriber neither stops the others nor later bursts', async () => {
  const seen: number[] = [];
  const offs = [
    t.sys.subscribe('throw/x', () => {
      throw new Error('subscriber fault');
    }),
    t.sys.subscribe('throw/x', (p) => seen.push(p as number)),
  ];
  t.sys.publish('throw/x', 1);
  t.sys.publish('throw/x', 2);
  await until(() => seen.length === 2, 2000, 'both events despite the throwing subscriber');
  t.sys.publish('throw/x', 3);
  await until(() => seen.length === 3, 2000, 'a later burst');
  assert.deepEqual(seen, [1, 2, 3]);
  for (const off of offs) off();
});

test('an event a subscriber publishes is delivered after the current ones, not lost', async () => {
  const seen: string[] = [];
  const offs = [
    t.sys.subscribe('chain/a', (p) => {
      seen.push(`a:${p}`);
      if ((p as number) < 3) t.sys.publish('chain/a', (p as number) + 1);
    }),
    t.sys.subscribe('chain/b', (p) => seen.push(`b:${p}`)),
  ];
  t.sys.publish('chain/a', 1);
  t.sys.publish('chain/b', 1);
  await until(() => seen.length === 4, 2000, 'the chained events');
  assert.deepEqual(seen, ['a:1', 'b:1', 'a:2', 'a:3']);
  for (const off of offs) off();
});

test('another thread with two matching patterns gets the event once (each of its subscriptions once)', async () => {
  await t.sys.ask('test/b', 'test.subscribe', { topic: 'twice/x', reply_to: 'test/b' });
  await t.sys.ask('test/b', 'test.subscribe', { topic: 'twice/*', reply_to: 'test/b' });
  await new Promise((r) => setTimeout(r, 100)); // the patterns reach the other threads' routers
  await t.sys.ask('test/a', 'test.publish', { topic: 'twice/x', payload: 7 });
  t.sys.publish('twice/x', 8);
  const mine = async () => ((await t.sys.ask<unknown[]>('test/b', 'test.records')) as Array<{ topic?: string; payload?: unknown }>).filter((r) => r?.topic === 'twice/x');
  await until(async () => (await mine()).length >= 4, 3000, 'both events on both subscriptions');
  await new Promise((r) => setTimeout(r, 200)); // a duplicate would arrive meanwhile
  const got = (await mine()).map((r) => r.payload).sort();
  assert.deepEqual(got, [7, 7, 8, 8]);
});

test('the per-topic match caches follow subscriptions: a pattern added or removed after events were published counts at once', async () => {
  const seen: string[] = [];
  t.sys.publish('cache/x', 0); // fills the caches for cache/x with no subscriber
  await Promise.resolve();
  const offExact = t.sys.subscribe('cache/x', (p) => seen.push(`x:${p}`));
  t.sys.publish('cache/x', 1);
  const offPrefix = t.sys.subscribe('cache/*', (p) => seen.push(`*:${p}`));
  t.sys.publish('cache/x', 2);
  offExact();
  t.sys.publish('cache/x', 3);
  offPrefix();
  t.sys.publish('cache/x', 4);
  await until(() => seen.length >= 4, 2000, 'the deliveries');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen, ['x:1', 'x:2', '*:2', '*:3']);
  // Another thread subscribing after the topic's thread list was cached still gets what follows.
  t.sys.publish('cache/late', 'before');
  await t.sys.ask('test/a', 'test.subscribe', { topic: 'cache/late', reply_to: 'test/a' });
  await new Promise((r) => setTimeout(r, 100)); // the pattern reaches the main thread's router
  t.sys.publish('cache/late', 'after');
  const late = async () => ((await t.sys.ask<unknown[]>('test/a', 'test.records')) as Array<{ topic?: string; payload?: unknown }>).filter((r) => r?.topic === 'cache/late').map((r) => r.payload);
  await until(async () => (await late()).includes('after'), 3000, 'the late subscriber on another thread');
  assert.deepEqual(await late(), ['after']);
});
