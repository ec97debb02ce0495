/** ActorInstance.ready: the thread is ready when setup returns; the actor serves once ready resolves. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { boot, sup, tempDir, until, worker } from './helpers.js';

const LATE = fileURLToPath(new URL('./fixtures/late-ready.js', import.meta.url));

test('the boot does not wait for an actor\'s ready; its messages wait in the mailbox and are all served, in order, after it', async () => {
  const dir = tempDir();
  const gate = path.join(dir, 'gate');
  const s = await boot(sup('root', [worker('late', { module: LATE, config: { gate } })]));
  try {
    const replies = Array.from({ length: 20 }, (_, i) => s.sys.ask<{ p: number; opened: boolean }>('late', 'test.echo', i));
    let settled = 0;
    for (const r of replies) void r.then(() => settled++, () => settled++);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(settled, 0, 'an ask was answered before the actor was ready');
    writeFileSync(gate, '');
    const got = await Promise.all(replies);
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => ({ p: i, opened: true })));
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a ready that rejects crashes the thread; the supervisor restarts it and the queued asks are redelivered, none lost', async () => {
  const dir = tempDir();
  const gate = path.join(dir, 'gate');
  const failOnceFile = path.join(dir, 'failed-once');
  const s = await boot(sup('root', [worker('late2', { module: LATE, config: { gate, failOnceFile } })]));
  try {
    const replies = Array.from({ length: 10 }, (_, i) => s.sys.ask<{ p: number; opened: boolean }>('late2', 'test.echo', i, { timeoutMs: 10_000 }));
    writeFileSync(gate, '');
    const got = await Promise.all(replies);
    assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => ({ p: i, opened: true })));
    await until(() => s.sys.downLog.length > 0, 5000, 'the crash to be recorded');
    assert.equal(s.sys.downLog[0].reason, 'crash');
    assert.equal(s.sys.downLog.length, 1, JSON.stringify(s.sys.downLog));
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
