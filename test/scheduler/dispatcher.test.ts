import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher, backoffDelay } from '../../actors/scheduler/dispatcher.js';

function clock(start = 1000) {
  const c = { now: start, fn: () => c.now };
  return c;
}

test('global max parallel is enforced and release frees a slot', () => {
  const c = clock();
  const d = new Dispatcher({ maxParallel: 3, maxPerAgent: 10 }, c.fn, 1000);
  for (let i = 0; i < 10; i++) d.enqueue({ id: `j${i}` });
  assert.deepEqual(d.take(), ['j0', 'j1', 'j2']);
  assert.deepEqual(d.take(), []);
  d.release('j1');
  assert.deepEqual(d.take(), ['j3']);
  assert.equal(d.runningCount, 3);
  assert.equal(d.queuedCount, 6);
});

test('per-agent limit does not block other agents (no head-of-line blocking)', () => {
  const c = clock();
  const d = new Dispatcher({ maxParallel: 10, maxPerAgent: 1, perAgent: { b: 2 } }, c.fn, 1000);
  d.enqueue({ id: 'a1', agent: 'a' });
  d.enqueue({ id: 'a2', agent: 'a' });
  d.enqueue({ id: 'a3', agent: 'a' });
  d.enqueue({ id: 'b1', agent: 'b' });
  d.enqueue({ id: 'b2', agent: 'b' });
  d.enqueue({ id: 'b3', agent: 'b' });
  d.enqueue({ id: 'n1' });
  assert.deepEqual(d.take(), ['a1', 'b1', 'b2', 'n1']);
  d.release('a1');
  assert.deepEqual(d.take(), ['a2']);
});

test('dequeue (cancel) removes a queued job; delayed jobs wait for not_before', () => {
  const c = clock();
  const d = new Dispatcher({ maxParallel: 10, maxPerAgent: 10 }, c.fn, 1000);
  d.enqueue({ id: 'x' });
  d.enqueue({ id: 'later', notBefore: 1500 });
  d.enqueue({ id: 'y' });
  assert.ok(d.dequeue('x'));
  assert.deepEqual(d.take(), ['y']);
  assert.equal(d.nextDelay(), 500);
  c.now = 1499;
  assert.deepEqual(d.take(), []);
  c.now = 1500;
  assert.deepEqual(d.take(), ['later']);
  assert.equal(d.nextDelay(), undefined);
});

test('leases: heartbeats renew, silence expires the worker holding jobs', () => {
  const c = clock();
  const d = new Dispatcher({ maxParallel: 10, maxPerAgent: 10 }, c.fn, 100);
  d.enqueue({ id: 'a' });
  d.enqueue({ id: 'b' });
  d.take();
  d.assign('a', 'w0');
  d.assign('b', 'w1');
  c.now += 80;
  d.renew('w0');
  c.now += 50;
  assert.deepEqual(d.expired(), ['w1']);
  assert.deepEqual(d.jobsOn('w1'), ['b']);
  d.release('b');
  assert.deepEqual(d.expired(), []);
});

test('backoff doubles per attempt and is capped', () => {
  assert.equal(backoffDelay(100, 1, 10_000), 100);
  assert.equal(backoffDelay(100, 2, 10_000), 200);
  assert.equal(backoffDelay(100, 4, 10_000), 800);
  assert.equal(backoffDelay(100, 20, 10_000), 10_000);
});
