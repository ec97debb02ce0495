import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../kernel/helpers.js';
import { makeWorld, runCli, startService } from '../acceptance/helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const exec = promisify(execFile);

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return exec(process.execPath, [CLI, ...args], { env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn', ...env }, timeout: 60_000 });
}

test('start prints a ready line; status lists actors; stop ends the process', async () => {
  const dir = tempDir('rc-cli-');
  const cfg = path.join(dir, 'rustyclaw.yaml');
  // Only the kernel: the test is about the service's life cycle, not the subsystems.
  writeFileSync(cfg, `data_dir: ${dir}/data\nkernel:\n  system_actors: []\n  actors:\n    agent:\n      enabled: false\nendpoint:\n  port: 0\n`);
  const child = spawn(process.execPath, [CLI, '--config', cfg, 'start'], { env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const t0 = Date.now();
  while (!out.includes('ready in')) {
    if (Date.now() - t0 > 30_000) throw new Error(`no ready line: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(out, /rustyclaw ready in \d+ ms: \d+ actors on \d+ threads \(dedicated\), endpoint ws:\/\/127\.0\.0\.1:\d+/);

  const { stdout } = await cli(['--config', cfg, 'status', '--json']);
  const st = JSON.parse(stdout);
  assert.ok(Array.isArray(st.actors));
  assert.equal(st.pid, child.pid);

  const table = await cli(['--config', cfg, 'status']);
  assert.match(table.stdout, /PATH\s+THREAD\s+STATE\s+RESTARTS\s+MAILBOX\s+HANDLED/);

  // A second service on the same data dir is refused with a clear message.
  const second = await cli(['--config', cfg, 'start']).catch((e) => e);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /already runs on data dir/);

  const stop = await cli(['--config', cfg, 'stop']);
  assert.match(stop.stdout, /stopped/);
  assert.equal(await exited, 0);
});

test('a bad config file stops start with an error naming the YAML path', async () => {
  const dir = tempDir('rc-cli-');
  const cfg = path.join(dir, 'bad.yaml');
  writeFileSync(cfg, 'kernel:\n  mailbox:\n    capacity: -3\n');
  const r = await cli(['--config', cfg, 'start']).catch((e) => e);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /kernel\.mailbox\.capacity/);
  assert.match(r.stderr, /line 3/);
});

test('status without a running service says so (exit 1); --in-process boots a tree and says it is not a service', async () => {
  const dir = tempDir('rc-cli-');
  const cfg = path.join(dir, 'rustyclaw.yaml');
  writeFileSync(cfg, `data_dir: ${dir}/data\nkernel:\n  system_actors: []\n  actors:\n    agent:\n      enabled: false\n`);
  const none = await cli(['--config', cfg, 'status']).catch((e) => e);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no running RustyClaw service for data dir .*data.*--in-process/s);
  assert.equal(none.stdout, '', 'no pid or uptime as if a service were up');
  const { stdout } = await cli(['--config', cfg, '--in-process', 'status']);
  assert.match(stdout, /no service running: a tree booted in-process/);
  const json = JSON.parse((await cli(['--config', cfg, '--in-process', 'status', '--json'])).stdout);
  assert.equal(json.in_process, true);
});

test('a stale endpoint file does not block start: a killed service, its pid now a zombie or another process', async () => {
  const w = makeWorld();
  const file = path.join(w.home, '.rustyclaw', 'run', 'endpoint.json');
  const first = await startService(w);
  const recorded = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(recorded.pid, first.pid);
  assert.equal(typeof recorded.pid_start, 'number', 'the start time is recorded beside the pid');
  // kill -9 leaves the endpoint file behind; start again at once.
  first.child.kill('SIGKILL');
  const second = await startService(w);

  // Its pid a zombie (exited, not yet reaped by its parent): `sleep 60` never reaps the child it inherits.
  const zombie = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const zpid = Number(await new Promise<string>((r) => zombie.stdout.once('data', (d) => r(String(d)))));
  const t0 = Date.now();
  while (!/^\d+ \(sleep\) Z/.test(readFileSync(`/proc/${zpid}/stat`, 'utf8'))) {
    assert.ok(Date.now() - t0 < 10_000, 'the zombie appears');
    await new Promise((r) => setTimeout(r, 20));
  }
  second.child.kill('SIGKILL');
  await second.exited;
  writeFileSync(file, JSON.stringify({ ...recorded, pid: zpid, pid_start: undefined }));
  const third = await startService(w);

  // Its pid reused by an unrelated live process (after a reboot or pid wrap-around): another start time.
  third.child.kill('SIGKILL');
  await third.exited;
  writeFileSync(file, JSON.stringify({ ...recorded, pid: zombie.pid, pid_start: 1 }));
  const fourth = await startService(w);
  // A live service is still refused.
  const again = await runCli(w, ['start'], { cwd: w.elsewhere });
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`already runs on data dir .*pid ${fourth.pid}`));
  zombie.kill('SIGKILL');
  assert.match((await runCli(w, ['stop'], { cwd: w.elsewhere })).stdout, /stopped/);
  assert.equal(await fourth.exited, 0);
});
