import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UrlPolicy } from '../../src/lib/net/url-guard.js';
import { parseIPv4Lenient, parseIPv6, classifyAddress, formatIPv4 } from '../../src/lib/net/ip.js';
import { safeFetch, SsrfBlockedError, type Resolver } from '../../src/lib/net/fetch.js';

const policy = new UrlPolicy();

test('every spelling of loopback, private, link-local and metadata addresses is blocked', () => {
  const blocked = [
    'http://127.0.0.1/', 'http://127.1/', 'http://0x7f.1/', 'http://0177.0.0.1/', 'http://2130706433/', 'http://0x7f000001/',
    'http://017700000001/', 'http://127.000.000.001/', 'http://[::1]/', 'http://[0:0:0:0:0:0:0:1]/', 'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/', 'http://[64:ff9b::7f00:1]/', 'http://[2002:7f00:1::]/', 'http://[::127.0.0.1]/',
    'http://10.1.2.3/', 'http://0xa.0x1.0x2.0x3/', 'http://167838211/', 'http://172.31.255.255/', 'http://192.168.0.1/',
    'http://100.64.0.1/', 'http://169.254.169.254/', 'http://0xa9fea9fe/', 'http://[fd00:ec2::254]/', 'http://[fe80::1]/',
    'http://[fc00::1]/', 'http://224.0.0.1/', 'http://255.255.255.255/', 'http://0.0.0.0/', 'http://0/', 'http://[::]/',
    'http://localhost/', 'http://LocalHost./', 'http://api.localhost/', 'http://printer.local/', 'http://metadata.google.internal/',
    'http://x.svc.cluster.local/', 'http://intranet/', 'http://%6c%6f%63%61%6c%68%6f%73%74/', 'http://１２７.０.０.１/',
    'http://127。0。0。1/', 'http://example.com@127.0.0.1/', 'http://127.0.0.1#@example.com/', 'http://127.0.0.1:80\\@example.com/',
    'file:///etc/passwd', 'gopher://example.com/', 'ftp://example.com/', 'http://999.1.1.1/', 'http://4294967296/', 'not a url',
    'http://[2001:db8::1]/', 'http://198.18.0.1/', 'http://[fe80::1%25eth0]/',
  ];
  for (const u of blocked) assert.equal(policy.checkUrl(u).allowed, false, `${u} must be blocked`);
});

test('public addresses in any spelling, and internal-looking text outside the host, are allowed', () => {
  const allowed = [
    'https://example.com/', 'https://example.com./', 'http://8.8.8.8/', 'http://134744072/', 'http://0x8080808/', 'http://8.8.2056/',
    'http://[2606:4700:4700::1111]/', 'http://[::ffff:8.8.8.8]/', 'http://[64:ff9b::808:808]/', 'http://11.0.0.1/', 'http://172.32.0.1/',
    'http://100.128.0.1/', 'https://user@example.com/', 'https://example.com/?next=http://127.0.0.1/', 'wss://chat.example.org/socket',
    'http://xn--mnchen-3ya.de/',
  ];
  for (const u of allowed) assert.equal(policy.checkUrl(u).allowed, true, `${u} must be allowed: ${policy.checkUrl(u).reason}`);
});

test('numeric parsing: inet_aton forms and wrap-around explained; IPv6 embedded forms', () => {
  assert.equal(formatIPv4(parseIPv4Lenient('0x41414141A9FEA9FE')!.value), '169.254.169.254');
  assert.equal(parseIPv4Lenient('7147006462')!.overflow, true);
  assert.equal(formatIPv4(parseIPv4Lenient('127.1')!.value), '127.0.0.1');
  assert.equal(parseIPv4Lenient('example.com'), null);
  assert.deepEqual(parseIPv6('::ffff:10.0.0.1'), [0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]);
  assert.equal(classifyAddress('::ffff:10.0.0.1')!.range, 'ipv4-mapped:private');
  assert.equal(classifyAddress('2001:4860:4860::8888')!.blocked, false);
  const v = policy.checkUrl('http://0x41414141A9FEA9FE/');
  assert.equal(v.allowed, false);
  assert.match(v.reason!, /169\.254\.169\.254/);
});

test('config: allowed CIDRs/hosts, extra blocked hosts and schemes', () => {
  const p = new UrlPolicy({ allowedCidrs: ['192.168.1.0/24'], allowedHosts: ['llm.lan'], blockedHosts: ['.corp.example.com'], allowedSchemes: ['https'] });
  assert.equal(p.checkUrl('https://192.168.1.20/').allowed, true);
  assert.equal(p.checkUrl('https://192.168.2.20/').allowed, false);
  assert.equal(p.checkUrl('https://llm.lan/').allowed, true);
  assert.equal(p.checkUrl('https://git.corp.example.com/').allowed, false);
  assert.equal(p.checkUrl('http://example.com/').allowed, false);
  assert.throws(() => new UrlPolicy({ allowedCidrs: ['10.0.0.0/99'] }), /prefix length/);
});

/** Loopback server recording what reached it. */
async function server(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const hits: string[] = [];
  const srv = http.createServer((req, res) => {
    hits.push(`${req.headers.host}${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as AddressInfo).port, hits, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

test('safeFetch resolves once, checks the address and connects to exactly that address (no rebinding)', async () => {
  const s = await server((_req, res) => res.end('hello'));
  try {
    let calls = 0;
    // A rebinding resolver: first answer allowed (the test allows 127.0.0.1 only), later answers point elsewhere.
    const resolver: Resolver = async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.0.0.1', family: 4 }]);
    const hops: Array<{ url: string; addresses?: string[] }> = [];
    const res = await safeFetch(`http://api.example.com:${s.port}/x`, { resolver, policy: { allowedCidrs: ['127.0.0.1/32'] }, onHop: (h) => hops.push(h) });
    assert.equal(await res.text(), 'hello');
    assert.equal(calls, 1, 'resolved exactly once');
    assert.deepEqual(hops[0].addresses, ['127.0.0.1']);
    assert.deepEqual(s.hits, [`api.example.com:${s.port}/x`], 'the Host header keeps the name; the socket went to the checked address');
    // Without the allowance the same answer is refused before any connection.
    await assert.rejects(safeFetch(`http://api.example.com:${s.port}/y`, { resolver: async () => [{ address: '127.0.0.1', family: 4 }] }), (e: unknown) => e instanceof SsrfBlockedError && /resolves to 127\.0\.0\.1/.test(e.message));
    // A name with one public and one private answer is refused (rebinding setup).
    await assert.rejects(safeFetch(`http://mixed.example.com:${s.port}/`, { resolver: async () => [{ address: '93.184.216.34', family: 4 }, { address: '169.254.169.254', family: 4 }] }), SsrfBlockedError);
    assert.equal(s.hits.length, 1);
  } finally {
    await s.close();
  }
});

test('safeFetch re-checks every redirect hop and strips credentials across origins', async () => {
  const target = await server((req, res) => res.end(`auth=${req.headers.authorization ?? ''}`));
  const s = await server((req, res) => {
    if (req.url === '/to-metadata') res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    else if (req.url === '/to-internal-name') res.writeHead(307, { location: `http://internal.example.com:${target.port}/` }).end();
    else if (req.url === '/to-ok') res.writeHead(301, { location: `http://other.example.com:${target.port}/ok` }).end();
    else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
    else res.end('origin');
  });
  const names: Record<string, string> = { 'api.example.com': '127.0.0.1', 'other.example.com': '127.0.0.1', 'internal.example.com': '10.1.2.3' };
  const resolver: Resolver = async (h) => [{ address: names[h] ?? '203.0.113.9', family: 4 }];
  const opts = { resolver, policy: { allowedCidrs: ['127.0.0.1/32'] } };
  try {
    await assert.rejects(safeFetch(`http://api.example.com:${s.port}/to-metadata`, opts), (e: unknown) => e instanceof SsrfBlockedError && e.hop === 1 && /cloud-metadata/.test(e.message));
    await assert.rejects(safeFetch(`http://api.example.com:${s.port}/to-internal-name`, opts), (e: unknown) => e instanceof SsrfBlockedError && e.hop === 1 && /10\.1\.2\.3/.test(e.message));
    await assert.rejects(safeFetch(`http://api.example.com:${s.port}/loop`, { ...opts, maxRedirects: 3 }), /more than 3 redirects/);
    const ok = await safeFetch(`http://api.example.com:${s.port}/to-ok`, { ...opts, headers: { authorization: 'Bearer abc' } });
    assert.equal(await ok.text(), 'auth=', 'authorization dropped on the cross-origin hop');
    assert.equal(target.hits.filter((h) => h.startsWith('internal')).length, 0, 'the blocked hop never connected');
  } finally {
    await s.close();
    await target.close();
  }
});

test('safeFetch: literal internal URLs blocked up front; trusted: true opts out for user-configured local services', async () => {
  const s = await server((_req, res) => res.end('local model'));
  try {
    await assert.rejects(safeFetch(`http://127.0.0.1:${s.port}/v1/models`), (e: unknown) => e instanceof SsrfBlockedError && e.hop === 0);
    assert.equal(s.hits.length, 0);
    const res = await safeFetch(`http://127.0.0.1:${s.port}/v1/models`, { trusted: true });
    assert.equal(await res.text(), 'local model');
  } finally {
    await s.close();
  }
});
