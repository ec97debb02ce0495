/** A start always finishes: ready despite kills during boot, or a clear boot_timeout error in bounded time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { startSystem } from '../../src/kernel/index.js';
import { boot, sup, tempDir, worker } from './helpers.js';

test('a thread killed by liveness during boot is restarted and the boot still reaches ready', async () => {
  const dir = tempDir();
  const once = path.join(dir, 'blocked-once');
  const t = await boot(
    sup('root', [worker('b/a'), worker('b/stuck', { config: { blockSetupMs: 4000, blockOnceFile: once } }), worker('b/c')]),
    { liveness: { interval_ms: 50, deadline_ms: 200, setup_grace_ms: 1500 } },
  );
  try {
    assert.equal(await t.sys.ask('b/stuck', 'test.echo', 'served'), 'served');
    const st = await t.sys.status();
    // Killed in setup at least once (a loaded machine may slow its successor's start as well).
    assert.ok((st.actors.find((a) => a.path === 'b/stuck')?.restarts ?? 0) >= 1, JSON.stringify(st.actors));
    assert.ok(st.actors.every((a) => a.state === 'running'), JSON.stringify(st.actors));
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a boot that cannot finish fails with boot_timeout naming the thread, and leaves nothing running', async () => {
  const dir = tempDir();
  const t0 = Date.now();
  const err = await startSystem({
    config: { data_dir: dir, log: { level: 'silent' }, kernel: { boot_timeout_ms: 1500 } },
    tree: sup('root', [worker('b/ok'), worker('b/never', { config: { slowSetupMs: 600_000 } })]),
  }).then(
    () => null,
    (e: { code?: string; message: string }) => e,
  );
  try {
    assert.ok(err, 'the start failed');
    assert.equal(err.code, 'boot_timeout');
    assert.match(err.message, /kernel\.boot_timeout_ms \(1500 ms\)/);
    assert.match(err.message, /b\/never \(starting/);
    assert.doesNotMatch(err.message, /b\/ok/);
    assert.ok(Date.now() - t0 < 15_000, `failed after ${Date.now() - t0} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
