/** Bad kernel options are refused at config load with an error naming the option; nothing starts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { validateConfig, ConfigError } from '../../src/config/load.js';
import { kernelProblems } from '../../src/config/kernel-schema.js';
import { tempDir } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const exec = promisify(execFile);

function problems(kernel: Record<string, unknown>, extra: Record<string, unknown> = {}): string[] {
  try {
    validateConfig({ kernel, ...extra });
    return [];
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
}

test('a liveness deadline not longer than the beat interval is refused, globally and per actor', () => {
  assert.match(problems({ liveness: { interval_ms: 500, deadline_ms: 300 } }).join('\n'), /kernel\.liveness\.deadline_ms: 300 ms is not longer than kernel\.liveness\.interval_ms \(500 ms\)/);
  assert.match(problems({ actors: { safety: { liveness_deadline_ms: 100 } } }).join('\n'), /kernel\.actors\.safety\.liveness_deadline_ms: 100 ms/);
  assert.deepEqual(problems({ liveness: { interval_ms: 100, deadline_ms: 300 } }), []);
});

test('memory_limit_mb below what a thread needs is refused, naming the option', () => {
  assert.match(problems({ memory_limit_mb: 8 }).join('\n'), /kernel\.memory_limit_mb: 8 MB is below what a worker thread needs to start \(16 MB\)/);
  assert.match(problems({ actors: { memory: { memory_limit_mb: 4 } } }).join('\n'), /kernel\.actors\.memory\.memory_limit_mb: 4 MB/);
});

test('an unknown placement and a profile too big for the device are refused', () => {
  assert.match(problems({ placement: 'tiny' }).join('\n'), /kernel\.placement/);
  const k = validateConfig({}).kernel;
  // 7 threads of 256 MB heap do not fit a 512 MB device; edge (2 threads) does.
  assert.match(kernelProblems(k, 7, 512).join('\n'), /kernel\.placement: 'dedicated' runs 7 threads × kernel\.memory_limit_mb 256 MB = 1792 MB of heap, more than this device's 512 MB/);
  assert.deepEqual(kernelProblems({ ...k, placement: 'edge', memory_limit_mb: 128 }, 2, 512), []);
});

test('start with a bad kernel option exits 1 naming it, and starts nothing', async () => {
  const dir = tempDir('rc-cfg-');
  const cfg = path.join(dir, 'rustyclaw.yaml');
  writeFileSync(cfg, `data_dir: ${dir}/data\nkernel:\n  liveness:\n    interval_ms: 1000\n    deadline_ms: 500\nendpoint:\n  port: 0\n`);
  const r = await exec(process.execPath, [CLI, '--config', cfg, 'start'], { timeout: 30_000 }).catch((e) => e);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /kernel\.liveness\.deadline_ms: 500 ms is not longer than kernel\.liveness\.interval_ms \(1000 ms\)/);
  assert.ok(!existsSync(path.join(dir, 'data', 'run', 'endpoint.json')), 'no endpoint was opened');
});
