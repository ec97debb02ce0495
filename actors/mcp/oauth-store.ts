/**
 * OAuth credentials of MCP servers at rest: one lmdb record per server name, AES-256-GCM encrypted
 * (random 12-byte IV per write, the server name as additional data, so a record moved to another
 * name does not decrypt). The key comes from an environment variable or a key file created 0600 on
 * first use. Records are bound to the server URL they were issued for; the SDK stamps the issuer on
 * tokens and client registrations and discards them when the authorization server changes.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import type { OAuthDiscoveryState, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';

export interface OAuthRecord {
  /** The MCP server URL (the protected resource) the credentials were obtained for. */
  server_url: string;
  issuer?: string;
  client?: StoredOAuthClientInformation;
  tokens?: StoredOAuthTokens & { saved_at: number };
  discovery?: OAuthDiscoveryState;
  /** A login in progress (`mcp login`): its state and PKCE verifier. */
  pending?: { state: string; code_verifier?: string; started_at: number };
}

const IV = 12;
const TAG = 16;

/** 32 key bytes from hex (64 chars) or base64 (44 chars); anything else is an error naming the source. */
export function parseKey(text: string, source: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : /^[A-Za-z0-9+/]{43}=?$/.test(t) ? Buffer.from(t, 'base64') : undefined;
  if (!key || key.length !== 32) throw new Error(`${source}: the MCP token store key must be 32 bytes as 64 hex digits or base64`);
  return key;
}

/** The key from `env[keyEnv]`, else `keyFile` (created with a random key, mode 0600, when missing). */
export function loadKey(keyEnv: string, keyFile: string, env: NodeJS.ProcessEnv): { key: Buffer; source: string } {
  const fromEnv = keyEnv ? env[keyEnv] : undefined;
  if (fromEnv) return { key: parseKey(fromEnv, `environment variable ${keyEnv}`), source: `$${keyEnv}` };
  if (!existsSync(keyFile)) {
    mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  chmodSync(keyFile, 0o600);
  return { key: parseKey(readFileSync(keyFile, 'utf8'), `key file ${keyFile}`), source: keyFile };
}

export class OAuthStore {
  private readonly db: RootDatabase<Buffer, string>;

  constructor(dir: string, private readonly key: Buffer, private readonly onUnreadable: (name: string, why: string) => void) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.db = open<Buffer, string>({ path: dir, encoding: 'binary', compression: false });
  }

  private aad(name: string): Buffer {
    return Buffer.from(`rustyclaw/mcp-oauth/${name}`);
  }

  /** The record of `name` for `serverUrl`; a record for another URL, or one this key cannot open, is no record. */
  get(name: string, serverUrl: string): OAuthRecord {
    const raw = this.db.getBinary(name);
    const empty = { server_url: serverUrl };
    if (!raw) return empty;
    let rec: OAuthRecord;
    try {
      const buf = Buffer.from(raw);
      const d = createDecipheriv('aes-256-gcm', this.key, buf.subarray(0, IV));
      d.setAAD(this.aad(name));
      d.setAuthTag(buf.subarray(IV, IV + TAG));
      rec = JSON.parse(Buffer.concat([d.update(buf.subarray(IV + TAG)), d.final()]).toString('utf8')) as OAuthRecord;
    } catch {
      this.onUnreadable(name, 'the stored credentials do not decrypt with this key (was the key changed?)');
      return empty;
    }
    if (rec.server_url !== serverUrl) return empty;
    return rec;
  }

  put(name: string, rec: OAuthRecord): void {
    const iv = randomBytes(IV);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(this.aad(name));
    const body = Buffer.concat([c.update(JSON.stringify(rec), 'utf8'), c.final()]);
    this.db.putSync(name, Buffer.concat([iv, c.getAuthTag(), body]));
  }

  update(name: string, serverUrl: string, fn: (r: OAuthRecord) => void): OAuthRecord {
    const rec = this.get(name, serverUrl);
    fn(rec);
    this.put(name, rec);
    return rec;
  }

  delete(name: string): boolean {
    return this.db.removeSync(name);
  }

  /** The raw bytes at rest (tests check no token appears in clear). */
  raw(name: string): Buffer | undefined {
    const r = this.db.getBinary(name);
    return r ? Buffer.from(r) : undefined;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
