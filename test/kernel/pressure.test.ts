/**
 * Black-box: the service under pressure. A paused process (SIGSTOP/SIGCONT) and a starved one (pinned
 * to one core beside CPU hogs) keep every healthy actor: no stuck kills, no restarts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
}

async function startService(pinned: boolean) {
  const dir = tempDir('rc-press-');
  const cfg = path.join(dir, 'rustyclaw.yaml');
  // Real actors (not the embedder/memory pair: the test is about the kernel's judgement, not them).
  writeFileSync(cfg, `data_dir: ${dir}/data\nkernel:\n  system_actors: [safety, provider-router, scheduler]\nagents:\n  - id: default\nendpoint:\n  port: 0\nscheduler:\n  webhook:\n    enabled: false\n`);
  const env = { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn' };
  const child = pinned ? spawn('taskset', ['-c', '0', process.execPath, CLI, '--config', cfg, 'start'], { env }) : spawn(process.execPath, [CLI, '--config', cfg, 'start'], { env });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const t0 = Date.now();
  while (!out.includes('ready in')) {
    if (child.exitCode !== null) throw new Error(`service exited: ${out}`);
    if (Date.now() - t0 > 90_000) throw new Error(`no ready line: ${out}`);
    await sleep(50);
  }
  const status = async () => JSON.parse((await exec(process.execPath, [CLI, '--config', cfg, 'status', '--json'], { env, timeout: 60_000 })).stdout) as { pid: number; actors: Array<{ path: string; restarts: number; state: string }> };
  const stop = async () => {
    const exited = new Promise((r) => child.once('exit', r));
    await exec(process.execPath, [CLI, '--config', cfg, 'stop'], { env, timeout: 60_000 }).catch(() => child.kill('SIGKILL'));
    await exited;
  };
  return { child, log: () => out, status, stop };
}

test('a service paused for 3 s (SIGSTOP, then SIGCONT) kills no healthy actor', { timeout: 180_000 }, async () => {
  const s = await startService(false);
  try {
    const before = await s.status();
    assert.ok(before.actors.length >= 4);
    process.kill(s.child.pid!, 'SIGSTOP');
    await sleep(3000);
    process.kill(s.child.pid!, 'SIGCONT');
    await sleep(3000);
    const after = await s.status();
    assert.deepEqual(after.actors.map((a) => [a.path, a.restarts, a.state]), before.actors.map((a) => [a.path, 0, 'running']));
    assert.doesNotMatch(s.log(), /stuck; ending it|ended as stuck/);
  } finally {
    await s.stop();
  }
});

test('a service pinned to one core beside 4 CPU hogs boots and keeps every actor', { timeout: 240_000, skip: !hasTaskset() && 'no taskset' }, async () => {
  const hogs: ChildProcess[] = Array.from({ length: 4 }, () => spawn('taskset', ['-c', '0', process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' }));
  try {
    const s = await startService(true);
    try {
      await sleep(10_000);
      const st = await s.status();
      assert.ok(st.actors.every((a) => a.restarts === 0 && a.state === 'running'), JSON.stringify(st.actors));
      assert.doesNotMatch(s.log(), /stuck; ending it|ended as stuck/);
    } finally {
      await s.stop();
    }
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
  }
});
