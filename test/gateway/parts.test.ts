/** The gateway's parts in process: token set (file of hashes), bearer parsing, query tokens, lockout, sliding windows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Lockout, TokenSet, bearer, tokenInQuery } from '../../src/gateway/auth.js';
import { SlidingWindow } from '../../src/gateway/rate-limit.js';
import { httpStatus } from '../../src/gateway/errors.js';

test('token set: endpoint, env and hashed file tokens; ids, never the token; bad file lines named', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-gw-'));
  const file = path.join(dir, 'tokens');
  const hash = createHash('sha256').update('from-file-token').digest('hex');
  writeFileSync(file, `# comment\n\nsha256:${hash}\n`);
  const t = new TokenSet({ endpointToken: 'ep', envToken: 'envtok', tokenFile: file });
  assert.equal(t.configured, true);
  assert.equal(t.match('ep'), 'endpoint');
  assert.equal(t.match('envtok'), 'env');
  assert.equal(t.match('from-file-token'), 'file:3');
  assert.equal(t.match('nope'), null);
  assert.equal(t.match(undefined), null);
  assert.equal(new TokenSet({ endpointToken: 'ep' }).configured, false);
  writeFileSync(file, 'plaintext-token\n');
  assert.throws(() => new TokenSet({ endpointToken: 'ep', tokenFile: file }), /tokens line 1: expected sha256:<64 hex digits>/);
});

test('bearer header and credentials in query strings', () => {
  assert.equal(bearer('Bearer abc'), 'abc');
  assert.equal(bearer('bearer   abc  '), 'abc');
  assert.equal(bearer('Basic abc'), undefined);
  assert.equal(bearer(undefined), undefined);
  assert.equal(tokenInQuery('/v1/models?token=x'), 'token');
  assert.equal(tokenInQuery('/x?a=1&API_KEY=2'), 'api_key');
  assert.equal(tokenInQuery('/api/jobs?limit=5&state=running'), null);
  assert.equal(tokenInQuery('/api/jobs'), null);
});

test('lockout: max failures within the window lock for lockout_ms; success resets the count', () => {
  let now = 0;
  const l = new Lockout({ enabled: true, max_failures: 3, window_ms: 1000, lockout_ms: 5000 }, () => now);
  assert.equal(l.fail('a'), 0);
  assert.equal(l.fail('a'), 0);
  l.succeed('a');
  assert.equal(l.fail('a'), 0);
  assert.equal(l.fail('a'), 0);
  now = 2000; // the old failures left the window
  assert.equal(l.fail('a'), 0);
  assert.equal(l.fail('a'), 0);
  assert.equal(l.fail('a'), 5000);
  assert.equal(l.lockedFor('a'), 5000);
  assert.equal(l.lockedFor('b'), 0, 'per address');
  now = 7001;
  assert.equal(l.lockedFor('a'), 0);
});

test('sliding window: exact at the edges, Retry-After from the oldest request', () => {
  let now = 0;
  const w = new SlidingWindow(1000, () => now);
  for (let i = 0; i < 3; i++) {
    now = i * 100;
    assert.equal(w.take('k', 3), 0);
  }
  now = 500;
  assert.equal(w.take('k', 3), 500, 'the first request (t=0) leaves at t=1000');
  now = 999;
  assert.equal(w.take('k', 3), 1);
  now = 1000;
  assert.equal(w.take('k', 3), 0, 'allowed once it left');
  now = 1001;
  assert.equal(w.take('k', 3), 99, 'no double burst across a boundary: t=100 leaves at 1100');
  assert.equal(w.take('other', 3), 0);
});

test('error codes map to statuses', () => {
  assert.equal(httpStatus('unauthorized'), 401);
  assert.equal(httpStatus('rate_limited'), 429);
  assert.equal(httpStatus('not_found'), 404);
  assert.equal(httpStatus('webhook_replayed'), 409);
  assert.equal(httpStatus('timeout'), 504);
  assert.equal(httpStatus('something_else'), 500);
});
