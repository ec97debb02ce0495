/** The http host function: allow-list, SSRF guard (loopback, metadata), secrets injected at the host boundary only. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { service, SHIPPED, tmp } from './helpers.js';
import { makeHttpHost } from '../../actors/tool-runner/http-host.js';

const TOKEN = `tok_${randomBytes(18).toString('base64url')}`;
const seen: http.IncomingHttpHeaders[] = [];
const server = http.createServer((req, res) => {
  seen.push(req.headers);
  res.setHeader('content-type', 'application/json');
  res.setHeader('x-echo-auth', String(req.headers.authorization ?? ''));
  // A careless server echoing the credential back.
  res.end(JSON.stringify({ path: req.url, you_sent: req.headers.authorization ?? null }));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as AddressInfo).port;
const env = { TEST_TOKEN: TOKEN };
const trusted = await service({ network: { allowed_cidrs: ['127.0.0.1/32'], allowed_hosts: [], request_timeout_ms: 5000, max_response_bytes: 1 << 20 } }, { env });
const strict = await service({}, { env });
after(async () => {
  await trusted.svc.close();
  await strict.svc.close();
  server.close();
});

const dir = tmp();
function fetchTool(name: string, allow: string[], secrets: unknown[] = []): string {
  const d = path.join(dir, name);
  mkdirSync(d, { recursive: true });
  cpSync(path.join(SHIPPED, 'http_fetch', 'http_fetch.wasm'), path.join(d, 'http_fetch.wasm'));
  const m = parse(readFileSync(path.join(SHIPPED, 'http_fetch', 'tool.yaml'), 'utf8'));
  Object.assign(m, { name, network: { allow }, secrets });
  writeFileSync(path.join(d, 'tool.yaml'), stringify(m));
  return path.join(d, 'tool.yaml');
}
const url = (p = '/') => `http://127.0.0.1:${port}${p}`;

test('no network.allow: the host function answers network_denied', async () => {
  const r = await strict.svc.run({ name: 'http_fetch', args: { url: url() } });
  assert.equal(r.ok, true);
  assert.equal(JSON.parse(r.output).error.code, 'network_denied');
});

test('a host not in network.allow is refused', async () => {
  const r = await trusted.svc.run({ manifest: fetchTool('other', ['api.example.com']), args: { url: url() } });
  const e = JSON.parse(r.output).error;
  assert.equal(e.code, 'network_denied');
  assert.match(e.message, /127\.0\.0\.1 is not in network\.allow/);
});

test('loopback is refused by the SSRF guard even when the manifest allows it', async () => {
  const n = seen.length;
  const r = await strict.svc.run({ manifest: fetchTool('loop', ['127.0.0.1']), args: { url: url() } });
  const e = JSON.parse(r.output).error;
  assert.equal(e.code, 'network_denied');
  assert.match(e.message, /blocked outbound request/);
  assert.equal(seen.length, n, 'nothing reached the server');
});

test('a metadata address is refused even where loopback is trusted', async () => {
  const r = await trusted.svc.run({ manifest: fetchTool('meta', ['169.254.169.254', 'metadata.google.internal']), args: { url: 'http://169.254.169.254/latest/meta-data/' } });
  assert.equal(JSON.parse(r.output).error.code, 'network_denied');
  const r2 = await trusted.svc.run({ manifest: fetchTool('meta', ['169.254.169.254', 'metadata.google.internal']), args: { url: 'http://metadata.google.internal/' } });
  assert.equal(JSON.parse(r2.output).error.code, 'network_denied');
});

test('a secret is added at the host boundary and redacted when the server echoes it', async () => {
  const manifest = fetchTool('gh', ['127.0.0.1'], [{ name: 'TEST_TOKEN', host: '127.0.0.1', header: 'Authorization', format: 'Bearer {value}' }]);
  const r = await trusted.svc.run({ manifest, args: { url: url('/user'), headers: { Authorization: 'Bearer forged' } } });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(seen.at(-1)!.authorization, `Bearer ${TOKEN}`, 'the server got the real credential');
  assert.ok(!r.output.includes(TOKEN), r.output);
  const body = JSON.parse(r.output);
  assert.equal(body.status, 200);
  assert.match(body.body, /\[REDACTED:secret:TEST_TOKEN\]/);
  assert.match(body.headers['x-echo-auth'], /\[REDACTED:secret:TEST_TOKEN\]/);
});

test('the secret is never in module memory (scanned after the call)', async () => {
  const manifest = fetchTool('gh2', ['127.0.0.1'], [{ name: 'TEST_TOKEN', host: '127.0.0.1', header: 'Authorization', format: 'Bearer {value}' }]);
  const p = await trusted.svc.prepare({ manifest });
  const http = makeHttpHost({ manifest: p.manifest, config: { allowed_cidrs: ['127.0.0.1/32'], allowed_hosts: [], request_timeout_ms: 5000, max_response_bytes: 1 << 20 }, env });
  const o = await trusted.svc.pool.run({
    key: p.key, module: p.module, timeoutMs: 10_000, http,
    spec: { name: 'gh2', stdin: new TextEncoder().encode(JSON.stringify({ url: url('/scan') })), env: {}, preopens: [], fuel: 1e8, outputBytes: 1e6, logBytes: 4096, keepMemory: true, memoryPages: p.memoryPages },
  });
  assert.equal(o.ok, true, JSON.stringify(o));
  assert.equal(seen.at(-1)!.authorization, `Bearer ${TOKEN}`);
  const mem = Buffer.from((o as { memory?: ArrayBuffer }).memory!);
  assert.ok(mem.length > 0);
  assert.equal(mem.indexOf(Buffer.from(TOKEN, 'utf8')), -1, 'no UTF-8 copy');
  assert.equal(mem.indexOf(Buffer.from(TOKEN, 'utf16le')), -1, 'no UTF-16 copy (AssemblyScript strings)');
  // The scan can find things: the redaction marker is there.
  assert.notEqual(mem.indexOf(Buffer.from('REDACTED:secret:TEST_TOKEN', 'utf16le')) + mem.indexOf(Buffer.from('REDACTED:secret:TEST_TOKEN', 'utf8')), -2);
});

test('a secret is not sent to a host it is not bound to', async () => {
  const manifest = fetchTool('bound', ['127.0.0.1', 'localhost'], [{ name: 'TEST_TOKEN', host: 'localhost', header: 'Authorization', format: 'Bearer {value}' }]);
  const r = await trusted.svc.run({ manifest, args: { url: url('/nobind') } });
  assert.equal(r.ok, true);
  assert.equal(seen.at(-1)!.authorization, undefined);
});
