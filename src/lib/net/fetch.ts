/**
 * The one outbound HTTP entry point for tools and providers: `safeFetch(url, init)`.
 *
 * SSRF defence in three places:
 *  1. the URL is checked statically (scheme, literal addresses in every spelling, internal names);
 *  2. the host name is resolved ONCE inside the connection's `lookup`, every resolved address is
 *     checked, and the socket connects to exactly the checked address (no second resolution for a
 *     rebinding DNS server to exploit);
 *  3. redirects are followed by hand, each hop going through 1 and 2 again.
 * Callers talking to a service the user configured on purpose (a local llama.cpp at 127.0.0.1)
 * opt out per call with `trusted: true`.
 */
import { lookup as dnsLookup } from 'node:dns';
import { createRequire } from 'node:module';
import { isIP, type LookupFunction } from 'node:net';
import type { Agent, Dispatcher, RequestInit as UndiciRequestInit, Response } from 'undici';
import { UrlPolicy, type UrlPolicyOptions, type UrlVerdict } from './url-guard.js';
import { duringBlockingLoad } from '../../kernel/blocking.js';

export { UrlPolicy, type UrlPolicyOptions, type UrlVerdict } from './url-guard.js';

/** Resolves a host name to every address it has. Injected in tests; defaults to the OS resolver. */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addrs) => {
      if (err) reject(err);
      else resolve(addrs.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })));
    });
  });

/** Thrown (as the fetch rejection) when the guard blocks a request or a redirect hop. */
export class SsrfBlockedError extends Error {
  readonly code = 'ssrf_blocked';
  readonly url: string;
  readonly verdict: UrlVerdict;
  readonly hop: number;
  constructor(url: string, verdict: UrlVerdict, hop: number) {
    super(`blocked outbound request${hop > 0 ? ` (redirect hop ${hop})` : ''} to ${safeUrlForLog(url)}: ${verdict.reason ?? 'not allowed'}`);
    this.name = 'SsrfBlockedError';
    this.url = url;
    this.verdict = verdict;
    this.hop = hop;
  }
}

/** Drops userinfo and query from a URL before it goes into an error or a log line. */
export function safeUrlForLog(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

/**
 * Resolves `hostname` once and checks every address; any blocked address blocks the name
 * (a name that mixes public and private answers is a rebinding setup).
 */
export async function resolveAndCheck(hostname: string, policy: UrlPolicy, resolver: Resolver = systemResolver): Promise<UrlVerdict & { addresses: Array<{ address: string; family: 4 | 6 }> }> {
  let addrs: Array<{ address: string; family: 4 | 6 }>;
  try {
    addrs = await resolver(hostname);
  } catch (e) {
    return { allowed: false, reason: `DNS lookup of "${hostname}" failed: ${(e as Error).message}`, host: hostname, rule: 'dns-failure', addresses: [] };
  }
  if (addrs.length === 0) return { allowed: false, reason: `"${hostname}" has no addresses`, host: hostname, rule: 'dns-failure', addresses: [] };
  for (const a of addrs) {
    const v = policy.checkAddress(a.address);
    if (!v.allowed) return { ...v, host: hostname, reason: `"${hostname}" resolves to ${a.address}: ${v.reason}`, addresses: addrs };
  }
  return { allowed: true, host: hostname, address: addrs[0].address, rule: 'resolved-public', addresses: addrs };
}

/** A `net.connect` lookup that resolves once, checks, and hands back exactly the checked addresses. */
export function guardedLookup(policy: UrlPolicy, resolver: Resolver, onResolved?: (host: string, addresses: string[]) => void): LookupFunction {
  return ((hostname: string, options: any, callback: any) => {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    resolveAndCheck(hostname, policy, resolver).then((v) => {
      if (!v.allowed) {
        const err = Object.assign(new SsrfBlockedError(`http://${hostname}/`, v, 0), { code: 'ssrf_blocked' });
        callback(err);
        return;
      }
      let addrs = v.addresses;
      if (options?.family === 4 || options?.family === 6) addrs = addrs.filter((a) => a.family === options.family);
      onResolved?.(hostname, addrs.map((a) => a.address));
      if (addrs.length === 0) callback(Object.assign(new Error(`no address of family ${options.family} for ${hostname}`), { code: 'ENOTFOUND' }));
      else if (options?.all) callback(null, addrs);
      else callback(null, addrs[0].address, addrs[0].family);
    }, (e) => callback(e));
  }) as LookupFunction;
}

export interface SafeFetchInit extends Omit<UndiciRequestInit, 'dispatcher' | 'redirect'> {
  /** Skip the SSRF guard for a destination the user configured explicitly (e.g. a local model server). */
  trusted?: boolean;
  /** Redirects to follow (each re-checked); default 5. 0 returns the 3xx response itself. */
  maxRedirects?: number;
  /** Guard policy; defaults to the built-in one. */
  policy?: UrlPolicy | UrlPolicyOptions;
  /** DNS resolver (tests inject one); defaults to the OS resolver. */
  resolver?: Resolver;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
  /** Observer for every hop, e.g. for audit logging. */
  onHop?: (hop: { url: string; hop: number; addresses?: string[] }) => void;
}

const defaultPolicy = new UrlPolicy();
// undici is loaded on the first fetch, not at import: it costs ~20 MB RSS and ~200 ms in every
// thread that imports this module (safety and tool-runner do, for the URL policy alone). Loaded
// synchronously as a declared blocking load, like the provider router's: on a starved machine the
// load blocks the thread for seconds, which the liveness judge must not take for a hang.
type Undici = typeof import('undici');
let undiciModule: Undici | undefined;
const loadUndici = (): Undici => (undiciModule ??= duringBlockingLoad(() => createRequire(import.meta.url)('undici') as Undici));
let defaultAgent: Agent | undefined;
let trustedAgent: Agent | undefined;

function agentFor({ Agent }: Undici, policy: UrlPolicy, resolver: Resolver, onResolved?: (host: string, a: string[]) => void): { agent: Agent; owned: boolean } {
  if (policy === defaultPolicy && resolver === systemResolver && !onResolved) {
    defaultAgent ??= new Agent({ connect: { lookup: guardedLookup(defaultPolicy, systemResolver) } });
    return { agent: defaultAgent, owned: false };
  }
  return { agent: new Agent({ connect: { lookup: guardedLookup(policy, resolver, onResolved) } }), owned: true };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * fetch() with the SSRF guard. Rejects with `SsrfBlockedError` when the URL, a resolved address or a
 * redirect hop is not allowed. Same return type as undici's fetch.
 */
export async function safeFetch(url: string | URL, init: SafeFetchInit = {}): Promise<Response> {
  const { trusted, maxRedirects = 5, policy: policyOpt, resolver = systemResolver, timeoutMs = 30_000, onHop, ...rest } = init;
  const href = String(url);
  const undici = loadUndici();
  const { Agent, Headers, fetch: undiciFetch } = undici;
  const signal = rest.signal ?? AbortSignal.timeout(timeoutMs);
  if (trusted) {
    trustedAgent ??= new Agent();
    return undiciFetch(href, { ...rest, signal, dispatcher: trustedAgent as Dispatcher, redirect: 'follow' });
  }
  const policy = policyOpt instanceof UrlPolicy ? policyOpt : policyOpt ? new UrlPolicy(policyOpt) : defaultPolicy;
  let lastAddresses: string[] | undefined;
  const { agent, owned } = agentFor(undici, policy, resolver, onHop ? (_h, a) => { lastAddresses = a; } : undefined);
  let current = href;
  let method = (rest.method ?? 'GET').toUpperCase();
  let body = rest.body;
  let headers = new Headers(rest.headers as any);
  try {
    for (let hop = 0; ; hop++) {
      const verdict = policy.checkUrl(current);
      if (!verdict.allowed) throw new SsrfBlockedError(current, verdict, hop);
      if (!/^https?:$/.test(new URL(current).protocol)) {
        throw new SsrfBlockedError(current, { allowed: false, reason: 'safeFetch speaks http(s) only', rule: 'scheme' }, hop);
      }
      lastAddresses = undefined;
      let res: Response;
      try {
        res = await undiciFetch(current, { ...rest, method, body, headers, signal, dispatcher: agent as Dispatcher, redirect: 'manual' });
      } catch (e) {
        const cause = (e as { cause?: unknown }).cause;
        if (cause instanceof SsrfBlockedError) throw new SsrfBlockedError(current, cause.verdict, hop);
        throw e;
      }
      onHop?.({ url: current, hop, addresses: lastAddresses ?? (isIP(new URL(current).hostname.replace(/^\[|\]$/g, '')) ? [new URL(current).hostname] : undefined) });
      const location = res.headers.get('location');
      if (!REDIRECTS.has(res.status) || !location || maxRedirects === 0) return res;
      if (hop >= maxRedirects) throw new SsrfBlockedError(current, { allowed: false, reason: `more than ${maxRedirects} redirects`, rule: 'redirect-limit' }, hop);
      await res.body?.cancel().catch(() => undefined);
      const next = new URL(location, current).href;
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
        headers.delete('content-type');
        headers.delete('content-length');
      }
      // Never carry credentials to another origin.
      if (new URL(next).origin !== new URL(current).origin) {
        headers = new Headers(headers);
        for (const h of ['authorization', 'cookie', 'proxy-authorization', 'x-api-key']) headers.delete(h);
      }
      current = next;
    }
  } finally {
    if (owned) void agent.close().catch(() => undefined);
  }
}
