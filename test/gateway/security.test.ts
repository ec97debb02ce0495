/**
 * Security by default, through the running service: bearer auth (missing, wrong, right; a token in
 * a query string refused), the failed-auth lockout with Retry-After, sliding-window limits at their
 * edges, body limits per route, CORS / Origin checks for HTTP and WebSocket, slow clients, and the
 * WebSocket endpoint protocol on the same port (the CLI keeps working).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { connect } from '../../src/client/index.js';
import { runCli } from '../acceptance/helpers.js';
import { call, startGatewayService, until, type GatewayWorld } from './helpers.js';

let g: GatewayWorld;

const YAML = `gateway:
  cors_origins: [http://allowed.example]
  lockout: {max_failures: 3, window_ms: 60000, lockout_ms: 2000}
  rate_limit:
    window_ms: 2000
    per_token: {reads: 1000, writes: 1000}
    per_ip: {reads: 1000, writes: 1000}
  body_limits: {api: 4096, rest: 2048}
  request_timeout_ms: 1500
`;

before(async () => {
  g = await startGatewayService(YAML, { RUSTYCLAW_GATEWAY_TOKEN: 'env-token-0123456789' });
});
after(async () => {
  await g?.stop();
});

const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error;

test('auth: missing and wrong tokens are 401 (OpenAI shape on /v1, project shape elsewhere); the endpoint and env tokens work', async () => {
  const missing = await call(g, '/v1/models', { token: null });
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="rustyclaw"');
  const m = (await missing.json()) as { error: { type: string; code: string } };
  assert.deepEqual([m.error.type, m.error.code], ['authentication_error', 'unauthorized']);
  const wrong = await call(g, '/api/status', { token: 'nope' });
  assert.equal(wrong.status, 401);
  assert.equal((await errorOf(wrong)).code, 'unauthorized');
  assert.equal((await call(g, '/api/status')).status, 200);
  assert.equal((await call(g, '/v1/models', { token: 'env-token-0123456789' })).status, 200, 'the token from RUSTYCLAW_GATEWAY_TOKEN');
  assert.equal((await call(g, '/health', { token: null })).status, 200, 'health needs no token');
});

test('a token in a query string is refused even with a good header, and over WebSocket', async () => {
  for (const q of [`token=${g.token}`, `access_token=${g.token}`, `api_key=x`]) {
    const r = await call(g, `/v1/models?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'token_in_query');
  }
  const status = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`${g.ws}/?token=${g.token}`);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => {});
  });
  assert.equal(status, 400);
});

test('lockout: repeated failures lock the address (429 + Retry-After) even for the right token, then it opens again', async () => {
  // The lockout counts per address: this test is alone on 127.0.0.1 only while it runs.
  assert.equal((await call(g, '/api/status', { token: 'bad-0' })).status, 401);
  // A failed WebSocket hello counts too.
  const closed = await new Promise<number>((resolve) => {
    const ws = new WebSocket(g.ws);
    ws.on('open', () => ws.send(JSON.stringify({ v: 1, op: 'hello', token: 'bad-ws' })));
    ws.on('close', (code) => resolve(code));
    ws.on('error', () => {});
  });
  assert.equal(closed, 4001);
  const third = await call(g, '/api/status', { token: 'bad-2' });
  assert.equal(third.status, 429);
  assert.equal((await errorOf(third)).code, 'locked_out');
  const locked = await call(g, '/api/status');
  assert.equal(locked.status, 429, 'locked means locked, whatever the token');
  const after = Number(locked.headers.get('retry-after'));
  assert.ok(after >= 1 && after <= 2, `Retry-After ${after}`);
  await new Promise((r) => setTimeout(r, after * 1000 + 200));
  assert.equal((await call(g, '/api/status')).status, 200, 'open again after the lockout');
});

test('WebSocket: the endpoint protocol on the gateway port (client library and CLI), Origin checked', async () => {
  const rc = await connect({ url: g.ws, token: g.token });
  const st = await rc.ask('kernel', 'kernel.status');
  assert.ok(st.actors.length > 0);
  await rc.close();
  const r = await runCli(g.w, ['status'], { stdin: 'open' });
  assert.equal(r.code, 0, r.stderr);
  const refused = await new Promise<number>((resolve) => {
    const ws = new WebSocket(g.ws, { headers: { origin: 'http://evil.example' } });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => {});
  });
  assert.equal(refused, 403);
  const allowed = new WebSocket(g.ws, { headers: { origin: 'http://allowed.example' } });
  await new Promise<void>((res, rej) => (allowed.once('open', () => res()), allowed.once('error', rej)));
  allowed.close();
});

test('CORS: only the allowlist gets Access-Control headers; a foreign Origin is 403', async () => {
  const ok = await call(g, '/v1/models', { headers: { origin: 'http://allowed.example' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), 'http://allowed.example');
  const pre = await fetch(`${g.http}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'http://allowed.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/);
  const evil = await call(g, '/v1/models', { headers: { origin: 'http://evil.example' } });
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
});

test('body limits per route: 413 in the route family shape', async () => {
  const big = await call(g, '/v1/chat/completions', { json: { model: 'rustyclaw:default', messages: [{ role: 'user', content: 'x'.repeat(5000) }] } });
  assert.equal(big.status, 413);
  const e = (await big.json()) as { error: { code: string; type: string } };
  assert.equal(e.error.code, 'payload_too_large');
  const rest = await call(g, '/api/safety/check-url', { json: { url: `https://example.com/${'a'.repeat(3000)}` } });
  assert.equal(rest.status, 413);
  assert.match((await errorOf(rest)).message, /2048 bytes/);
  const fine = await call(g, '/api/safety/check-url', { json: { url: 'http://169.254.169.254/latest' } });
  assert.equal(fine.status, 200);
  assert.equal(((await fine.json()) as { allowed: boolean }).allowed, false);
});

test('a slowloris client is dropped after request_timeout_ms while others are served', async () => {
  const { port } = new URL(g.http);
  const sock = net.connect(Number(port), '127.0.0.1');
  const closed = new Promise<number>((r) => sock.once('close', () => r(Date.now())));
  sock.on('error', () => {});
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const t0 = Date.now();
  sock.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
  const drip = setInterval(() => !sock.destroyed && sock.write('X-Slow: 1\r\n'), 300);
  try {
    assert.equal((await call(g, '/api/status')).status, 200, 'others are served meanwhile');
    const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 15_000))]);
    assert.ok(at > 0, 'the slow connection was closed');
    assert.ok(at - t0 >= 1000, `not before the timeout (${at - t0} ms)`);
  } finally {
    clearInterval(drip);
    sock.destroy();
  }
});

test('rate limits: a sliding window per token, 429 + Retry-After at the edge, allowed again once the window slides', async () => {
  const g2 = await startGatewayService('gateway:\n  rate_limit:\n    window_ms: 3000\n    per_token: {reads: 4, writes: 2}\n    per_ip: {reads: 1000, writes: 1000}\n');
  try {
    for (let i = 0; i < 4; i++) assert.equal((await call(g2, '/v1/models')).status, 200, `read ${i + 1}`);
    const over = await call(g2, '/v1/models');
    assert.equal(over.status, 429);
    const e = (await over.json()) as { error: { type: string; code: string } };
    assert.deepEqual([e.error.type, e.error.code], ['rate_limit_error', 'rate_limited']);
    const wait = Number(over.headers.get('retry-after'));
    assert.ok(wait >= 1 && wait <= 3, `Retry-After ${wait}`);
    // Writes have their own window.
    assert.equal((await call(g2, '/api/safety/check-url', { json: { url: 'https://example.com' } })).status, 200);
    await until(async () => (await call(g2, '/v1/models')).status === 200, 'the window to slide', 8000);
  } finally {
    await g2.stop();
  }
});

test('refuses to bind a non-loopback address without a configured token', async () => {
  const { makeWorld } = await import('../acceptance/helpers.js');
  const w = makeWorld('');
  const { readFileSync, writeFileSync } = await import('node:fs');
  writeFileSync(w.config, readFileSync(w.config, 'utf8').replace('endpoint:\n  port: 0', 'endpoint:\n  port: 0\n  host: 0.0.0.0\n  allow_remote: true'));
  const r = await runCli(w, ['start'], { cwd: w.project, env: { RUSTYCLAW_LOG_LEVEL: 'fatal' } });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /ready/);
  assert.match(r.stderr, /refusing to bind 0\.0\.0\.0 \(not loopback\) without a configured token: set RUSTYCLAW_GATEWAY_TOKEN/);
});
