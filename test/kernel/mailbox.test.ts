import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boot, sup, worker } from './helpers.js';

test('overflow=fail: a full mailbox rejects the sender with mailbox_full', async () => {
  const t = await boot(sup('root', [worker('test/a')]), { mailbox: { capacity: 4, overflow: 'fail' } });
  try {
    const blocking = t.sys.ask('test/a', 'test.block', { ms: 300 });
    let accepted = 0;
    let rejected: any = null;
    for (let i = 0; i < 10 && !rejected; i++) {
      try {
        t.sys.tell('test/a', 'test.record', i);
        accepted++;
      } catch (e) {
        rejected = e;
      }
    }
    assert.equal(accepted, 3, 'capacity 4 = the blocking ask + 3 tells');
    assert.equal(rejected.code, 'mailbox_full');
    assert.match(rejected.message, /test\/a/);
    await blocking;
    // Credits come back once the actor catches up.
    const records = await t.sys.ask<number[]>('test/a', 'test.records');
    assert.deepEqual(records, [0, 1, 2]);
    t.sys.tell('test/a', 'test.record', 99);
  } finally {
    await t.close();
  }
});

test('overflow=wait: senders wait for credit and nothing is lost', async () => {
  const t = await boot(sup('root', [worker('test/a')]), { mailbox: { capacity: 4, overflow: 'wait' } });
  try {
    void t.sys.ask('test/a', 'test.block', { ms: 100 });
    const waits: Array<void | Promise<void>> = [];
    for (let i = 0; i < 50; i++) waits.push(t.sys.tell('test/a', 'test.record', i));
    assert.ok(waits.some((w) => w instanceof Promise), 'some tells had to wait');
    await Promise.all(waits);
    const records = await t.sys.ask<number[]>('test/a', 'test.records');
    assert.deepEqual(records, Array.from({ length: 50 }, (_, i) => i));
  } finally {
    await t.close();
  }
});
