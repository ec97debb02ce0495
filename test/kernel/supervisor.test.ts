import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ActorSystem } from '../../src/kernel/index.js';
import { boot, codeOf, incarnation, sup, tempDir, until, worker } from './helpers.js';

/** Crash `p` and wait until its successor answers. */
async function crashAndWait(sys: ActorSystem, p: string): Promise<void> {
  const before = await incarnation(sys, p);
  await sys.ask(p, 'test.crash');
  await until(async () => (await incarnation(sys, p).catch(() => before)) !== before, 5000, `${p} restarted`);
}

async function incarnations(sys: ActorSystem, paths: string[]): Promise<number[]> {
  return Promise.all(paths.map((p) => incarnation(sys, p)));
}

const three = ['s/a', 's/b', 's/c'];
const threeWorkers = () => three.map((p) => worker(p));

test('one_for_one restarts only the crashed child', async () => {
  const t = await boot(sup('root', [sup('s', threeWorkers(), { strategy: 'one_for_one' })]));
  try {
    const [a, b, c] = await incarnations(t.sys, three);
    await crashAndWait(t.sys, 's/b');
    const [a2, b2, c2] = await incarnations(t.sys, three);
    assert.equal(a2, a);
    assert.notEqual(b2, b);
    assert.equal(c2, c);
  } finally {
    await t.close();
  }
});

test('one_for_all restarts every child', async () => {
  const t = await boot(sup('root', [sup('s', threeWorkers(), { strategy: 'one_for_all' })]));
  try {
    const before = await incarnations(t.sys, three);
    await crashAndWait(t.sys, 's/b');
    await until(async () => {
      const now = await incarnations(t.sys, three).catch(() => before);
      return now.every((n, i) => n !== before[i]);
    }, 5000, 'all restarted');
  } finally {
    await t.close();
  }
});

test('rest_for_one restarts the crashed child and those started after it', async () => {
  const t = await boot(sup('root', [sup('s', threeWorkers(), { strategy: 'rest_for_one' })]));
  try {
    const [a, b, c] = await incarnations(t.sys, three);
    await crashAndWait(t.sys, 's/b');
    await until(async () => (await incarnation(t.sys, 's/c').catch(() => c)) !== c, 5000, 'c restarted');
    const [a2, b2] = await incarnations(t.sys, ['s/a', 's/b']);
    assert.equal(a2, a, 'a was started before b and stays');
    assert.notEqual(b2, b);
  } finally {
    await t.close();
  }
});

test('children start in order and stop in reverse order', async () => {
  const log = path.join(tempDir(), 'stop.log');
  const t = await boot(sup('root', three.map((p) => worker(p, { config: { stopLog: log } }))));
  await t.sys.stop();
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['s/c', 's/b', 's/a']);
  await t.close();
});

test('restart types: permanent restarts after a normal exit, transient does not, temporary never restarts', async () => {
  const t = await boot(
    sup('root', [
      worker('r/permanent', { restart: 'permanent' }),
      worker('r/transient', { restart: 'transient' }),
      worker('r/transient2', { restart: 'transient' }),
      worker('r/temporary', { restart: 'temporary' }),
    ]),
  );
  try {
    const perm = await incarnation(t.sys, 'r/permanent');
    await t.sys.ask('r/permanent', 'test.exit');
    await until(async () => (await incarnation(t.sys, 'r/permanent').catch(() => perm)) !== perm, 5000, 'permanent restarted');

    await t.sys.ask('r/transient', 'test.exit');
    await until(async () => (await codeOf(t.sys.ask('r/transient', 'test.echo', 1))) === 'actor_stopped', 5000, 'transient stopped');

    const tr2 = await incarnation(t.sys, 'r/transient2');
    await t.sys.ask('r/transient2', 'test.crash');
    await until(async () => (await incarnation(t.sys, 'r/transient2').catch(() => tr2)) !== tr2, 5000, 'transient restarted after crash');

    await t.sys.ask('r/temporary', 'test.crash');
    await until(async () => (await codeOf(t.sys.ask('r/temporary', 'test.echo', 1))) === 'actor_stopped', 5000, 'temporary stopped');
    const st = await t.sys.status();
    assert.equal(st.actors.find((a) => a.path === 'r/temporary')?.state, 'stopped');
  } finally {
    await t.close();
  }
});

test('intensity exceeded escalates to the parent; the root keeps the rest of the service running', async () => {
  const t = await boot(sup('root', [sup('s', [worker('s/a')], { intensity: 1, periodMs: 60_000 }), worker('b')], { intensity: 1, periodMs: 60_000 }));
  try {
    await crashAndWait(t.sys, 's/a'); // s restarts a (1 of 1)
    await crashAndWait(t.sys, 's/a'); // s exceeds → escalates; root restarts s (1 of 1)
    let st = await t.sys.status();
    assert.equal(st.supervisors.find((s) => s.id === 's')?.restarts, 1, 'the supervisor itself was restarted');
    await crashAndWait(t.sys, 's/a'); // fresh s restarts a
    await t.sys.ask('s/a', 'test.crash'); // s exceeds again; root exceeds → subtree stopped
    await until(async () => (await codeOf(t.sys.ask('s/a', 'test.echo', 1))) === 'actor_stopped', 5000, 'subtree stopped');
    assert.equal(await t.sys.ask('b', 'test.echo', 'alive'), 'alive', 'the rest of the service keeps running');
    st = await t.sys.status();
    assert.equal(st.actors.find((a) => a.path === 's/a')?.state, 'stopped');
  } finally {
    await t.close();
  }
});

test('restarts back off exponentially within the period', async () => {
  const t = await boot(sup('root', [sup('s', [worker('s/a')], { intensity: 10, periodMs: 60_000, backoffInitialMs: 40, backoffMaxMs: 1000 })]));
  try {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      await crashAndWait(t.sys, 's/a');
      times.push(Date.now() - t0);
    }
    // 40, 80, 160 ms of backoff: the third restart waits at least the doubled-twice delay.
    assert.ok(times[2] >= 160, `third restart took ${times[2]} ms`);
    assert.ok(times[0] >= 40, `first restart took ${times[0]} ms`);
  } finally {
    await t.close();
  }
});

test('an actor whose setup fails is retried and then stopped without taking the service down', async () => {
  const t = await boot(sup('root', [sup('s', [worker('s/bad', { config: { failSetup: true } })], { intensity: 2, periodMs: 60_000 }), worker('ok')], { intensity: 0 }));
  try {
    await until(async () => (await codeOf(t.sys.ask('s/bad', 'test.echo', 1, { timeoutMs: 200 }))) === 'actor_stopped', 8000, 'bad actor stopped');
    assert.equal(await t.sys.ask('ok', 'test.echo', 'fine'), 'fine');
  } finally {
    await t.close();
  }
});
