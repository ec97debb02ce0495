/**
 * system/mcp through the real kernel (mcp and safety actors on their threads) against the real
 * reference server from npm (server-everything over stdio) and the hostile fixture: pagination,
 * structured output, argument checks, crash mid-call, hang, a frozen server, garbage, bad results,
 * output-schema violations, injection and secrets in output, notification floods, list_changed
 * while calls are in flight, cancellation, the env denylist and cwd, and a bad config entry.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startSystem, type ActorSystem } from '../../src/kernel/index.js';
import { tempDir } from '../kernel/helpers.js';
import { EVERYTHING, HOSTILE, alive, stdio, until } from './helpers.js';
import type { McpServerStatus } from '../../protocol/mcp.js';

let sys: ActorSystem;
let dir: string;
let stateFile: string;
let workDir: string;

before(async () => {
  dir = tempDir('rc-mcp-');
  stateFile = path.join(dir, 'hostile.log');
  writeFileSync(stateFile, '');
  workDir = realpathSync(tempDir('rc-mcp-cwd-'));
  const config = {
    data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false },
    kernel: { system_actors: ['safety', 'mcp'], liveness: { deadline_ms: 20_000 }, actors: { agent: { enabled: false } } },
    mcp: {
      ping_interval_ms: 300, ping_timeout_ms: 3_000, call_timeout_ms: 20_000, max_message_bytes: 2_000_000,
      reconnect: { initial_ms: 50, max_ms: 500 },
      servers: {
        every: stdio(EVERYTHING, ['stdio']),
        hostile: stdio(HOSTILE, ['--state', stateFile], { env: { NODE_OPTIONS: '--require /nonexistent.js', LD_PRELOAD: '/x.so', FOO_SETTING: 'bar' }, cwd: workDir }),
        frozen: stdio(HOSTILE, ['--garbage-start']),
        bad: { transport: 'stdio' },
        later: { ...stdio(HOSTILE), enabled: false },
        looping: stdio(HOSTILE, ['--crash-after-start']),
        paused: stdio(HOSTILE),
      },
    },
  };
  sys = await startSystem({ config });
  await sys.waitUp('system/mcp', 20_000);
  // Node child processes start slowly on a loaded machine (the 2026 probe spawns a sibling too).
  await until('the servers connected', async () => {
    const { servers } = await sys.ask<any>('system/mcp', 'mcp.list', {}, { timeoutMs: 60_000 });
    return ['every', 'hostile', 'frozen', 'paused'].every((n) => servers.find((x: McpServerStatus) => x.name === n)?.state === 'connected');
  }, 180_000);
});
after(() => sys?.stop());

const call = (server: string, tool: string, args: unknown = {}, extra: Record<string, unknown> = {}) =>
  sys.ask<any>('system/mcp', 'mcp.call', { server, tool, args, ...extra }, { timeoutMs: Number(extra.timeout_ms ?? 60_000) + 30_000 });
const status = async (name: string): Promise<McpServerStatus> => (await sys.ask<any>('system/mcp', 'mcp.list', {}, { timeoutMs: 60_000 })).servers.find((s: McpServerStatus) => s.name === name);

test('server-everything over stdio: connected with a protocol version, tools with qualified names, echo, structured output', async () => {
  const s = await status('every');
  assert.equal(s.state, 'connected', JSON.stringify(s));
  assert.match(s.protocol_version!, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(s.tools >= 5 && s.pid, JSON.stringify(s));
  const { tools } = await sys.ask<any>('system/mcp', 'mcp.tools', { name: 'every' }, { timeoutMs: 30_000 });
  const echo = tools.find((t: any) => t.name === 'echo');
  assert.equal(echo.qualified, 'every__echo');
  assert.equal(echo.inputSchema.type, 'object');
  const r = await call('every', 'echo', { message: 'hello mcp' });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.content, 'Echo: hello mcp');
  // Routed by the lookup table from the qualified name.
  const q = await sys.ask<any>('system/mcp', 'mcp.call', { tool: 'every__echo', args: { message: 'routed' } }, { timeoutMs: 30_000 });
  assert.equal(q.server, 'every');
  assert.equal(q.content, 'Echo: routed');
  const st = tools.find((t: any) => t.outputSchema);
  assert.ok(st, 'server-everything declares a tool with an outputSchema');
  const props = Object.keys((st.inputSchema.properties ?? {}) as object);
  const args = Object.fromEntries(props.map((k) => [k, (st.inputSchema.properties[k].enum?.[0]) ?? 'New York']));
  const sr = await call('every', st.name, args);
  assert.equal(sr.ok, true, JSON.stringify(sr));
  assert.ok(sr.structuredContent && typeof sr.structuredContent === 'object', JSON.stringify(sr));
});

test('arguments are checked against the tool schema before the call; unknown tools and servers are named', async () => {
  const r = await call('every', 'echo', { message: 42 });
  assert.equal(r.ok, false);
  assert.equal(r.code, 'invalid_arguments');
  assert.match(r.message, /every\/echo: \/message must be string/);
  const u = await call('every', 'no_such_tool');
  assert.equal(u.code, 'unknown_tool');
  assert.match(u.message, /every.*no_such_tool.*echo/);
  const s = await call('nope', 'echo');
  assert.equal(s.code, 'unknown_server');
  assert.match(s.message, /'nope'.*every/);
  const q = await sys.ask<any>('system/mcp', 'mcp.call', { tool: 'every_echo' }, { timeoutMs: 30_000 });
  assert.equal(q.code, 'unknown_tool');
});

test('pagination: every page of tools/list is read', async () => {
  const { tools } = await sys.ask<any>('system/mcp', 'mcp.tools', { name: 'hostile' }, { timeoutMs: 30_000 });
  const names = tools.map((t: any) => t.name);
  for (const n of ['echo', 'crash', 'structured', 'env', 'fail']) assert.ok(names.includes(n), names.join(','));
  assert.ok(names.length >= 15, `${names.length} tools over pages of 2`);
});

test('stdio env: the denylist drops NODE_OPTIONS and LD_PRELOAD, other variables and cwd pass', async () => {
  const r = await call('hostile', 'env');
  assert.equal(r.ok, true, JSON.stringify(r));
  const got = JSON.parse(r.content) as { keys: string[]; cwd: string };
  assert.ok(got.keys.includes('FOO_SETTING'));
  assert.ok(!got.keys.includes('NODE_OPTIONS') && !got.keys.includes('LD_PRELOAD'), got.keys.join(','));
  assert.equal(got.cwd, workDir);
});

test('a tool error, a result of the wrong shape and a violated output schema are typed failures', async () => {
  const f = await call('hostile', 'fail');
  assert.equal(f.code, 'tool_error');
  assert.match(f.content, /the thing failed/);
  const b = await call('hostile', 'bad_result');
  assert.equal(b.code, 'protocol_error');
  assert.match(b.message, /hostile\/bad_result/);
  const v = await call('hostile', 'structured');
  assert.equal(v.code, 'output_schema_violation', JSON.stringify(v));
  assert.match(v.message, /hostile\/structured/);
  const ok = await call('hostile', 'structured_ok');
  assert.equal(ok.ok, true);
  assert.deepEqual(ok.structuredContent, { n: 42 });
  assert.equal((await status('hostile')).state, 'connected');
});

test('injection and secrets in tool output: the secret is redacted, the injection never passes unflagged', async () => {
  const s = await call('hostile', 'secret');
  assert.equal(s.ok, true, JSON.stringify(s));
  assert.ok(!s.content.includes('AKIAQWERTYUIOPASDFGH'), s.content);
  assert.match(s.content, /REDACTED/);
  // An injection is either withheld here (a block verdict) or reaches the agent, which wraps every
  // tool result as untrusted content (checked through the running service in service.test.ts).
  const i = await call('hostile', 'inject');
  if (!i.ok) assert.equal(i.code, 'blocked_by_safety', JSON.stringify(i));
  else assert.match(i.content, /Weather: sunny/);
});

test('pipelined calls (their requests leave in shared writes): each answer is its own call\'s, secrets redacted in each', async () => {
  const n = 300;
  const tok = (i: number) => `AKIA${'QWERTYUIOPASDFGH'.slice(0, 12)}${String(i).padStart(4, '0').replace(/\d/g, (d) => 'ABCDEFGHJK'[Number(d)])}`;
  const rs = await Promise.all(Array.from({ length: n }, (_, i) => call('every', 'echo', { message: i % 10 === 0 ? `k${i} ${tok(i)}` : `m${i}` })));
  for (const [i, r] of rs.entries()) {
    assert.equal(r.ok, true, JSON.stringify(r));
    if (i % 10 === 0) {
      assert.match(r.content, new RegExp(`^Echo: k${i} \\[REDACTED:`), r.content);
      assert.ok(!r.content.includes(tok(i)), r.content);
    } else assert.equal(r.content, `Echo: m${i}`);
  }
  const st = await status('every');
  assert.equal(st.state, 'connected');
  assert.ok(st.connect_phases && st.connect_phases.handshake_ms > 0, JSON.stringify(st));
});

test('garbage on stdout: the call times out, the server stays connected and serving', async () => {
  const g = await call('hostile', 'garbage', {}, { timeout_ms: 800 });
  assert.equal(g.code, 'timeout');
  assert.match(g.message, /hostile\/garbage: no answer within 800 ms/);
  const e = await call('hostile', 'echo', { text: 'still here' });
  assert.equal(e.content, 'still here');
  // A server that prints a banner before speaking JSON-RPC still connects.
  assert.equal((await status('frozen')).state, 'connected');
});

test('a notification flood is absorbed: the call answers, the actor keeps serving', async () => {
  const t0 = Date.now();
  const r = await call('hostile', 'flood', { count: 10000 }, { timeout_ms: 120_000 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.content, 'flooded 10000');
  const e = await call('every', 'echo', { message: 'after flood' });
  assert.equal(e.ok, true);
  assert.ok(Date.now() - t0 < 150_000);
});

test('list_changed while a call is in flight: the new tool appears, the call completes', async () => {
  const slow = call('hostile', 'slow', { ms: 1500 });
  const add = await call('hostile', 'add_tool', { name: 'extra_tool' });
  assert.equal(add.ok, true);
  await until('the new tool in the list', async () => (await sys.ask<any>('system/mcp', 'mcp.tools', { name: 'hostile' })).tools.some((t: any) => t.qualified === 'hostile__extra_tool'), 10_000);
  const x = await sys.ask<any>('system/mcp', 'mcp.call', { tool: 'hostile__extra_tool' }, { timeoutMs: 30_000 });
  assert.equal(x.content, 'extra_tool ok');
  assert.equal((await slow).content, 'slow done');
});

test('cancellation reaches the server; progress is published', async () => {
  const progress: any[] = [];
  const off = sys.subscribe('mcp/progress', (p: any) => progress.push(p));
  const pending = call('hostile', 'slow', { ms: 30_000 }, { call_id: 'c-1' });
  await until('progress events', () => progress.some((p) => p.call_id === 'c-1'), 10_000);
  const c = await sys.ask<any>('system/mcp', 'mcp.cancel', { call_id: 'c-1' });
  assert.equal(c.cancelled, true);
  const r = await pending;
  assert.equal(r.code, 'cancelled');
  await until('the server saw notifications/cancelled', () => /cancelled /.test(readFileSync(stateFile, 'utf8')), 10_000);
  off();
});

test('crash mid-call: in-flight calls fail as server_crashed, tools unavailable, then back and serving', async () => {
  const before = await status('hostile');
  const inflight = call('hostile', 'slow', { ms: 20_000 });
  await new Promise((r) => setTimeout(r, 100));
  const r = await call('hostile', 'crash');
  assert.equal(r.code, 'server_crashed', JSON.stringify(r));
  assert.match(r.message, /hostile\/crash/);
  const other = await inflight;
  assert.equal(other.code, 'server_crashed');
  await until('hostile back', async () => (await status('hostile')).state === 'connected', 20_000);
  const after = await status('hostile');
  assert.equal(after.restarts, before.restarts + 1);
  assert.notEqual(after.pid, before.pid);
  assert.ok(!alive(before.pid!), 'the old child is gone');
  assert.equal((await call('hostile', 'echo', { text: 'back' })).content, 'back');
});

test('kill -9 of a stdio server: restarted; while down its tools are not offered', async () => {
  const s = await status('every');
  const events: any[] = [];
  const off = sys.subscribe('mcp/events', (e: any) => events.push(e));
  process.kill(s.pid!, 'SIGKILL');
  await until('the disconnect event', () => events.some((e) => e.server === 'every' && e.event === 'disconnected'), 10_000);
  const during = await sys.ask<any>('system/mcp', 'mcp.tools', { available_only: true });
  if ((await status('every')).state !== 'connected') assert.ok(!during.tools.some((t: any) => t.server === 'every'));
  await until('every back', async () => (await status('every')).state === 'connected', 30_000);
  assert.equal((await call('every', 'echo', { message: 'x' })).ok, true);
  off();
});

test('a restarted server is offered its previous tools at once, then its re-read list (a tool it lost is dropped)', async () => {
  assert.equal((await call('hostile', 'add_tool', { name: 'lost_on_restart' })).ok, true);
  const listed = async () => (await sys.ask<any>('system/mcp', 'mcp.tools', { name: 'hostile', available_only: true })).tools.map((t: any) => t.qualified);
  await until('the added tool listed', async () => (await listed()).includes('hostile__lost_on_restart'), 10_000);
  const s = await status('hostile');
  const events: any[] = [];
  const off = sys.subscribe('mcp/events', (e: any) => { if (e.server === 'hostile') events.push(e); });
  process.kill(s.pid!, 'SIGKILL');
  // One status read: two could see the old connection still up, then the new one without a pid yet.
  await until('hostile back', async () => {
    const n = await status('hostile');
    return n.state === 'connected' && n.pid !== undefined && n.pid !== s.pid;
  }, 30_000);
  assert.equal((await call('hostile', 'echo', { text: 'back' })).content, 'back');
  // The new process never had the added tool: the re-read list drops it and says so.
  await until('the lost tool dropped', async () => !(await listed()).includes('hostile__lost_on_restart'), 10_000);
  await until('tools_changed after connected', () => {
    const up = events.findIndex((e) => e.event === 'connected');
    return up >= 0 && events.slice(up).some((e) => e.event === 'tools_changed');
  }, 10_000);
  const x = await sys.ask<any>('system/mcp', 'mcp.call', { tool: 'hostile__lost_on_restart' }, { timeoutMs: 30_000 });
  assert.equal(x.ok, false);
  assert.equal(x.code, 'unknown_tool', JSON.stringify(x));
  off();
});

test('a frozen server (event loop blocked) is detected by ping and restarted', async () => {
  const s = await status('frozen');
  const r = await call('frozen', 'freeze', {}, { timeout_ms: 500 });
  assert.ok(r.code === 'timeout' || r.code === 'server_crashed', JSON.stringify(r));
  await until('frozen restarted', async () => {
    const n = await status('frozen');
    return n.state === 'connected' && n.restarts > s.restarts;
  }, 30_000);
  assert.ok(!alive(s.pid!), 'the hung child was killed');
  assert.equal((await call('frozen', 'echo', { text: 'thawed' })).content, 'thawed');
});

test('a malformed entry fails alone with an error naming the field; disabled servers connect on demand, disconnect kills the child', async () => {
  const bad = await status('bad');
  assert.equal(bad.state, 'disconnected');
  assert.match(bad.last_error!, /mcp\.servers\.bad\.command: required for transport stdio/);
  const r = await call('bad', 'x');
  assert.equal(r.code, 'server_unavailable');
  assert.match(r.message, /'bad'.*mcp\.servers\.bad\.command/);
  const later = await status('later');
  assert.equal(later.state, 'disabled');
  const up = await sys.ask<any>('system/mcp', 'mcp.connect', { name: 'later' }, { timeoutMs: 30_000 });
  assert.equal(up.server.state, 'connected');
  const pid = up.server.pid;
  const down = await sys.ask<any>('system/mcp', 'mcp.disconnect', { name: 'later' }, { timeoutMs: 30_000 });
  assert.equal(down.server.state, 'disconnected');
  await until('the child killed with its connection', () => !alive(pid), 10_000);
  const gone = await call('later', 'echo', { text: 'x' });
  assert.equal(gone.code, 'server_unavailable');
});

test('resources and prompts of server-everything are listed and readable (text through the safety layer)', async () => {
  const { resources } = await sys.ask<any>('system/mcp', 'mcp.resources', { name: 'every' }, { timeoutMs: 30_000 });
  assert.ok(resources.length > 0);
  const textual = resources.find((r: any) => /text|json|markdown/.test(r.mimeType ?? '')) ?? resources[0];
  const { contents } = await sys.ask<any>('system/mcp', 'mcp.read_resource', { name: 'every', uri: textual.uri }, { timeoutMs: 30_000 });
  assert.equal(contents[0].uri, textual.uri);
  assert.ok(typeof contents[0].text === 'string' || typeof contents[0].blob_bytes === 'number');
  const { prompts } = await sys.ask<any>('system/mcp', 'mcp.prompts', { name: 'every' }, { timeoutMs: 30_000 });
  const simple = prompts.find((p: any) => p.arguments.every((a: any) => !a.required));
  assert.ok(simple, prompts.map((p: any) => p.name).join(','));
  const { messages } = await sys.ask<any>('system/mcp', 'mcp.get_prompt', { name: 'every', prompt: simple.name }, { timeoutMs: 30_000 });
  assert.ok(messages.length > 0 && typeof messages[0].text === 'string');
  await assert.rejects(sys.ask<any>('system/mcp', 'mcp.resources', { name: 'nope' }), (e: any) => e.code === 'unknown_server');
});

test('a server that crashes right after every start is restarted with growing backoff, alone', async () => {
  await until('a few restarts', async () => (await status('looping')).restarts >= 2, 120_000); // each is a node start: seconds under load
  const a = (await status('looping')).restarts;
  await new Promise((r) => setTimeout(r, 2_000));
  const b = (await status('looping')).restarts;
  // reconnect.max_ms is 500 here: at most ~4 restarts per 2 s, never a tight loop.
  assert.ok(b - a <= 6, `${b - a} restarts in 2 s`);
  assert.match((await status('looping')).last_error!, /^mcp looping: /);
  assert.equal((await call('every', 'echo', { message: 'unaffected' })).ok, true);
});

test('a paused server (SIGSTOP) is found by ping, killed and replaced', async () => {
  const s = await status('paused');
  assert.equal(s.state, 'connected');
  process.kill(s.pid!, 'SIGSTOP');
  await until('paused replaced', async () => {
    const n = await status('paused');
    return n.state === 'connected' && n.pid !== s.pid;
  }, 30_000);
  await until('the stopped child gone', () => !alive(s.pid!), 10_000);
  assert.equal((await call('paused', 'echo', { text: 'awake' })).content, 'awake');
});

test('one message larger than max_message_bytes fails that call and restarts the connection, nothing else', async () => {
  const r = await call('hostile', 'huge', { mb: 3 });
  assert.equal(r.ok, false);
  assert.ok(r.code === 'server_crashed' || r.code === 'protocol_error', JSON.stringify(r).slice(0, 300));
  assert.match(r.message, /hostile\/huge/);
  await until('hostile back', async () => (await status('hostile')).state === 'connected', 30_000);
  assert.equal((await call('hostile', 'echo', { text: 'ok' })).content, 'ok');
  const small = await call('hostile', 'huge', { mb: 0.5 });
  assert.equal(small.ok, true);
  assert.equal(small.content.length, 512 * 1024);
});
