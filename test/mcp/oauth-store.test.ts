/** The encrypted token store's parts: round trip, nothing in clear, a wrong key, swapped records, URL binding, key sources. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OAuthStore, loadKey, parseKey } from '../../actors/mcp/oauth-store.js';
import { tempDir } from '../kernel/helpers.js';

const URL_A = 'https://mcp.example.com/mcp';

test('records round-trip encrypted; a wrong key, a record moved to another name or another URL read as no login', async () => {
  const dir = tempDir('rc-oauth-');
  const key = randomBytes(32);
  const unreadable: string[] = [];
  const s = new OAuthStore(path.join(dir, 'db'), key, (name) => unreadable.push(name));
  s.put('a', { server_url: URL_A, issuer: 'https://as.example.com', tokens: { access_token: 'SECRET-ACCESS-TOKEN', token_type: 'Bearer', refresh_token: 'SECRET-REFRESH', saved_at: 1 } });
  assert.equal(s.get('a', URL_A).tokens?.access_token, 'SECRET-ACCESS-TOKEN');
  const raw = s.raw('a')!;
  assert.ok(!raw.includes(Buffer.from('SECRET-ACCESS-TOKEN')) && !raw.includes(Buffer.from('SECRET-REFRESH')), 'no token in clear');
  assert.deepEqual(s.get('a', 'https://other.example.com/mcp'), { server_url: 'https://other.example.com/mcp' }, 'bound to its server URL');
  // The same ciphertext under another name does not decrypt (the name is additional data).
  s['db'].putSync('b', raw);
  assert.equal(s.get('b', URL_A).tokens, undefined);
  assert.deepEqual(unreadable, ['b']);
  await s.close();
  const wrong = new OAuthStore(path.join(dir, 'db'), randomBytes(32), (name) => unreadable.push(name));
  assert.equal(wrong.get('a', URL_A).tokens, undefined, 'another key opens nothing');
  assert.deepEqual(unreadable, ['b', 'a']);
  assert.equal(wrong.delete('a'), true);
  await wrong.close();
});

test('the key: from the environment (hex or base64), else a key file created 0600; bad keys name their source', () => {
  const dir = tempDir('rc-oauth-key-');
  const hex = randomBytes(32).toString('hex');
  assert.equal(loadKey('K', path.join(dir, 'unused'), { K: hex }).key.toString('hex'), hex);
  const b64 = randomBytes(32).toString('base64');
  assert.equal(loadKey('K', path.join(dir, 'unused'), { K: b64 }).key.toString('base64'), b64);
  assert.throws(() => loadKey('K', path.join(dir, 'unused'), { K: 'short' }), /environment variable K: the MCP token store key must be 32 bytes/);
  const file = path.join(dir, 'keys', 'k.key');
  const k1 = loadKey('K', file, {}).key;
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(k1.equals(loadKey('K', file, {}).key), 'the same key on the next start');
  assert.match(readFileSync(file, 'utf8'), /^[0-9a-f]{64}\n$/);
  writeFileSync(file, 'garbage');
  assert.throws(() => loadKey('K', file, {}), new RegExp(`key file ${file.replace(/[.]/g, '\\.')}: the MCP token store key`));
  assert.throws(() => parseKey(randomBytes(16).toString('hex'), 'x'), /32 bytes/);
});
