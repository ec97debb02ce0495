/** The main thread's logger while pino loads (src/kernel/deferred-log.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { deferredLogger } from '../../src/kernel/deferred-log.js';
import { tempDir, until } from './helpers.js';

test('records logged before pino has loaded are written in order, filtered by level, serialized and redacted by pino', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'log', 'service.log');
  try {
    const log = deferredLogger('info', file);
    log.debug('dropped: below the level');
    log.info({ n: 1 }, 'first');
    log.child({ actor: 'system/x' }).warn({ n: 2, provider: { api_key: 'sk-secret' } }, 'second %s', 'formatted');
    log.error(new Error('third'));
    await new Promise<void>((resolve, reject) => log.flush((err) => (err ? reject(err) : resolve())));
    // pino opens a log file asynchronously: wait for its writes.
    await until(() => existsSync(file) && readFileSync(file, 'utf8').split('\n').length > 3, 5000, 'the log file');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    assert.deepEqual(lines.map((l) => l.msg), ['first', 'second formatted', 'third']);
    assert.deepEqual(lines.map((l) => l.level), [30, 40, 50]);
    assert.equal(lines[1].actor, 'system/x');
    assert.equal(lines[1].provider.api_key, '[redacted]');
    assert.equal(lines[2].err.message, 'third');
    assert.equal(lines[0].pid, process.pid);
    // Once pino has loaded, records go straight to it.
    log.info('fourth');
    await until(() => readFileSync(file, 'utf8').includes('"msg":"fourth"'), 5000, 'the fourth record');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pino loads on load(), not before: info records wait for it, a warning loads it at once', async () => {
  const dir = tempDir();
  const quiet = path.join(dir, 'quiet.log');
  const loud = path.join(dir, 'loud.log');
  try {
    const a = deferredLogger('info', quiet);
    a.info('waits');
    const b = deferredLogger('info', loud);
    b.warn('loads pino');
    await until(() => existsSync(loud) && readFileSync(loud, 'utf8').includes('loads pino'), 5000, 'the warning');
    assert.equal(existsSync(quiet), false, 'pino was loaded for an info record');
    await a.load();
    await until(() => existsSync(quiet) && readFileSync(quiet, 'utf8').includes('"msg":"waits"'), 5000, 'the info record');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
