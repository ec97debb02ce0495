/**
 * Stopping the tree: siblings no longer wait for each other's isolate teardown, but `stop()` still
 * resolves only once every worker thread has ended, and what the actors stored is there afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { startSystem } from '../../src/kernel/index.js';
import { sup, tempDir, worker } from './helpers.js';

const threads = () => readdirSync('/proc/self/task').length;

test('stop() resolves after every worker thread has ended; stored values survive it', { skip: !existsSync('/proc/self/task') && 'no /proc' }, async () => {
  await readFile(new URL(import.meta.url)); // the libuv pool exists before counting
  const dir = tempDir();
  const tree = sup('root', [worker('t/a'), worker('t/b'), worker('t/c')]);
  const config = { data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false } };
  try {
    const sys = await startSystem({ config, tree });
    for (const p of ['t/a', 't/b', 't/c']) await sys.ask(p, 'test.put', { key: 'k', value: p });
    const running = threads();
    await sys.stop();
    const after = threads();
    assert.ok(after <= running - 3, `three worker threads ended by the time stop() resolved (threads ${running} → ${after})`);

    const again = await startSystem({ config, tree });
    try {
      for (const p of ['t/a', 't/b', 't/c']) assert.equal(await again.ask(p, 'test.get', { key: 'k' }), p);
    } finally {
      await again.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
