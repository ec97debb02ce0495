/**
 * The MCP registry's API (`GET /v0.1/servers?search=&limit=&cursor=&version=latest`,
 * `GET /v0.1/servers/{name}/versions/latest`): search, and an `mcp.servers` entry made from a
 * result. Only `status: active` entries are kept. Base URL from `mcp.registry.base_url`.
 */
import { createHash } from 'node:crypto';
import type { McpServerConfig } from '../../protocol/mcp.js';

export interface RegistryPackage {
  registryType: string;
  identifier: string;
  version?: string;
  transport?: { type?: string; url?: string };
  fileSha256?: string;
  runtimeArguments?: Array<{ type?: string; value?: string; name?: string }>;
  packageArguments?: Array<{ type?: string; value?: string; name?: string }>;
  environmentVariables?: Array<{ name: string; isRequired?: boolean; isSecret?: boolean; description?: string }>;
}
export interface RegistryRemote {
  type: string;
  url: string;
}
export interface RegistryServer {
  name: string;
  description: string;
  version: string;
  status: string;
  packages: RegistryPackage[];
  remotes: RegistryRemote[];
}

const OFFICIAL = 'io.modelcontextprotocol.registry/official';
const TIMEOUT_MS = 15_000;

function normalise(item: unknown): RegistryServer | null {
  const o = (item ?? {}) as { server?: Record<string, unknown>; _meta?: Record<string, { status?: string }> };
  const s = (o.server ?? item) as Record<string, unknown>;
  if (!s || typeof s.name !== 'string') return null;
  const status = o._meta?.[OFFICIAL]?.status ?? (typeof s.status === 'string' ? s.status : 'active');
  return {
    name: s.name,
    description: typeof s.description === 'string' ? s.description : '',
    version: typeof s.version === 'string' ? s.version : '',
    status,
    packages: Array.isArray(s.packages) ? (s.packages as RegistryPackage[]).filter((p) => p && typeof p.identifier === 'string' && typeof p.registryType === 'string') : [],
    remotes: Array.isArray(s.remotes) ? (s.remotes as RegistryRemote[]).filter((r) => r && typeof r.url === 'string' && typeof r.type === 'string') : [],
  };
}

export class RegistryClient {
  readonly base: string;
  constructor(base: string) {
    this.base = base.replace(/\/+$/, '');
  }

  private async fetchJson(url: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      throw new Error(`registry ${this.base}: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`, { cause: e });
    }
    const text = await res.text();
    if (res.status === 404) throw Object.assign(new Error(`registry ${this.base}: not found: ${url.slice(this.base.length)}`), { status: 404 });
    if (!res.ok) throw new Error(`registry ${this.base}: HTTP ${res.status} for ${url.slice(this.base.length)}: ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`registry ${this.base}: the answer to ${url.slice(this.base.length)} is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
    }
  }

  async search(query: string, limit = 20): Promise<RegistryServer[]> {
    const out: RegistryServer[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10 && out.length < limit; page++) {
      const q = new URLSearchParams({ search: query, limit: String(limit), version: 'latest', ...(cursor ? { cursor } : {}) });
      const body = (await this.fetchJson(`${this.base}/v0.1/servers?${q}`)) as { servers?: unknown[]; metadata?: { nextCursor?: string } };
      if (!Array.isArray(body.servers)) throw new Error(`registry ${this.base}: the answer has no 'servers' list`);
      for (const item of body.servers) {
        const s = normalise(item);
        if (s && s.status === 'active') out.push(s);
      }
      cursor = body.metadata?.nextCursor;
      if (!cursor) break;
    }
    return out.slice(0, limit);
  }

  async getServer(name: string): Promise<RegistryServer> {
    let body: unknown;
    try {
      body = await this.fetchJson(`${this.base}/v0.1/servers/${encodeURIComponent(name)}/versions/latest`);
    } catch (e) {
      if ((e as { status?: number }).status === 404) throw new Error(`registry ${this.base}: no server '${name}' (try \`rustyclaw mcp search\`)`, { cause: e });
      throw e;
    }
    const s = normalise(body);
    if (!s) throw new Error(`registry ${this.base}: the entry for '${name}' has no server name`);
    if (s.status !== 'active') throw new Error(`registry ${this.base}: '${name}' is ${s.status}, not active`);
    return s;
  }
}

/** Safe to put on a command line: a package name/version, no shell or option syntax. */
const SAFE_ID = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/i;
const SAFE_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/;

/** Largest package file fetched to check its declared hash. */
const MAX_PACKAGE_BYTES = 200 * 1024 * 1024;

/**
 * The registry's `fileSha256` ("if present, MCP clients must validate the downloaded file matches
 * the hash before running packages"): the npm tarball of `id@version` (as the npm registry at
 * `npmUrl` lists it, the one npx installs from) is fetched and hashed; a mismatch throws naming both
 * digests, and the caller writes nothing.
 */
export async function checkNpmFileSha256(entry: string, id: string, version: string, declared: string, npmUrl: string): Promise<string> {
  const base = npmUrl.replace(/\/+$/, '');
  const where = `registry entry ${entry}: fileSha256 check of ${id}@${version}`;
  const get = async (url: string) => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(120_000), headers: { accept: 'application/json, application/octet-stream' } });
      if (!res.ok) throw new Error(`HTTP ${res.status} for ${url}`);
      return res;
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}; nothing was written`, { cause: e });
    }
  };
  const doc = (await (await get(`${base}/${id.replace('/', '%2f')}`)).json().catch(() => ({}))) as { versions?: Record<string, { dist?: { tarball?: string } }> };
  const tarball = doc.versions?.[version]?.dist?.tarball;
  if (!tarball || !/^https?:\/\//.test(tarball)) throw new Error(`${where}: ${base} lists no tarball for that version; nothing was written`);
  const res = await get(tarball);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    if (bytes > MAX_PACKAGE_BYTES) throw new Error(`${where}: the package file is over ${MAX_PACKAGE_BYTES >> 20} MiB; nothing was written`);
    hash.update(chunk);
  }
  const got = hash.digest('hex');
  if (got !== declared) throw new Error(`${where}: the package file does not match the declared hash (declared ${declared}, got ${got} for ${tarball}); nothing was written`);
  return got;
}

/** An mcp.servers entry for a registry result: an npm package run by npx (stdio), else a remote URL. */
export async function entryFromRegistry(s: RegistryServer, o: { preferRemote?: boolean; npmUrl?: string } = {}): Promise<McpServerConfig> {
  const remote = s.remotes.find((r) => r.type === 'streamable-http') ?? s.remotes.find((r) => r.type === 'sse');
  const npm = s.packages.find((p) => p.registryType === 'npm' && (p.transport?.type ?? 'stdio') === 'stdio');
  const fromRemote = (): McpServerConfig => {
    const u = new URL(remote!.url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`registry entry ${s.name}: remote URL is not http(s): ${remote!.url}`);
    return { transport: 'http', url: remote!.url };
  };
  if (remote && (o.preferRemote || !npm)) return fromRemote();
  if (!npm) {
    const kinds = [...new Set(s.packages.map((p) => `${p.registryType}/${p.transport?.type ?? 'stdio'}`))].join(', ') || 'none';
    throw new Error(`registry entry ${s.name}: no npm stdio package and no remote to connect to (packages: ${kinds})`);
  }
  if (!SAFE_ID.test(npm.identifier)) throw new Error(`registry entry ${s.name}: bad npm package name '${npm.identifier}' (refused: it would be run as a command)`);
  const version = npm.version ?? s.version;
  if (version && !SAFE_VERSION.test(version)) throw new Error(`registry entry ${s.name}: bad package version '${version}'`);
  if (npm.fileSha256 !== undefined && !/^[0-9a-f]{64}$/.test(npm.fileSha256)) throw new Error(`registry entry ${s.name}: fileSha256 is not a SHA-256 hex digest: '${npm.fileSha256}'`);
  if (npm.fileSha256 !== undefined) {
    if (!version) throw new Error(`registry entry ${s.name}: a fileSha256 without a package version cannot be checked; nothing was written`);
    await checkNpmFileSha256(s.name, npm.identifier, version, npm.fileSha256, o.npmUrl ?? 'https://registry.npmjs.org');
  }
  const args = ['-y', version ? `${npm.identifier}@${version}` : npm.identifier];
  for (const a of npm.packageArguments ?? []) if (a.type === 'positional' && typeof a.value === 'string') args.push(a.value);
  const env = Object.fromEntries((npm.environmentVariables ?? []).filter((v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(v.name)).map((v) => [v.name, `\${${v.name}}`]));
  return { transport: 'stdio', command: 'npx', args, ...(Object.keys(env).length ? { env } : {}) };
}
