/**
 * Acceptance, part 2: the real service started with `rustyclaw start` in a project dir (data dir the
 * default in a private HOME), every README command driven against it from another directory with
 * stdin an open pipe, output checked; then a reader closing stdout early, a paused service, a
 * endpoint port in use, stop, and a service killed with -9. The only double is the LLM (remote in
 * real use): a loopback server speaking the OpenAI wire format.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import path from 'node:path';
import { startLlmServer, type LlmServer } from '../support/llm-servers.js';
import { CLI, HAVE_LOCAL_MODEL, collect, makeWorld, noCrash, runCli, startService, type RunningService, type World } from './helpers.js';

const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));
let llm: LlmServer;
let w: World;
let svc: RunningService;

before(async () => {
  llm = await startLlmServer('openai');
  w = makeWorld('', { OPENAI_BASE_URL: llm.url });
  svc = await startService(w);
});

after(async () => {
  if (svc && svc.child.exitCode === null) svc.child.kill('SIGKILL');
  await llm?.close();
});

const cli = (args: string[], o: Parameters<typeof runCli>[2] = {}) => runCli(w, args, { stdin: 'open', ...o });

function ok(r: { code: number | null; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}, stderr: ${r.stderr}`);
  assert.ok(noCrash(r.stderr), `${what}: ${r.stderr}`);
}

test('start: one ready line naming the default data dir in HOME', () => {
  assert.match(svc.ready, /^rustyclaw ready in \d+ ms: \d+ actors on \d+ threads \(dedicated\), endpoint ws:\/\/127\.0\.0\.1:\d+, gateway http:\/\/127\.0\.0\.1:\d+, data .*\/home\/\.rustyclaw, pid \d+$/);
  assert.equal(existsSync(path.join(w.project, '.rustyclaw')), false, 'no project-local data dir unless asked');
});

test('status from another directory finds the service; shows health and capability', async () => {
  const r = await cli(['status']);
  ok(r, 'status');
  assert.match(r.stdout, new RegExp(`^pid ${svc.pid}, up \\d+ s`));
  assert.match(r.stdout, /PATH\s+THREAD\s+STATE\s+RESTARTS\s+MAILBOX\s+HANDLED\s+CAPABILITY/);
  assert.match(r.stdout, /system\/provider-router .*running.*1 of \d providers usable \(openai\)/);
  assert.match(r.stdout, /system\/scheduler .*webhooks http:\/\/127\.0\.0\.1:\d+/);
  if (HAVE_LOCAL_MODEL) assert.match(r.stdout, /system\/embedder .*(local all-MiniLM-L6-v2.*(loaded|loads on first use)|loading)/);
  const j = JSON.parse((await cli(['status', '--json'])).stdout);
  assert.equal(j.pid, svc.pid);
  assert.equal(j.in_process, false);
  assert.ok(j.capability['system/embedder']);
});

test('status | head -1: a reader that goes away ends the command quietly', async () => {
  const r = await cli(['status'], { closeStdoutAfter: 1 });
  assert.ok(r.code === 141 || r.code === 0, `exit ${r.code}`);
  assert.doesNotMatch(r.stderr, /EPIPE|Error/);
});

test('providers: the variables the service was started with, never a secret; drift from this shell is named', async () => {
  const r = await cli(['providers'], { env: { OPENAI_API_KEY: 'sk-shell-only-9f8e7d6c5b4a' } });
  ok(r, 'providers');
  // OPENAI_BASE_URL alone: the model is the one the local server lists (learned at start-up), never a hosted one's name.
  assert.match(r.stdout, /openai\/(loopback-model|\(from the server, on first use\))\s+ok/);
  assert.doesNotMatch(r.stdout, /gpt-4o-mini/);
  assert.match(r.stdout, new RegExp(`started with these variables:\\n(.*\\n)*  OPENAI_BASE_URL=${llm.url.replace(/[.]/g, '\\.')}`));
  assert.match(r.stdout, /note: OPENAI_API_KEY is set in this shell but the running service was started without it/);
  assert.doesNotMatch(r.stdout, /sk-shell-only/);
  const j = JSON.parse((await cli(['providers', '--json'])).stdout);
  assert.equal(j.service_env.OPENAI_BASE_URL, llm.url);
});

test('chat: one-shot answers on stdout, from stdin too; --json; failed turns leave no trace in the session', async () => {
  let r = await cli(['chat', 'hello', 'there']);
  ok(r, 'chat');
  assert.equal(r.stdout, 'echo: hello there\n');
  r = await cli(['chat'], { stdin: 'piped words\n' });
  ok(r, 'chat from stdin');
  assert.equal(r.stdout, 'echo: piped words\n');
  r = await cli(['chat', '--session', 's2', '--json', 'json please']);
  ok(r, 'chat --json');
  assert.equal(JSON.parse(r.stdout).text, 'echo: json please');

  // A turn the provider refuses fails the command and is taken out of the session again.
  llm.script.push({ kind: 'status', status: 400, message: 'bad request from the test' });
  r = await cli(['chat', '--session', 'fails', 'first']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /bad request from the test|bad_request/);
  const before = llm.requests.length;
  r = await cli(['chat', '--session', 'fails', 'second']);
  ok(r, 'chat after a failed turn');
  const sent = (llm.requests[before].body as { messages: Array<{ role: string; content: string }> }).messages.filter((m) => m.role === 'user');
  assert.deepEqual(sent.map((m) => m.content), ['second'], 'the failed turn is not replayed');
});

test('usage: a local server is not billed at hosted list prices', async () => {
  const r = await cli(['usage']);
  ok(r, 'usage');
  assert.match(r.stdout, /^provider\s+model\s+agent\s+purpose\s+requests/);
  const j = JSON.parse((await cli(['usage', '--json'])).stdout);
  assert.ok(j.total.requests >= 3);
  assert.equal(j.total.cost_usd, 0);
  assert.ok(j.rows.length > 0 && j.rows.every((row: { key: { model?: string } }) => row.key.model === 'loopback-model'), JSON.stringify(j.rows));
  assert.ok(llm.requests.every((q) => (q.body as { model?: string }).model === 'loopback-model'), 'every chat asked for the served model');
  const p = await cli(['providers']);
  assert.match(p.stdout, /openai\/loopback-model\s+ok/);
});

test('safety: check-url, stats, rules against the service', async () => {
  let r = await cli(['safety', 'check-url', 'http://127.0.0.1:9/admin']);
  assert.notEqual(r.code, null);
  assert.match(r.stdout + r.stderr, /block|loopback|private|denied/i);
  r = await cli(['safety', 'stats']);
  ok(r, 'safety stats');
  r = await cli(['safety', 'rules']);
  ok(r, 'safety rules');
  assert.match(r.stdout, /github/i);
});

test('safety scan FILE and - against the running service (issue 16, finding 2)', async (t) => {
  const f = path.join(w.elsewhere, 'leak.txt');
  writeFileSync(f, 'my token is ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 ok\n');
  const a = await cli(['safety', 'scan', f, '--json']);
  const b = await cli(['safety', 'scan', '-', '--json'], { stdin: readFileSync(f, 'utf8') });
  const works = [a, b].every((r) => /github/i.test(r.stdout) && !/invalid_message/.test(r.stderr));
  if (!works) t.todo('issue 16: safety scan through the endpoint');
  else for (const r of [a, b]) assert.match(r.stdout, /github/i);
});

test('memory add/search/stats/reindex/delete against the running service; paths only under the memory roots', async () => {
  // Outside the roots (the agents' workspaces by default): refused, naming the roots.
  const outside = path.join(w.elsewhere, 'notes.md');
  writeFileSync(outside, '# Garden\n\nThe tomatoes grow next to the basil in the greenhouse.\n');
  const refused = await cli(['memory', 'add', outside]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /path_outside_roots: .*notes\.md is outside the folders memory may read: .*workspaces/);
  // Inside the default agent's workspace: indexed.
  const ws = path.join(w.home, '.rustyclaw', 'workspaces', 'default');
  mkdirSync(ws, { recursive: true });
  const doc = path.join(ws, 'notes.md');
  writeFileSync(doc, '# Garden\n\nThe tomatoes grow next to the basil in the greenhouse.\n');
  ok(await cli(['memory', 'add', doc]), 'memory add PATH');
  ok(await cli(['memory', 'add', '-', '--id', 'note-1'], { stdin: 'Bicycles need oiled chains.\n' }), 'memory add -');
  ok(await cli(['memory', 'reindex']), 'memory reindex');
  const s = await cli(['memory', 'search', 'tomatoes', '--mode', 'bm25', '--json']);
  ok(s, 'memory search');
  assert.match(s.stdout, /tomatoes/);
  ok(await cli(['memory', 'stats']), 'memory stats');
  ok(await cli(['memory', 'delete', '--id', 'note-1']), 'memory delete');
});

test('routines and jobs: create, list (times with zone), run, job list/status/cancel, delete; missing ids fail', async () => {
  let r = await cli(['routine', 'create', 'nightly', '--cron', '0 3 * * *', '--tz', 'Europe/Berlin', '--kind', 'noop']);
  ok(r, 'routine create --cron');
  assert.match(r.stdout, /created routine nightly: cron 0 3 \* \* \* \(Europe\/Berlin\), next \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
  ok(await cli(['routine', 'create', 'byhand', '--manual', '--kind', 'noop']), 'routine create --manual');
  r = await cli(['routine', 'list']);
  ok(r, 'routine list');
  assert.match(r.stdout, /nightly\s+yes\s+cron .* \d\d:\d\d:\d\d UTC/);
  ok(await cli(['routine', 'disable', 'byhand']), 'routine disable');
  ok(await cli(['routine', 'enable', 'byhand']), 'routine enable');
  r = await cli(['routine', 'run', 'byhand']);
  ok(r, 'routine run');
  const id = /started job (\S+)/.exec(r.stdout)![1];
  r = await cli(['job', 'list']);
  ok(r, 'job list');
  assert.match(r.stdout, new RegExp(id));
  r = await cli(['job', 'status', id]);
  ok(r, 'job status');
  assert.match(r.stdout, /created\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
  r = await cli(['job', 'cancel', id]);
  ok(r, 'job cancel');
  r = await cli(['routine', 'delete', 'nightly']);
  ok(r, 'routine delete');
  assert.equal(r.stdout, 'deleted nightly\n');

  r = await cli(['routine', 'delete', 'nightly']);
  assert.equal(r.code, 1, 'deleting a missing routine fails');
  assert.match(r.stderr, /no routine nightly/);
  r = await cli(['routine', 'run', 'nope']);
  assert.equal(r.code, 1);
  r = await cli(['job', 'status', 'nope']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not_found/);
});

test('job watch follows jobs as they start and finish, until Ctrl-C', async () => {
  ok(await cli(['routine', 'create', 'watched', '--manual', '--kind', 'noop']), 'create');
  const child = spawn(process.execPath, [CLI, 'job', 'watch'], { cwd: w.elsewhere, env: w.env, stdio: 'pipe' }) as ChildProcessWithoutNullStreams;
  const done = collect(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const t0 = Date.now();
  while (!err.includes('watching') && Date.now() - t0 < 60_000) await new Promise((res) => setTimeout(res, 50));
  const run = await cli(['routine', 'run', 'watched']);
  const id = /started job (\S+)/.exec(run.stdout)![1];
  while (!new RegExp(`job ${id} completed`).test(out) && Date.now() - t0 < 60_000) await new Promise((res) => setTimeout(res, 50));
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`\\d\\d:\\d\\d:\\d\\d UTC  job ${id} started`));
  assert.match(r.stdout, new RegExp(`job ${id} completed \\[\\w+; routine watched`));
});

test('the example client runs as documented (node dist/examples/client.js) from another directory', async () => {
  const example = fileURLToPath(new URL('../../examples/client.js', import.meta.url));
  const child = spawn(process.execPath, [example], { cwd: w.elsewhere, env: w.env, stdio: 'pipe' }) as ChildProcessWithoutNullStreams;
  const r = await collect(child, { stdin: 'open' });
  ok(r, 'example');
  assert.match(r.stdout, new RegExp(`^connected to pid ${svc.pid}: \\d+ actors`));
});

test("another project installs the client from a path and imports 'rustyclaw/client'", async () => {
  const proj = path.join(w.elsewhere, 'other-project');
  mkdirSync(path.join(proj, 'node_modules'), { recursive: true });
  writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'other', type: 'module', private: true }));
  // What `npm install /path/to/rustyclaw` leaves: a link to the checkout under node_modules.
  symlinkSync(CHECKOUT, path.join(proj, 'node_modules', 'rustyclaw'), 'dir');
  writeFileSync(
    path.join(proj, 'main.js'),
    "import { connect } from 'rustyclaw/client';\nconst rc = await connect();\nconst s = await rc.ask('kernel', 'kernel.status');\nconsole.log('pid', s.pid);\nawait rc.close();\n",
  );
  const child = spawn(process.execPath, ['main.js'], { cwd: proj, env: w.env, stdio: 'pipe' }) as ChildProcessWithoutNullStreams;
  const r = await collect(child, { stdin: 'open' });
  ok(r, 'client in another project');
  assert.equal(r.stdout, `pid ${svc.pid}\n`);
});

test('hostile input: a 2 MB message, binary bytes, one endless token — clear errors or answers, the service stays up', async () => {
  let r = await cli(['chat'], { stdin: 'x'.repeat(2 * 1024 * 1024) });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /larger than the service accepts \(endpoint\.max_payload_bytes/);
  assert.ok(noCrash(r.stderr), r.stderr);
  r = await cli(['chat', '--session', 'bin'], { stdin: Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 65]).toString('latin1') });
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  assert.ok(noCrash(r.stderr), r.stderr);
  r = await cli(['chat', '--session', 'long', 'y'.repeat(100_000)]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  assert.ok(noCrash(r.stderr), r.stderr);
  ok(await cli(['status']), 'status after hostile input');
});

test('a paused service: commands end at their deadline naming what they waited for; the service carries on', async () => {
  process.kill(svc.pid, 'SIGSTOP');
  let r;
  try {
    r = await cli(['--timeout', '3s', 'status'], { killAfterMs: 60_000 });
  } finally {
    process.kill(svc.pid, 'SIGCONT');
  }
  assert.equal(r.code, 124);
  assert.match(r.stderr, /status timed out after 3 s waiting for (the service at ws:.* to accept the connection|the reply to kernel\.status)/);
  ok(await cli(['status']), 'status after SIGCONT');
});

test('a second start on the same data dir is refused; the first carries on', async () => {
  const r = await runCli(w, ['start'], { cwd: w.project });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already runs on data dir/);
  ok(await cli(['status']), 'status');
});

test('stop from another directory ends the service; afterwards commands say no service runs', async () => {
  const r = await cli(['stop']);
  ok(r, 'stop');
  assert.equal(r.stdout, `stopped (pid ${svc.pid})\n`);
  assert.equal(await svc.exited, 0);
  const s = await cli(['status']);
  assert.equal(s.code, 1);
  assert.match(s.stderr, /no running RustyClaw service/);
});

test('the endpoint port in use: start fails naming the address and the option, never prints ready', async () => {
  const blocker = net.createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const w2 = makeWorld();
    writeFileSync(w2.config, readFileSync(w2.config, 'utf8').replace('endpoint:\n  port: 0', `endpoint:\n  port: ${port}`));
    const r = await runCli(w2, ['start'], { cwd: w2.project, env: { RUSTYCLAW_LOG_LEVEL: 'fatal' } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /ready/);
    assert.match(r.stderr, new RegExp(`cannot open the endpoint on 127\\.0\\.0\\.1:${port} \\(port in use: set endpoint\\.port`));
  } finally {
    blocker.close();
  }
});

test('a service on a named data dir is found from anywhere; killed with -9, its stale run file is not taken for a service; start --placement --port', async () => {
  const w3 = makeWorld();
  // Only the kernel: this is about discovery and the run file, not the subsystems.
  writeFileSync(w3.config, 'endpoint:\n  port: 0\nkernel:\n  system_actors: []\n  actors:\n    agent:\n      enabled: false\n');
  const dataDir = path.join(w3.project, 'state');
  const s1 = await startService(w3, ['-d', dataDir]);
  let r = await runCli(w3, ['status', '--json'], { stdin: 'open' });
  ok(r, 'status without -d finds the service started with -d');
  assert.equal(JSON.parse(r.stdout).pid, s1.pid);
  s1.child.kill('SIGKILL');
  await s1.exited;
  r = await runCli(w3, ['-d', dataDir, 'status'], { stdin: 'open' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no running RustyClaw service/);
  r = await runCli(w3, ['status'], { stdin: 'open' });
  assert.equal(r.code, 1, 'the stale pointer is not a service either');
  const s2 = await startService(w3, ['-d', dataDir], {}, 180_000, ['--placement', 'shared', '--port', '0']);
  assert.match(s2.ready, /\(shared\), endpoint ws:\/\/127\.0\.0\.1:\d+, gateway http:\/\/127\.0\.0\.1:\d+, data .*\/project\/state, pid/);
  ok(await runCli(w3, ['-d', dataDir, 'status'], { stdin: 'open' }), 'status of the new service');
  ok(await runCli(w3, ['stop'], { stdin: 'open' }), 'stop without -d');
  assert.equal(await s2.exited, 0);
});
