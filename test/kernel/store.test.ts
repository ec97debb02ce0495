import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { rmSync } from 'node:fs';
import { actorStore, closeEnv } from '../../src/kernel/store.js';
import { boot, sup, tempDir, until, incarnation, worker } from './helpers.js';

test("an actor's store survives its restart", async () => {
  const t = await boot(sup('root', [worker('s/a')]));
  try {
    await t.sys.ask('s/a', 'test.put', { key: 'k', value: { n: 1 } });
    const before = await incarnation(t.sys, 's/a');
    await t.sys.ask('s/a', 'test.crash');
    await until(async () => (await incarnation(t.sys, 's/a').catch(() => before)) !== before, 5000, 'restart');
    assert.deepEqual(await t.sys.ask('s/a', 'test.get', { key: 'k' }), { n: 1 });
  } finally {
    await t.close();
  }
});

// Crashes here are uncaught exceptions while writes are in flight, the way an actor crashes. Not
// worker.terminate() on a thread busy in lmdb calls: terminating a thread inside a node-addon-api
// call can abort the whole process (nodejs/node-addon-api#902) — see docs/operations.md.
test('a thread that crashes in the middle of writing never leaves a partial batch', async () => {
  const dir = tempDir();
  const src = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.store).then(({ actorStore }) => {
      const s = actorStore(workerData.dir, 'crash-test');
      let i = 0;
      const loop = () => {
        // Each batch writes 50 keys plus a marker; all or none must be visible.
        const ops = [];
        for (let j = 0; j < 50; j++) ops.push({ key: 'b' + i + ':' + j, value: { i, j, pad: 'x'.repeat(200) } });
        ops.push({ key: 'done:' + i, value: true });
        s.batch(ops).then(() => { i++; if (i === 20) parentPort.postMessage('started'); setImmediate(loop); });
        // Another batch is always queued while one commits: the crash lands between them.
        if (i === 25) setTimeout(() => { throw new Error('crash mid-write'); }, 0);
      };
      loop();
    });`;
  const w = new Worker(src, { eval: true, workerData: { dir, store: new URL('../../src/kernel/store.js', import.meta.url).href } });
  w.on('error', () => {});
  const exited = new Promise((r) => w.once('exit', r));
  await new Promise((r) => w.once('message', r));
  await exited;
  const s = actorStore(dir, 'crash-test');
  const counts = new Map<number, number>();
  const done = new Set<number>();
  for (const { key } of s.entries()) {
    if (key.startsWith('done:')) done.add(Number(key.slice(5)));
    else {
      const i = Number(key.slice(1).split(':')[0]);
      counts.set(i, (counts.get(i) ?? 0) + 1);
    }
  }
  assert.ok(done.size >= 20, `at least the 20 acknowledged batches survive (${done.size})`);
  for (const [i, n] of counts) {
    assert.equal(n, 50, `batch ${i} is whole`);
    assert.ok(done.has(i), `batch ${i} has its marker`);
  }
  await closeEnv();
  rmSync(dir, { recursive: true, force: true });
});

test('an actor crashing in the middle of store writes leaves the store writable for everyone', async () => {
  const t = await boot(sup('root', [worker('s/writer'), worker('s/other')], { intensity: 100, periodMs: 60_000 }));
  try {
    for (let round = 0; round < 8; round++) {
      const before = await incarnation(t.sys, 's/writer');
      await t.sys.ask('s/writer', 'test.batch_loop');
      await new Promise((r) => setTimeout(r, 15));
      await t.sys.ask('s/writer', 'test.crash');
      await until(async () => (await incarnation(t.sys, 's/writer').catch(() => before)) !== before, 5000, 'writer restarted');
    }
    await t.sys.waitUp('s/writer');
    // Another thread, and the restarted writer itself, can still commit.
    await t.sys.ask('s/other', 'test.put', { key: 'after', value: 1 }, { timeoutMs: 5000 });
    await t.sys.ask('s/writer', 'test.put', { key: 'after', value: 2 }, { timeoutMs: 5000 });
    assert.equal(await t.sys.ask('s/writer', 'test.get', { key: 'after' }), 2);
  } finally {
    await t.close();
  }
});

test('a killed thread is restarted once, not twice', async () => {
  const t = await boot(sup('root', [worker('s/a')], { intensity: 100, periodMs: 60_000 }));
  try {
    const before = await incarnation(t.sys, 's/a');
    t.sys.threadOf('s/a')!.kill('crash', 'killed by test');
    await until(async () => (await incarnation(t.sys, 's/a').catch(() => before)) !== before, 5000, 'restart');
    await new Promise((r) => setTimeout(r, 200)); // a late exit event of the old thread would show now
    await t.sys.root.settled();
    const st = await t.sys.status();
    assert.equal(st.actors.find((a) => a.path === 's/a')?.restarts, 1);
  } finally {
    await t.close();
  }
});
