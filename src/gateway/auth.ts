/**
 * Who may call the gateway: bearer tokens (the endpoint's own token from endpoint.json, one from
 * the environment, hashes from a token file), compared as SHA-256 digests in constant time, and
 * a failed-auth lockout per client address (429 + Retry-After while locked).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const sha256 = (s: string) => createHash('sha256').update(s).digest();
/** Distinct valid tokens remembered (a handful in practice: the endpoint's, the env one, a file's). */
const MATCHED_KEPT = 64;

export interface TokenSources {
  /** The endpoint's generated token (also in endpoint.json). */
  endpointToken: string;
  /** A token from the environment (`gateway.token_env`). */
  envToken?: string;
  /** A file of `sha256:<hex>` lines (`gateway.token_file`). */
  tokenFile?: string;
}

/** Tokens kept only as digests; `match` returns a stable id of the matching token (never the token). */
export class TokenSet {
  private readonly digests: Array<{ id: string; d: Buffer }> = [];

  constructor(s: TokenSources) {
    this.digests.push({ id: 'endpoint', d: sha256(s.endpointToken) });
    if (s.envToken) this.digests.push({ id: 'env', d: sha256(s.envToken) });
    if (s.tokenFile) {
      const lines = readFileSync(s.tokenFile, 'utf8').split('\n');
      lines.forEach((raw, i) => {
        const line = raw.trim();
        if (!line || line.startsWith('#')) return;
        const m = /^sha256:([0-9a-f]{64})$/i.exec(line);
        if (!m) throw new Error(`${s.tokenFile} line ${i + 1}: expected sha256:<64 hex digits> (the SHA-256 of a token, e.g. printf %s "$TOKEN" | sha256sum)`);
        this.digests.push({ id: `file:${i + 1}`, d: Buffer.from(m[1]!, 'hex') });
      });
    }
  }

  /** True when a token other than the generated one exists (required for a non-loopback bind). */
  get configured(): boolean {
    return this.digests.length > 1;
  }

  /**
   * Tokens that matched, by value (at most MATCHED_KEPT). A client sends the same token on every
   * request, and hashing it each time was ~6 % of a small request's CPU. Only matches are kept: a
   * wrong token always takes the full constant-time path, and the cache cannot be filled by guesses.
   */
  private readonly matched = new Map<string, string>();

  match(given: string | undefined): string | null {
    if (!given) return null;
    const known = this.matched.get(given);
    if (known !== undefined) return known;
    const hit = this.compare(given);
    if (hit !== null) {
      if (this.matched.size >= MATCHED_KEPT) this.matched.clear();
      this.matched.set(given, hit);
    }
    return hit;
  }

  private compare(given: string): string | null {
    const d = sha256(given);
    let hit: string | null = null;
    // Every digest is compared (no early exit), each in constant time.
    for (const t of this.digests) if (timingSafeEqual(d, t.d) && hit === null) hit = t.id;
    return hit;
  }
}

/** `Authorization: Bearer <token>` → the token. */
export function bearer(header: string | string[] | undefined): string | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  const m = h ? /^Bearer[ \t]+(\S+)\s*$/i.exec(h) : null;
  return m ? m[1] : undefined;
}

/** Query parameters that carry credentials in other tools; a request with one is refused outright. */
const TOKEN_PARAMS = /(?:^|[?&])(token|access_token|api_key|apikey|key|auth|authorization|bearer)=/i;

export function tokenInQuery(url: string): string | null {
  const q = url.indexOf('?');
  if (q < 0) return null;
  const m = TOKEN_PARAMS.exec(url.slice(q));
  return m ? m[1]!.toLowerCase() : null;
}

export interface LockoutOptions {
  enabled: boolean;
  max_failures: number;
  window_ms: number;
  lockout_ms: number;
}

/** Failed authentications per address; `max_failures` within `window_ms` locks it for `lockout_ms`. */
export class Lockout {
  private readonly failures = new Map<string, number[]>();
  private readonly locked = new Map<string, number>();

  constructor(private readonly o: LockoutOptions, private readonly clock: () => number = Date.now) {}

  /** Milliseconds the address stays locked (0 = not locked). */
  lockedFor(addr: string): number {
    if (!this.o.enabled) return 0;
    const until = this.locked.get(addr);
    if (until === undefined) return 0;
    const left = until - this.clock();
    if (left > 0) return left;
    this.locked.delete(addr);
    return 0;
  }

  /** Record a failure; returns the lock time when this failure locked the address. */
  fail(addr: string): number {
    if (!this.o.enabled) return 0;
    const now = this.clock();
    const list = (this.failures.get(addr) ?? []).filter((t) => t > now - this.o.window_ms);
    list.push(now);
    if (list.length >= this.o.max_failures) {
      this.failures.delete(addr);
      this.locked.set(addr, now + this.o.lockout_ms);
      return this.o.lockout_ms;
    }
    this.failures.set(addr, list);
    // Bounded memory under a spray of addresses: forget the oldest.
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value as string);
    return 0;
  }

  succeed(addr: string): void {
    this.failures.delete(addr);
  }
}
