/**
 * At-most-once for aborted asks: an ask whose caller's AbortSignal fired before the message was
 * dispatched (still in the sender's unposted batch, or waiting for mailbox credit) never runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { boot, sup, worker } from './helpers.js';

const executed = (log: string): number[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => Number(l.split(' ')[0])) : []);

test('asks aborted in the turn that sent them are never executed; their callers get a typed error', async () => {
  const t = await boot(sup('root', [worker('ab/a')]));
  const log = path.join(t.dir, 'exec.log');
  try {
    await t.sys.waitUp('ab/a');
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const ac = new AbortController();
        const p = t.sys.ask('ab/a', 'test.exec', { id: i + 1, log }, { signal: ac.signal });
        // Every other one is aborted at once (in the same turn, before the batch is posted).
        if (i % 2 === 0) ac.abort();
        return p.then(
          (v) => ({ id: i + 1, ok: true, v, code: undefined as string | undefined, message: '' }),
          (e: { code?: string; message: string }) => ({ id: i + 1, ok: false, code: e.code, message: e.message }),
        );
      }),
    );
    // Anything wrongly sent would have run by the time a later ask on the same link is answered.
    assert.equal(await t.sys.ask('ab/a', 'test.echo', 'after'), 'after');
    const ran = new Set(executed(log));
    for (const o of outcomes) {
      if ((o.id - 1) % 2 === 0) {
        assert.equal(o.ok, false, `ask ${o.id} was aborted but answered`);
        assert.equal(o.code, 'timeout');
        assert.match(String(o.message), /aborted/);
        assert.equal(ran.has(o.id), false, `aborted ask ${o.id} was executed`);
      } else {
        assert.equal(o.ok, true, JSON.stringify(o));
        assert.equal(ran.has(o.id), true, `answered ask ${o.id} was not executed`);
      }
    }
    assert.equal(ran.size, 100);
  } finally {
    await t.close();
  }
});

test('an ask aborted while it waits for mailbox credit is never sent, even after the credit frees', async () => {
  const t = await boot(sup('root', [worker('ab/b')]), { mailbox: { capacity: 2 } });
  const log = path.join(t.dir, 'exec.log');
  try {
    await t.sys.waitUp('ab/b');
    // A handler blocking its thread and one queued ask take the whole window (credit frees when a
    // message starts); the third ask waits for credit.
    const slow = [t.sys.ask('ab/b', 'test.block', { ms: 400 }), t.sys.ask('ab/b', 'test.exec', { id: 9, log })];
    const ac = new AbortController();
    const waiting = t.sys.ask('ab/b', 'test.exec', { id: 7, log }, { signal: ac.signal }).then(
      () => 'answered',
      (e: { code?: string }) => e.code,
    );
    setTimeout(() => ac.abort(), 50);
    assert.equal(await waiting, 'timeout');
    await Promise.all(slow);
    assert.equal(await t.sys.ask('ab/b', 'test.exec', { id: 8, log }), 8);
    assert.deepEqual(executed(log), [9, 8]);
  } finally {
    await t.close();
  }
});

test('an ask whose signal is already aborted is rejected at once and never sent', async () => {
  const t = await boot(sup('root', [worker('ab/c')]));
  const log = path.join(t.dir, 'exec.log');
  try {
    const err = await t.sys.ask('ab/c', 'test.exec', { id: 1, log }, { signal: AbortSignal.abort() }).catch((e: { code?: string }) => e.code);
    assert.equal(err, 'timeout');
    assert.equal(await t.sys.ask('ab/c', 'test.exec', { id: 2, log }), 2);
    assert.deepEqual(executed(log), [2]);
  } finally {
    await t.close();
  }
});
