import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActorError } from '../../src/kernel/index.js';
import { boot, codeOf, ECHO_REDELIVER, incarnation, sup, until, worker } from './helpers.js';

test('a crash during an ask rejects the caller promptly with actor_crashed, and the successor serves', async () => {
  const t = await boot(sup('root', [worker('f/a')]));
  try {
    const t0 = Date.now();
    const e = await t.sys.ask<never>('f/a', 'test.crash_now', {}, { timeoutMs: 10_000 }).catch((err: ActorError) => err);
    assert.equal(e.code, 'actor_crashed');
    assert.ok(Date.now() - t0 < 5000, 'failed fast, not by timeout');
    await t.sys.waitUp('f/a');
    assert.equal(await t.sys.ask('f/a', 'test.echo', 'again'), 'again');
  } finally {
    await t.close();
  }
});

test('a stuck actor is terminated at its liveness deadline and replaced; its caller gets actor_stuck', async () => {
  const t = await boot(sup('root', [worker('f/spin', { livenessDeadlineMs: 300 }), worker('f/other')]), { liveness: { interval_ms: 50, deadline_ms: 2000 } });
  try {
    const before = await incarnation(t.sys, 'f/spin');
    const t0 = Date.now();
    const e = await t.sys.ask<never>('f/spin', 'test.spin', {}, { timeoutMs: 20_000 }).catch((err: ActorError) => err);
    assert.equal(e.code, 'actor_stuck');
    assert.ok(Date.now() - t0 < 5000, `detected after ${Date.now() - t0} ms`);
    assert.equal(await t.sys.ask('f/other', 'test.echo', 'unaffected'), 'unaffected');
    await until(async () => (await incarnation(t.sys, 'f/spin').catch(() => before)) !== before, 5000, 'replaced');
  } finally {
    await t.close();
  }
});

test('an actor that outgrows its heap limit is restarted alone; the others keep running', async () => {
  const t = await boot(sup('root', [worker('f/leak', { memoryLimitMb: 32 }), worker('f/other')]));
  try {
    const before = await incarnation(t.sys, 'f/leak');
    const e = await t.sys.ask<never>('f/leak', 'test.leak', {}, { timeoutMs: 30_000 }).catch((err: ActorError) => err);
    assert.equal(e.code, 'actor_crashed');
    assert.equal(await t.sys.ask('f/other', 'test.echo', 'fine'), 'fine');
    await until(async () => (await incarnation(t.sys, 'f/leak').catch(() => before)) !== before, 10_000, 'leaker restarted');
    const st = await t.sys.status();
    assert.equal(st.actors.find((a) => a.path === 'f/leak')?.restarts, 1);
  } finally {
    await t.close();
  }
});

test('onCrash=fail: messages queued behind the crash are failed back to their senders', async () => {
  const t = await boot(sup('root', [worker('f/a')]));
  try {
    const blocking = codeOf(t.sys.ask('f/a', 'test.block', { ms: 300 }));
    await new Promise((r) => setTimeout(r, 50)); // the block has started
    const queued = [1, 2, 3].map((i) => codeOf(t.sys.ask('f/a', 'test.echo', i)));
    t.sys.threadOf('f/a')!.kill('crash', 'killed by test');
    assert.equal(await blocking, 'actor_crashed');
    assert.deepEqual(await Promise.all(queued), ['actor_crashed', 'actor_crashed', 'actor_crashed']);
  } finally {
    await t.close();
  }
});

test('onCrash=redeliver: queued messages go to the successor; the one being processed is not redelivered', async () => {
  const t = await boot(sup('root', [worker('f/r', { module: ECHO_REDELIVER })]));
  try {
    await t.sys.waitUp('f/r');
    const blocking = codeOf(t.sys.ask('f/r', 'test.block', { ms: 300 }));
    await new Promise((r) => setTimeout(r, 50));
    const queued = [1, 2, 3].map((i) => t.sys.ask('f/r', 'test.echo', i));
    t.sys.threadOf('f/r')!.kill('crash', 'killed by test');
    assert.equal(await blocking, 'actor_crashed', 'the message in progress is failed, not retried');
    assert.deepEqual(await Promise.all(queued), [1, 2, 3]);
  } finally {
    await t.close();
  }
});

test('messages sent while an actor restarts wait for its successor', async () => {
  const t = await boot(sup('root', [worker('f/a', { config: { slowSetupMs: 100 } })]));
  try {
    await t.sys.ask('f/a', 'test.crash');
    await until(() => t.sys.router.directory.get('f/a')?.state === 'down', 2000, 'down');
    assert.equal(await t.sys.ask('f/a', 'test.echo', 'queued'), 'queued');
  } finally {
    await t.close();
  }
});
