/**
 * Black-box: `rustyclaw start` with MCP servers configured — the real reference servers from npm
 * over stdio (server-everything, server-filesystem) and server-everything over Streamable HTTP on
 * a free loopback port, plus the hostile fixture — then `rustyclaw mcp …` run from another
 * directory: list, tools, call (exact --json shapes, exit codes), a crash mid-call, kill -9 of a
 * server, disconnect/connect, an agent turn calling `<server>__<tool>`, `mcp serve` driven by the
 * SDK's own client, registry search/add against a loopback registry, and bad configs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { startLlmServer, type LlmServer, type RecordedRequest } from '../support/llm-servers.js';
import { CLI, makeWorld, noCrash, runCli, startService, type RunningService, type World } from '../acceptance/helpers.js';
import { loadConfig } from '../../src/config/load.js';
import type { McpConfig } from '../../protocol/mcp.js';
import { EVERYTHING, FILESYSTEM, HOSTILE, NODE, alive, freePort, until } from './helpers.js';

let llm: LlmServer;
let w: World;
let svc: RunningService;
let httpServer: ChildProcess;
let files: string;

/** The model calls every__echo when asked to, then answers with what the tool said. */
function model(req: RecordedRequest) {
  const msgs = req.body.messages as Array<{ role: string; content: string }>;
  const last = msgs[msgs.length - 1];
  if (last.role === 'tool') return { kind: 'reply' as const, reply: { text: `tool said: ${last.content}` } };
  if (/inject/.test(last.content)) return { kind: 'reply' as const, reply: { text: '', tool_calls: [{ name: 'hostile__inject', arguments: '{}' }] } };
  if (/use mcp/.test(last.content)) return { kind: 'reply' as const, reply: { text: '', tool_calls: [{ name: 'every__echo', arguments: JSON.stringify({ message: 'from the agent' }) }] } };
  return { kind: 'reply' as const, reply: { text: `echo: ${last.content}` } };
}

const yamlStr = (s: string) => JSON.stringify(s);

before(async () => {
  llm = await startLlmServer('openai', { fallback: model });
  const port = await freePort();
  httpServer = spawn(NODE, [EVERYTHING, 'streamableHttp'], { env: { PATH: process.env.PATH, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let started = '';
  httpServer.stderr!.on('data', (d) => (started += d));
  await until('server-everything listening over HTTP', () => /listening on port/.test(started), 30_000);
  w = makeWorld('', { OPENAI_BASE_URL: llm.url });
  files = path.join(w.project, 'files');
  mkdirSync(files);
  writeFileSync(path.join(files, 'hello.txt'), 'hello from the filesystem server\n');
  const yaml = `mcp:
  ping_interval_ms: 2000
  reconnect: {initial_ms: 50, max_ms: 1000}
  servers:
    every: {transport: stdio, command: ${yamlStr(NODE)}, args: [${yamlStr(EVERYTHING)}, stdio]}
    fs: {transport: stdio, command: ${yamlStr(NODE)}, args: [${yamlStr(FILESYSTEM)}, ${yamlStr(files)}]}
    hostile: {transport: stdio, command: ${yamlStr(NODE)}, args: [${yamlStr(HOSTILE)}]}
    web: {transport: http, url: "http://127.0.0.1:${port}/mcp"}
`;
  writeFileSync(w.config, readFileSync(w.config, 'utf8') + yaml);
  svc = await startService(w);
});

after(async () => {
  if (svc && svc.child.exitCode === null) {
    await runCli(w, ['stop']).catch(() => undefined);
    await Promise.race([svc.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (svc.child.exitCode === null) svc.child.kill('SIGKILL');
  }
  httpServer?.kill('SIGKILL');
  await llm?.close();
});

const cli = (args: string[], o: Parameters<typeof runCli>[2] = {}) => runCli(w, args, { stdin: 'open', ...o });
const json = (s: string) => JSON.parse(s) as any;
async function servers(): Promise<any[]> {
  const r = await cli(['mcp', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return json(r.stdout).servers;
}

test('mcp list: every server connected, with transport, protocol version and tool count', async () => {
  await until('all connected', async () => (await servers()).every((s) => s.state === 'connected'), 60_000);
  const list = await servers();
  const by = Object.fromEntries(list.map((s) => [s.name, s]));
  assert.deepEqual(Object.keys(by).sort(), ['every', 'fs', 'hostile', 'web']);
  assert.equal(by.web.transport, 'streamable-http');
  assert.equal(by.every.transport, 'stdio');
  for (const s of list) {
    assert.match(s.protocol_version, /^\d{4}-\d{2}-\d{2}$/, JSON.stringify(s));
    assert.ok(s.tools > 0, JSON.stringify(s));
  }
  const text = await cli(['mcp', 'list']);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^name\s+transport\s+state\s+protocol\s+tools/m);
  assert.match(text.stdout, /^every\s+stdio\s+connected/m);
});

test('mcp tools NAME --json: {tools: [{name, description, inputSchema}]} with the server\'s own names', async () => {
  const r = await cli(['mcp', 'tools', 'every', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { tools } = json(r.stdout);
  const echo = tools.find((t: any) => t.name === 'echo');
  assert.ok(echo, r.stdout.slice(0, 300));
  for (const k of ['name', 'description', 'inputSchema']) assert.ok(k in echo);
  assert.equal(echo.inputSchema.type, 'object');
  const all = await cli(['mcp', 'tools']);
  assert.match(all.stdout, /every__echo\s+every\s+yes/);
  assert.match(all.stdout, /fs__read_text_file\s+fs\s+yes/);
});

test('mcp call --json over stdio and Streamable HTTP: {ok, content, ms}; the filesystem server reads a file', async () => {
  const r = await cli(['mcp', 'call', 'every', 'echo', '--args', '{"message":"hi there"}', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const o = json(r.stdout);
  assert.deepEqual(Object.keys(o).sort(), ['content', 'ms', 'ok']);
  assert.equal(o.ok, true);
  assert.equal(o.content, 'Echo: hi there');
  const h = json((await cli(['mcp', 'call', 'web', 'echo', '--args', '{"message":"over http"}', '--json'])).stdout);
  assert.equal(h.content, 'Echo: over http');
  const f = await cli(['mcp', 'call', 'fs', 'read_text_file', '--args', JSON.stringify({ path: path.join(files, 'hello.txt') })]);
  assert.equal(f.code, 0, f.stderr);
  assert.match(f.stdout, /hello from the filesystem server/);
  const outside = await cli(['mcp', 'call', 'fs', 'read_text_file', '--args', JSON.stringify({ path: '/etc/passwd' }), '--json']);
  assert.equal(outside.code, 1);
  assert.equal(json(outside.stdout).ok, false);
});

test('tool output through the running service: a secret comes back redacted, an injection flagged or withheld (one safety ask)', async () => {
  const s = await cli(['mcp', 'call', 'hostile', 'secret', '--json']);
  assert.equal(s.code, 0, s.stderr);
  const so = json(s.stdout);
  assert.equal(so.ok, true);
  assert.ok(!so.content.includes('AKIAQWERTYUIOPASDFGH'), so.content);
  assert.match(so.content, /\[REDACTED:aws_access_key:[0-9a-f]{8}\]/);
  const i = await cli(['mcp', 'call', 'hostile', 'inject', '--json']);
  const io = json(i.stdout);
  if (io.ok) assert.match(io.content, /Weather: sunny/);
  else {
    assert.equal(i.code, 1);
    assert.equal(io.code, 'blocked_by_safety', i.stdout);
    assert.match(io.message, /hostile\/inject/);
  }
  // Several CLI calls at once: each gets its own answer.
  const many = await Promise.all(Array.from({ length: 6 }, (_, k) => cli(['mcp', 'call', 'every', 'echo', '--args', JSON.stringify({ message: `burst ${k}` }), '--json'])));
  for (const [k, r] of many.entries()) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json(r.stdout).content, `Echo: burst ${k}`);
  }
  const l = json((await cli(['mcp', 'list', '--json'])).stdout);
  const every = l.servers.find((x: { name: string }) => x.name === 'every');
  assert.ok(every.connect_phases.handshake_ms > 0, JSON.stringify(every));
});

test('failed calls exit 1 with a code naming what was wrong and where', async () => {
  const bad = await cli(['mcp', 'call', 'every', 'echo', '--args', '{"message":5}', '--json']);
  assert.equal(bad.code, 1);
  const o = json(bad.stdout);
  assert.equal(o.ok, false);
  assert.equal(o.code, 'invalid_arguments');
  assert.match(o.message, /every\/echo/);
  assert.deepEqual(Object.keys(o).sort(), ['code', 'content', 'message', 'ms', 'ok']);
  const nojson = await cli(['mcp', 'call', 'every', 'echo', '--args', '{nope']);
  assert.equal(nojson.code, 1);
  assert.match(nojson.stderr, /--args: not valid JSON/);
  const srv = await cli(['mcp', 'call', 'nosuch', 'echo']);
  assert.equal(srv.code, 1);
  assert.match(srv.stderr, /unknown_server: no MCP server 'nosuch'/);
  const tool = await cli(['mcp', 'call', 'every', 'nosuch']);
  assert.equal(tool.code, 1);
  assert.match(tool.stderr, /unknown_tool: mcp server 'every' has no tool 'nosuch'/);
  const schema = await cli(['mcp', 'call', 'hostile', 'structured', '--json']);
  assert.equal(json(schema.stdout).code, 'output_schema_violation');
  assert.ok(noCrash(schema.stderr));
});

test('a server crashing mid-call: the call fails as server_crashed, the server is back and serving', async () => {
  const r = await cli(['mcp', 'call', 'hostile', 'crash', '--json']);
  assert.equal(r.code, 1);
  assert.equal(json(r.stdout).code, 'server_crashed');
  await until('hostile back', async () => (await servers()).find((s) => s.name === 'hostile').state === 'connected', 30_000);
  const s = (await servers()).find((x) => x.name === 'hostile');
  assert.ok(s.restarts >= 1);
  const e = await cli(['mcp', 'call', 'hostile', 'echo', '--args', '{"text":"back"}']);
  assert.equal(e.stdout, 'back\n');
});

test('kill -9 of a stdio server: restarted, a new pid; disconnect stops it, connect brings it back', async () => {
  const before = (await servers()).find((s) => s.name === 'every');
  process.kill(before.pid, 'SIGKILL');
  await until('every restarted', async () => {
    const s = (await servers()).find((x) => x.name === 'every');
    return s.state === 'connected' && s.pid !== before.pid;
  }, 30_000);
  const d = await cli(['mcp', 'disconnect', 'every', '--json']);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(json(d.stdout).state, 'disconnected');
  const pid = (await servers()).find((x) => x.name === 'every').pid;
  assert.equal(pid, undefined);
  const down = await cli(['mcp', 'call', 'every', 'echo', '--args', '{"message":"x"}', '--json']);
  assert.equal(json(down.stdout).code, 'server_unavailable');
  const c = await cli(['mcp', 'connect', 'every']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /every: connected \(protocol \d{4}-\d{2}-\d{2}, \d+ tools\)/);
  const unknown = await cli(['mcp', 'connect', 'nosuch']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown_server: no MCP server 'nosuch' \(configured: every, fs, hostile, web\)/);
});

test('an agent turn calls an MCP tool by its qualified name; the tool event streams', async () => {
  const r = await cli(['chat', 'please use mcp to echo']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /tool said: .*Echo: from the agent/s);
  assert.match(r.stdout + r.stderr, /every__echo/);
  const offered = llm.requests.flatMap((q) => ((q.body.tools ?? []) as Array<{ function: { name: string } }>).map((t) => t.function.name));
  assert.ok(offered.includes('every__echo') && offered.includes('fs__read_text_file'), [...new Set(offered)].join(','));
  // An injection in a tool's output reaches the model only marked as untrusted content (or withheld).
  const before = llm.requests.length;
  const inj = await cli(['chat', 'fetch the weather (inject)']);
  assert.equal(inj.code, 0, inj.stderr);
  const toolMsg = llm.requests.slice(before).flatMap((q) => q.body.messages as Array<{ role: string; content: string }>).find((m) => m.role === 'tool');
  assert.ok(toolMsg, 'the tool result went back to the model');
  assert.match(toolMsg.content, /untrusted_content|withheld/);
});

test('mcp serve: the SDK client lists ask_<agent> and memory_search and asks the agent', async () => {
  const transport = new StdioClientTransport({ command: NODE, args: [CLI, 'mcp', 'serve'], cwd: w.elsewhere, env: w.env as Record<string, string>, stderr: 'pipe' });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d));
  const client = new Client({ name: 'test-host', version: '1.0.0' });
  await client.connect(transport, { timeout: 60_000 });
  try {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    assert.ok(names.includes('ask_default') && names.includes('memory_search'), names.join(','));
    const r = await client.callTool({ name: 'ask_default', arguments: { message: 'hello from an MCP host' } }, { timeout: 120_000 });
    assert.equal(r.isError, undefined, JSON.stringify(r));
    assert.match((r.content as Array<{ text: string }>)[0].text, /echo: hello from an MCP host/);
    const bad = await client.callTool({ name: 'ask_default', arguments: {} }).catch((e: Error) => ({ isError: true, content: [{ type: 'text', text: e.message }] }));
    assert.equal(bad.isError, true);
  } finally {
    await client.close();
  }
  assert.ok(noCrash(err), err);
});

test('a server speaking only the older HTTP+SSE transport: the connection falls back to it', async () => {
  const port = await freePort();
  const sse = spawn(NODE, [EVERYTHING, 'sse'], { env: { PATH: process.env.PATH, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  sse.stderr!.on('data', (d) => (out += d));
  try {
    await until('server-everything listening with SSE', () => /running on port/.test(out), 30_000);
    const x = makeWorld(`mcp:\n  servers:\n    old: {transport: http, url: "http://127.0.0.1:${port}/sse"}\n`);
    const r = await runCli(x, ['--in-process', 'mcp', 'call', 'old', 'echo', '--args', '{"message":"via sse"}', '--json'], { cwd: x.project });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json(r.stdout).content, 'Echo: via sse');
    const l = await runCli(x, ['--in-process', 'mcp', 'list', '--json'], { cwd: x.project });
    assert.equal(json(l.stdout).servers[0].transport, 'sse');
  } finally {
    sse.kill('SIGKILL');
  }
});

test('the service stayed up through all of it', async () => {
  const r = await cli(['status']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /system\/mcp/);
  assert.ok(alive(svc.pid));
});

// --- registry and configs, without the service above -------------------------------------

interface Entry { server: Record<string, unknown>; _meta: Record<string, unknown> }
function registryEntry(name: string, description: string, status: string, packages: unknown[], remotes: unknown[] = []): Entry {
  return { server: { name, description, version: '1.2.3', packages, remotes }, _meta: { 'io.modelcontextprotocol.registry/official': { status, isLatest: true, publishedAt: '2026-01-01T00:00:00Z' } } };
}

async function startRegistry(entries: Entry[]): Promise<{ url: string; close(): Promise<void>; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const u = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (u.pathname === '/v0.1/servers') {
      const q = (u.searchParams.get('search') ?? '').toLowerCase();
      const limit = Number(u.searchParams.get('limit') ?? 30);
      const start = Number(u.searchParams.get('cursor') ?? 0);
      const hits = entries.filter((e) => String(e.server.name).toLowerCase().includes(q) || String(e.server.description).toLowerCase().includes(q));
      const page = hits.slice(start, start + Math.min(limit, 2));
      return send(200, { servers: page, metadata: { count: page.length, ...(start + 2 < hits.length ? { nextCursor: String(start + 2) } : {}) } });
    }
    const m = /^\/v0\.1\/servers\/(.+)\/versions\/latest$/.exec(u.pathname);
    if (m) {
      const e = entries.find((x) => x.server.name === decodeURIComponent(m[1]));
      return e ? send(200, e) : send(404, { title: 'Not Found', status: 404, detail: 'Server not found' });
    }
    send(404, { title: 'Not Found', status: 404 });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

test('mcp search / add against a registry speaking /v0.1/servers; bad entries refused with a reason', async () => {
  const reg = await startRegistry([
    registryEntry('io.github.example/files', 'Read files', 'active', [{ registryType: 'npm', identifier: '@example/files-mcp', version: '1.2.3', transport: { type: 'stdio' } }]),
    registryEntry('io.github.example/files-old', 'Old files server', 'deprecated', [{ registryType: 'npm', identifier: 'old-files', transport: { type: 'stdio' } }]),
    registryEntry('io.github.example/files-hosted', 'Files, hosted', 'active', [], [{ type: 'streamable-http', url: 'https://files.example.com/mcp' }]),
    registryEntry('io.github.example/files-evil', 'Files with a bad command', 'active', [{ registryType: 'npm', identifier: '--foo; rm -rf /', transport: { type: 'stdio' } }]),
    registryEntry('io.github.example/files-py', 'Files in Python', 'active', [{ registryType: 'pypi', identifier: 'files-mcp', transport: { type: 'stdio' } }]),
  ]);
  try {
    const x = makeWorld('');
    const s = await runCli(x, ['-c', x.config, 'mcp', 'search', 'files', '--registry', reg.url, '--json']);
    assert.equal(s.code, 0, s.stderr);
    const names = json(s.stdout).servers.map((e: any) => e.name);
    assert.ok(names.includes('io.github.example/files') && names.includes('io.github.example/files-hosted'), names.join(','));
    assert.ok(!names.includes('io.github.example/files-old'), 'only active entries');
    assert.ok(reg.requests.some((r) => r.includes('version=latest') && r.includes('cursor=')), 'follows nextCursor');
    const add = await runCli(x, ['-c', x.config, 'mcp', 'add', 'io.github.example/files', '--registry', reg.url]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /added files .*npx -y @example\/files-mcp@1\.2\.3/);
    const cfg = readFileSync(x.config, 'utf8');
    assert.match(cfg, /files:\s*\n\s+transport: stdio\s*\n\s+command: npx/);
    const hosted = await runCli(x, ['-c', x.config, 'mcp', 'add', 'io.github.example/files-hosted', '--registry', reg.url]);
    assert.equal(hosted.code, 0, hosted.stderr);
    assert.match(readFileSync(x.config, 'utf8'), /url: https:\/\/files\.example\.com\/mcp/);
    const evil = await runCli(x, ['-c', x.config, 'mcp', 'add', 'io.github.example/files-evil', '--registry', reg.url]);
    assert.equal(evil.code, 1);
    assert.match(evil.stderr, /files-evil: bad npm package name/);
    const py = await runCli(x, ['-c', x.config, 'mcp', 'add', 'io.github.example/files-py', '--registry', reg.url]);
    assert.equal(py.code, 1);
    assert.match(py.stderr, /no npm stdio package and no remote.*pypi\/stdio/);
    const missing = await runCli(x, ['-c', x.config, 'mcp', 'add', 'io.github.example/nothing', '--registry', reg.url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no server 'io.github.example\/nothing'/);
    // The file still loads as a config (the entries are valid mcp.servers entries).
    const servers = (loadConfig({ file: x.config }).mcp as McpConfig).servers;
    assert.deepEqual(Object.keys(servers).sort(), ['files', 'files-hosted']);
    assert.deepEqual(servers.files, { transport: 'stdio', command: 'npx', args: ['-y', '@example/files-mcp@1.2.3'] });
    const rm = await runCli(x, ['-c', x.config, 'mcp', 'remove', 'files-hosted']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.ok(!readFileSync(x.config, 'utf8').includes('files-hosted'));
  } finally {
    await reg.close();
  }
});

test('a config naming an unknown transport is refused at start, naming the server; no servers means no mcp actor', async () => {
  const x = makeWorld('mcp:\n  servers:\n    pigeon: {transport: carrier, command: coo}\n');
  const r = await runCli(x, ['start'], { cwd: x.project });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /mcp\.servers\.pigeon\.transport/);
  assert.match(r.stderr, /stdio/);
  const none = makeWorld('');
  const l = await runCli(none, ['--in-process', 'mcp', 'list'], { cwd: none.project });
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /no MCP servers are configured/);
});
