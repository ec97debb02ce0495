/** Black-box: `rustyclaw tool ...` as a child process, without and with a running service, from another working directory. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI, PRE, tmp, wat, writeTool, writerWat } from './helpers.js';
import { connect } from '../../src/client/index.js';

const exec = promisify(execFile);
const root = tmp('rc-tool-cli-');
const cwd = tmp('rc-tool-cwd-');
const cfg = path.join(root, 'rustyclaw.yaml');
writeFileSync(cfg, [
  `data_dir: ${root}/data`,
  'kernel:',
  '  system_actors: [safety, tool-runner]',
  '  liveness: {deadline_ms: 10000}',
  '  actors:',
  '    agent:',
  '      enabled: false',
  'endpoint:',
  '  port: 0',
  'tools:',
  '  pool_size: 1',
  '',
].join('\n'));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [CLI, '--config', cfg, ...args], { cwd, env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn' }, timeout: 120_000, maxBuffer: 1 << 24 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e: any) {
    if (typeof e.code !== 'number') throw e;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const fixtures = tmp('rc-tool-fx-');

test('without a running service: list, run (--json), bad arguments, bad --args', async () => {
  const list = await cli(['tool', 'list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const names = JSON.parse(list.stdout).tools.map((t: { name: string }) => t.name);
  for (const n of ['json', 'grep', 'files', 'http_fetch']) assert.ok(names.includes(n));
  const table = await cli(['tool', 'list']);
  assert.match(table.stdout, /^name\s+source\s+network/);

  const ok = await cli(['tool', 'run', 'json', '--args', '{"input":{"a":[1,2,3]},"path":".a | length"}', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const r = JSON.parse(ok.stdout);
  assert.equal(r.ok, true);
  assert.equal(r.output, '3\n');
  assert.equal(typeof r.ms, 'number');
  assert.ok(r.fuel_used > 0 && r.memory_peak_bytes >= 65536);

  const plain = await cli(['tool', 'run', 'json', '--args', '{"input":"{\\"k\\":\\"v\\"}","path":".k","raw":true}']);
  assert.equal(plain.stdout, 'v\n');

  const bad = await cli(['tool', 'run', 'grep', '--args', '{}', '--json']);
  assert.equal(bad.code, 1);
  const b = JSON.parse(bad.stdout);
  assert.equal(b.ok, false);
  assert.equal(b.code, 'invalid_arguments');
  assert.match(b.message, /pattern/);

  const junk = await cli(['tool', 'run', 'json', '--args', '{not json']);
  assert.equal(junk.code, 1);
  assert.match(junk.stderr, /--args: not valid JSON/);

  const unknown = await cli(['tool', 'run', 'nosuchtool']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown_tool: no registered tool 'nosuchtool'/);
});

test('add, verify, tamper, remove; a manifest file runs unregistered', async () => {
  const manifest = await writeTool(fixtures, 'hello', await wat(writerWat('hello from wasm')));
  const direct = await cli(['tool', 'run', manifest, '--json']);
  assert.equal(JSON.parse(direct.stdout).output, 'hello from wasm');
  const add = await cli(['tool', 'add', manifest]);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /registered hello \(module blake3 [0-9a-f]{64}/);
  const v = await cli(['tool', 'verify', 'hello']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^ok: hello/);
  appendFileSync(path.join(root, 'data', 'tools', 'hello', 'hello.wasm'), Buffer.from([0, 1, 0]));
  const v2 = await cli(['tool', 'verify', 'hello']);
  assert.equal(v2.code, 1);
  assert.match(v2.stderr, /hash_mismatch: .*hello\.wasm: BLAKE3 of the module is [0-9a-f]{64}, the manifest .* pins [0-9a-f]{64}/);
  const run = await cli(['tool', 'run', 'hello', '--json']);
  assert.equal(run.code, 1);
  assert.equal(JSON.parse(run.stdout).code, 'hash_mismatch');
  const rm = await cli(['tool', 'remove', 'hello']);
  assert.match(rm.stdout, /removed hello/);
  const rm2 = await cli(['tool', 'remove', 'hello']);
  assert.equal(rm2.code, 1);
});

test('with a running service: runs through it, output passes the leak detector, limits leave the service up', async () => {
  const child = spawn(process.execPath, [CLI, '--config', cfg, 'start'], { cwd, env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const t0 = Date.now();
  while (!out.includes('ready in')) {
    if (Date.now() - t0 > 60_000 || child.exitCode !== null) throw new Error(`no ready line: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // The runner threads start with the first call (tools.runners_start: on_demand), not at boot.
  const client = await connect({ dataDir: `${root}/data` });
  after(() => client.close());
  const idle = await client.ask('system/tool-runner', 'tool.stats', {});
  assert.equal(idle.runners_started, false);
  const ok = await cli(['tool', 'run', 'json', '--args', '{"input":[5,6],"path":"[0]"}', '--json']);
  assert.equal(JSON.parse(ok.stdout).output, '5\n');
  const busy = await client.ask('system/tool-runner', 'tool.stats', {});
  assert.equal(busy.runners_started, true);
  assert.deepEqual(busy.runners.map((r) => r.alive), [true]);
  // A tool printing something credential-shaped: the leak detector redacts it before the user sees it.
  const key = 'AKIA' + 'QWERTYUIZPASDFGH';
  const leaky = await writeTool(fixtures, 'leaky', await wat(writerWat(`config: aws_key=${key} done`)));
  const l = await cli(['tool', 'run', leaky, '--json']);
  const lr = JSON.parse(l.stdout);
  assert.equal(lr.ok, true, l.stdout);
  assert.ok(!lr.output.includes(key), lr.output);
  assert.match(lr.output, /REDACTED/);
  // An endless loop with fuel to spare hits the wall clock; the runner is replaced, the service stays up.
  const slow = await writeTool(fixtures, 'slow', await wat(`(module ${PRE()} (func (export "_start") (loop $l (br $l))))`), { limits: { fuel: 1e15, timeout_ms: 500 } });
  const s = await cli(['tool', 'run', slow, '--json']);
  assert.equal(s.code, 1);
  assert.equal(JSON.parse(s.stdout).code, 'timeout');
  const bomb = await writeTool(fixtures, 'bomb', await wat(`(module ${PRE()} (func (export "_start") (loop $l (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable)) (br $l))))`));
  const bm = await cli(['tool', 'run', bomb, '--json']);
  assert.equal(JSON.parse(bm.stdout).code, 'memory_limit');
  const after2 = await cli(['tool', 'run', 'json', '--args', '{"input":1,"path":"."}', '--json']);
  assert.equal(JSON.parse(after2.stdout).ok, true);
  const stop = await cli(['stop']);
  assert.match(stop.stdout, /stopped/);
  assert.equal(await exited, 0);
  assert.ok(!/ExperimentalWarning/.test(out), 'no WASI warning on the service stderr');
});
