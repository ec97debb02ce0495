/**
 * Black-box: a hosted MCP server behind OAuth (oauth-world.ts: the SDK's Streamable HTTP server
 * gated by its bearer auth, and a loopback authorization server), the real service started with
 * `rustyclaw start`, and `rustyclaw mcp login` run from another directory while a test "browser"
 * GETs the printed authorization URL and follows the redirect to the CLI's loopback listener.
 * Covered: needs-login before any login, discovery + registration + PKCE + resource, tokens
 * encrypted at rest (no token in clear in the data dir or the logs), silent refresh of an expired
 * token, tokens surviving a service restart, a revoked token (typed error naming the server and
 * `mcp login NAME`), a second login reusing the registration, a forged state, a busy redirect port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CLI, collect, makeWorld, noCrash, runCli, startService, type Run, type RunningService, type World } from '../acceptance/helpers.js';
import { freePort, until } from './helpers.js';
import { startOAuthWorld, type OAuthWorld } from './oauth-world.js';

let as: OAuthWorld;
let w: World;
let svc: RunningService;
let redirectPort: number;

before(async () => {
  as = await startOAuthWorld();
  redirectPort = await freePort();
  const nothing = await freePort();
  w = makeWorld(`mcp:
  oauth: {redirect_port: ${redirectPort}}
  servers:
    hosted: {transport: http, url: "${as.mcpUrl}", oauth: {}}
    unreachable: {transport: http, url: "http://127.0.0.1:${nothing}/mcp", oauth: {}}
    plain: {transport: http, url: "http://127.0.0.1:${nothing}/mcp", enabled: false}
`);
  svc = await startService(w);
});

after(async () => {
  if (svc && svc.child.exitCode === null) {
    await runCli(w, ['stop']).catch(() => undefined);
    await Promise.race([svc.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (svc.child.exitCode === null) svc.child.kill('SIGKILL');
  }
  await as?.close();
});

const cli = (args: string[]) => runCli(w, args, { stdin: 'open' });
const json = (s: string) => JSON.parse(s) as any;

/** `mcp login NAME` as a child; resolves with the authorization URL it printed, and its end. */
async function startLogin(name = 'hosted'): Promise<{ url: string; done: Promise<Run>; child: ChildProcessWithoutNullStreams }> {
  const child = spawn(process.execPath, [CLI, 'mcp', 'login', name, '--timeout-ms', '60000'], { cwd: w.elsewhere, env: w.env, stdio: 'pipe' }) as ChildProcessWithoutNullStreams;
  const done = collect(child, { killAfterMs: 90_000 });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  void done.then(() => (exited = true));
  await until('the authorization URL on stdout', () => exited || /https?:\/\/\S+\/authorize\?\S+/.test(out), 60_000);
  const m = /(https?:\/\/\S+\/authorize\?\S+)/.exec(out);
  if (!m) throw new Error(`mcp login printed no URL:\n${out}\n${(await done).stderr}`);
  return { url: m[1]!, done, child };
}

/** The test browser: GET the authorization URL, follow its redirect to the CLI's listener. */
async function browse(authorizationUrl: string, tamper?: (u: URL) => void): Promise<{ status: number; body: string; redirect: URL }> {
  const r1 = await fetch(authorizationUrl, { redirect: 'manual' });
  assert.equal(r1.status, 302, `the authorization endpoint redirects (got ${r1.status}: ${await r1.text()})`);
  const redirect = new URL(r1.headers.get('location')!);
  tamper?.(redirect);
  const r2 = await fetch(redirect);
  return { status: r2.status, body: await r2.text(), redirect };
}

async function login(): Promise<Run> {
  const { url, done } = await startLogin();
  const u = new URL(url);
  assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(u.searchParams.get('resource'), as.mcpUrl, 'RFC 8707 resource names the MCP server');
  assert.equal(u.searchParams.get('redirect_uri'), `http://127.0.0.1:${redirectPort}/callback`, 'the fixed loopback redirect');
  const b = await browse(url);
  assert.equal(b.status, 200, b.body);
  assert.match(b.body, /Logged in/);
  return done;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

test('before any login: needs_login, and a call fails auth_required naming the server and `mcp login NAME`', async () => {
  const l = await cli(['mcp', 'list', '--json']);
  assert.equal(l.code, 0, l.stderr);
  const s = json(l.stdout).servers.find((x: any) => x.name === 'hosted');
  assert.equal(s.state, 'needs_login');
  assert.match(s.last_error, /mcp login hosted/);
  const c = await cli(['mcp', 'call', 'hosted', 'whoami', '--json']);
  assert.equal(c.code, 1);
  const r = json(c.stdout);
  assert.equal(r.ok, false);
  assert.equal(r.code, 'auth_required');
  assert.match(r.message, /'hosted'.*rustyclaw mcp login hosted/);
});

test('mcp login: discovery, registration, PKCE, code exchange; then calls work', async () => {
  const r = await login();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`logged in to hosted \\(issuer ${as.issuer.replace(/[.]/g, '\\.')}\\/?\\): connected`));
  assert.ok(noCrash(r.stderr), r.stderr);
  assert.equal(as.clients.size, 1, 'one dynamic registration');
  assert.ok((as.counts['GET rs/.well-known/oauth-protected-resource/mcp'] ?? 0) >= 1, 'RFC 9728 metadata was read');
  const c = await cli(['mcp', 'call', 'hosted', 'whoami', '--json']);
  assert.equal(c.code, 0, c.stdout + c.stderr);
  assert.match(json(c.stdout).content, /^hello client-1-/);
});

test('tokens are encrypted at rest and never logged; the key file is 0600', () => {
  const data = path.join(w.home, '.rustyclaw');
  const files = filesUnder(data);
  assert.ok(files.some((f) => f.includes(path.join('mcp', 'oauth'))), `an lmdb store under ${data}/mcp/oauth`);
  const secrets = [...as.accessTokens, ...as.refreshTokens];
  assert.ok(secrets.length >= 2);
  for (const f of files) {
    const bytes = readFileSync(f);
    for (const s of secrets) assert.ok(!bytes.includes(Buffer.from(s)), `${f} holds a token in clear`);
  }
  for (const s of secrets) assert.ok(!svc.stderr().includes(s), 'a token in the service log');
  const key = path.join(data, 'keys', 'mcp-oauth.key');
  assert.equal(statSync(key).mode & 0o777, 0o600);
});

test('an expired access token is refreshed silently (no login, no new registration)', async () => {
  const tokenCalls = as.counts['POST /token'] ?? 0;
  as.expireAccessTokens();
  const c = await cli(['mcp', 'call', 'hosted', 'whoami', '--json']);
  assert.equal(c.code, 0, c.stdout + c.stderr);
  assert.match(json(c.stdout).content, /^hello client-1-/);
  assert.ok((as.counts['POST /token'] ?? 0) > tokenCalls, 'the refresh grant was used');
  assert.equal(as.clients.size, 1);
});

test('the stored login survives a service restart', async () => {
  const s = await cli(['stop']);
  assert.equal(s.code, 0, s.stderr);
  await svc.exited;
  svc = await startService(w);
  await until('hosted connected again', async () => {
    const l = await cli(['mcp', 'list', '--json']);
    return json(l.stdout).servers.find((x: any) => x.name === 'hosted')?.state === 'connected';
  }, 60_000);
  // No new login is needed: the call works with the stored tokens. (On a loaded machine a ping
  // may time out and restart the connection under a call: server_crashed, then back; never auth_required.)
  let last = '';
  await until('a call with the stored login', async () => {
    const c = await cli(['mcp', 'call', 'hosted', 'whoami', '--json']);
    last = c.stdout + c.stderr;
    assert.doesNotMatch(last, /auth_required/, 'the stored login was lost');
    return c.code === 0;
  }, 60_000).catch((e: Error) => assert.fail(`${e.message}: ${last}\nservice log:\n${svc.stderr().slice(-3000)}`));
});

test('a revoked token: auth_required naming the server and `mcp login NAME`; the service stays up', async () => {
  as.revokeAll();
  const c = await cli(['mcp', 'call', 'hosted', 'whoami', '--json']);
  assert.equal(c.code, 1, c.stdout);
  const r = json(c.stdout);
  assert.equal(r.code, 'auth_required', r.message);
  assert.match(r.message, /hosted.*rustyclaw mcp login hosted/);
  const t = await cli(['mcp', 'call', 'hosted', 'whoami']);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /auth_required: .*mcp login hosted/);
  assert.ok(noCrash(t.stderr), t.stderr);
  const l = await cli(['mcp', 'list', '--json']);
  assert.equal(json(l.stdout).servers.find((x: any) => x.name === 'hosted').state, 'needs_login');
});

test('logging in again reuses the registration (fixed redirect port) and restores the calls', async () => {
  const r = await login();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(as.clients.size, 1, 'no second registration');
  const c = await cli(['mcp', 'call', 'hosted', 'whoami', '--json']);
  assert.equal(c.code, 0, c.stdout + c.stderr);
});

test('a redirect with a forged state is refused (login_failed), the stored login is kept', async () => {
  const { url, done } = await startLogin();
  const b = await browse(url, (u) => u.searchParams.set('state', 'forged'));
  assert.equal(b.status, 400);
  const r = await done;
  assert.equal(r.code, 1);
  assert.match(r.stderr, /login_failed: .*state does not match/);
  assert.ok(noCrash(r.stderr), r.stderr);
  const c = await cli(['mcp', 'call', 'hosted', 'whoami', '--json']);
  assert.equal(c.code, 0, 'the earlier login still works');
});

test('a busy redirect port is a clear error naming it; an unknown server and a non-OAuth one are named', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(redirectPort, '127.0.0.1', () => r()));
  try {
    const r = await cli(['mcp', 'login', 'hosted']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`redirect port 127\\.0\\.0\\.1:${redirectPort} is in use`));
    assert.ok(noCrash(r.stderr), r.stderr);
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()));
  }
  const u = await cli(['mcp', 'login', 'nosuch']);
  assert.equal(u.code, 1);
  assert.match(u.stderr, /unknown_server: .*nosuch/);
  const p = await cli(['mcp', 'login', 'plain']);
  assert.equal(p.code, 1);
  assert.match(p.stderr, /invalid_config: mcp\.servers\.plain\.oauth: not set/);
  const down = await cli(['mcp', 'login', 'unreachable']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /login_failed: mcp login unreachable: /);
  assert.ok(noCrash(down.stderr), down.stderr);
  const l = await cli(['mcp', 'list', '--json']);
  assert.equal(json(l.stdout).servers.find((x: any) => x.name === 'hosted').state, 'connected', 'the other server is unaffected');
});
