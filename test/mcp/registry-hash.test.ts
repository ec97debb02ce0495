/**
 * Black-box: `rustyclaw mcp add` with a registry entry declaring `fileSha256` (the registry's
 * server.json: "MCP clients must validate the downloaded file matches the hash"). A loopback
 * registry speaks /v0.1/servers, a loopback npm registry serves the packument and the tarball:
 * the matching hash writes the entry, a mismatch or an unreachable tarball is an error naming the
 * entry, the package and both digests, and the config file is left byte for byte as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { makeWorld, noCrash, runCli } from '../acceptance/helpers.js';

const tarball = randomBytes(50_000);
const sha = createHash('sha256').update(tarball).digest('hex');

function entry(name: string, id: string, fileSha256: string) {
  return {
    server: { name, description: 'hashed', version: '2.0.0', packages: [{ registryType: 'npm', identifier: id, version: '2.0.0', fileSha256, transport: { type: 'stdio' } }] },
    _meta: { 'io.modelcontextprotocol.registry/official': { status: 'active', isLatest: true } },
  };
}

test('mcp add checks a declared fileSha256 against the npm tarball; a mismatch writes nothing', async () => {
  const entries = [
    entry('io.github.example/good', '@example/good-mcp', sha),
    entry('io.github.example/tampered', '@example/tampered-mcp', sha),
    entry('io.github.example/gone', '@example/gone-mcp', sha),
  ];
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(u.pathname);
    const send = (status: number, body: unknown) => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const m = /^\/v0\.1\/servers\/(.+)\/versions\/latest$/.exec(u.pathname);
    if (m) {
      const e = entries.find((x) => x.server.name === decodeURIComponent(m[1]!));
      return e ? send(200, e) : send(404, { status: 404 });
    }
    const pk = /^\/npm\/(@example%2f[a-z-]+)$/i.exec(u.pathname);
    if (pk) {
      const id = decodeURIComponent(pk[1]!);
      const file = id.split('/')[1];
      return send(200, { name: id, versions: { '2.0.0': { dist: { tarball: `${base}/npm/tarballs/${file}-2.0.0.tgz` } } } });
    }
    if (u.pathname === '/npm/tarballs/good-mcp-2.0.0.tgz') return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarball);
    if (u.pathname === '/npm/tarballs/tampered-mcp-2.0.0.tgz') return void res.writeHead(200).end(Buffer.concat([tarball, Buffer.from('x')]));
    send(404, { error: 'not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const x = makeWorld(`mcp:\n  registry:\n    npm_url: ${base}/npm\n`);
    const before = readFileSync(x.config, 'utf8');
    const bad = await runCli(x, ['-c', x.config, 'mcp', 'add', 'io.github.example/tampered', '--registry', base]);
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(bad.stderr, new RegExp(`tampered: fileSha256 check of @example/tampered-mcp@2\\.0\\.0: the package file does not match the declared hash \\(declared ${sha}, got [0-9a-f]{64}`));
    assert.match(bad.stderr, /nothing was written/);
    assert.ok(noCrash(bad.stderr), bad.stderr);
    assert.equal(readFileSync(x.config, 'utf8'), before, 'the config file is untouched');
    const gone = await runCli(x, ['-c', x.config, 'mcp', 'add', 'io.github.example/gone', '--registry', base]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /gone: fileSha256 check of @example\/gone-mcp@2\.0\.0: HTTP 404/);
    assert.equal(readFileSync(x.config, 'utf8'), before);
    const good = await runCli(x, ['-c', x.config, 'mcp', 'add', 'io.github.example/good', '--registry', base]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /added good .*npx -y @example\/good-mcp@2\.0\.0/);
    assert.ok(requests.includes('/npm/tarballs/good-mcp-2.0.0.tgz'), 'the tarball was fetched and hashed');
    assert.match(readFileSync(x.config, 'utf8'), /good:\s*\n\s+transport: stdio/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
