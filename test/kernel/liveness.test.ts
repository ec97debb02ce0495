/**
 * Liveness judges a thread stuck only when it misses its deadline while the rest of the process
 * makes progress: a blocked main thread or slow setup kills nobody; a real endless loop is still
 * replaced. Restart backoff resets after a healthy interval.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boot, codeOf, incarnation, sup, until, worker } from './helpers.js';

function restarts(st: { actors: Array<{ restarts: number }> }): number {
  return st.actors.reduce((n, a) => n + a.restarts, 0);
}

test('a main thread blocked for 2.5 s kills no healthy actor', async () => {
  const t = await boot(sup('root', [worker('l/a'), worker('l/b'), worker('l/c')]), { liveness: { interval_ms: 100, deadline_ms: 1000 } });
  try {
    const before = await Promise.all(['l/a', 'l/b', 'l/c'].map((p) => incarnation(t.sys, p)));
    const end = Date.now() + 2500;
    while (Date.now() < end) {
      /* the main thread does not run its timers or read its ports */
    }
    await new Promise((r) => setTimeout(r, 1500));
    const after = await Promise.all(['l/a', 'l/b', 'l/c'].map((p) => incarnation(t.sys, p)));
    assert.deepEqual(after, before, 'same incarnations');
    assert.equal(restarts(await t.sys.status()), 0);
    assert.equal(t.sys.liveness.counts.stuck, 0);
  } finally {
    await t.close();
  }
});

test('a thread busy in a long synchronous setup is not stuck within its setup grace', async () => {
  const t = await boot(sup('root', [worker('l/slow', { config: { blockSetupMs: 800 } })]), { liveness: { interval_ms: 50, deadline_ms: 300, setup_grace_ms: 5000 } });
  try {
    assert.equal(await t.sys.ask('l/slow', 'test.echo', 'up'), 'up');
    assert.equal(restarts(await t.sys.status()), 0);
  } finally {
    await t.close();
  }
});

test('a real endless loop is replaced soon after its deadline; its caller gets actor_stuck', async () => {
  const t = await boot(sup('root', [worker('l/spin', { livenessDeadlineMs: 400 }), worker('l/other')]), { liveness: { interval_ms: 50, deadline_ms: 2000 } });
  try {
    const before = await incarnation(t.sys, 'l/spin');
    const t0 = Date.now();
    assert.equal(await codeOf(t.sys.ask('l/spin', 'test.spin', {}, { timeoutMs: 20_000 })), 'actor_stuck');
    const took = Date.now() - t0;
    // Speed is the bench's business; here only that it is judged by the deadline, not by a timeout.
    assert.ok(took >= 300 && took < 4000, `stuck detected after ${took} ms`);
    await until(async () => (await incarnation(t.sys, 'l/spin').catch(() => before)) !== before, 5000, 'replaced');
    assert.equal(await t.sys.ask('l/other', 'test.echo', 1), 1);
  } finally {
    await t.close();
  }
});

test('backoff resets after a healthy interval: an actor crashing every 300 ms is restarted without growing delays', async () => {
  const t = await boot(
    sup('root', [sup('s', [worker('l/f')], { intensity: 100, periodMs: 5000, backoffInitialMs: 5, backoffMaxMs: 2000 })]),
    { supervisor: { backoff_reset_ms: 250 } },
  );
  try {
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await t.sys.ask('l/f', 'test.crash');
      await until(() => t.sys.router.directory.get('l/f')?.state === 'down', 2000, 'down');
      await t.sys.waitUp('l/f');
    }
    const delays = t.sys.restartLog.filter((r) => r.child === 'l/f').map((r) => r.backoff_ms);
    assert.deepEqual(delays, [5, 5, 5, 5, 5, 5], 'each restart after a healthy interval waits the initial delay');
    // A crash loop (ending right after coming up, the first one too) still backs off.
    for (let i = 0; i < 3; i++) {
      await t.sys.ask('l/f', 'test.crash');
      await until(() => t.sys.router.directory.get('l/f')?.state === 'down', 2000, 'down');
      await t.sys.waitUp('l/f');
    }
    assert.deepEqual(t.sys.restartLog.slice(-3).map((r) => r.backoff_ms), [10, 20, 40]);
  } finally {
    await t.close();
  }
});
