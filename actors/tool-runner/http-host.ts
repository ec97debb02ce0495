/**
 * Host side of `rustyclaw.http_request`: the only way a tool reaches the network. The request
 * (JSON from the module) must target a host in the manifest's `network.allow`; it then goes
 * through the SSRF-guarded `safeFetch` (loopback, private and metadata addresses refused unless
 * `tools.network` trusts them; redirects are returned, not followed, so each hop is checked
 * again). Secrets are added here, from the service's environment, only for their own host, and
 * every injected value is scrubbed from the response before it enters module memory.
 */
import { safeFetch, SsrfBlockedError, type Resolver } from '../../src/lib/net/index.js';
import type { ToolManifest, ToolsConfig } from '../../protocol/tool-runner.js';

export interface HttpRequestFromTool {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

const enc = new TextEncoder();
const reply = (o: unknown) => enc.encode(JSON.stringify(o));
const err = (code: string, message: string) => reply({ error: { code, message } });

/** `*.example.com` matches sub-domains; anything else matches exactly (case-insensitive). */
export function hostAllowed(host: string, allow: string[]): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return allow.some((a) => {
    const p = a.toLowerCase();
    return p.startsWith('*.') ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p;
  });
}

export function redactSecrets(text: string, secrets: Array<{ name: string; value: string }>): string {
  let out = text;
  for (const s of secrets) if (s.value.length >= 4) out = out.split(s.value).join(`[REDACTED:secret:${s.name}]`);
  return out;
}

export interface HttpHostOptions {
  manifest: ToolManifest;
  config: ToolsConfig['network'];
  env: NodeJS.ProcessEnv;
  resolver?: Resolver;
  onRequest?: (e: { host: string; method: string; status?: number; error?: string }) => void;
}

export function makeHttpHost(o: HttpHostOptions): (req: Uint8Array) => Promise<Uint8Array> {
  const policy = { allowedCidrs: o.config.allowed_cidrs, allowedHosts: o.config.allowed_hosts };
  return async (raw) => {
    let req: HttpRequestFromTool;
    try {
      req = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw)) as HttpRequestFromTool;
      if (!req || typeof req.url !== 'string') throw new Error('"url" (a string) is required');
    } catch (e) {
      return err('invalid_request', `the request is not a JSON object with a url: ${(e as Error).message}`);
    }
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return err('invalid_request', `not a URL: ${req.url.slice(0, 200)}`);
    }
    const method = (req.method ?? 'GET').toUpperCase();
    if (!/^[A-Z]{1,16}$/.test(method)) return err('invalid_request', `bad method ${method.slice(0, 20)}`);
    const host = url.hostname;
    if (!hostAllowed(host, o.manifest.network.allow)) {
      o.onRequest?.({ host, method, error: 'network_denied' });
      return err('network_denied', `host ${host} is not in network.allow of tool ${o.manifest.name}${o.manifest.network.allow.length ? ` (allowed: ${o.manifest.network.allow.join(', ')})` : ' (no network access)'}`);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers ?? {})) {
      if (typeof v === 'string' && /^[A-Za-z0-9-]{1,128}$/.test(k) && !/^(host|connection|transfer-encoding|content-length)$/i.test(k)) headers[k] = v;
    }
    const used: Array<{ name: string; value: string }> = [];
    for (const s of o.manifest.secrets) {
      if (s.host.toLowerCase() !== host.toLowerCase()) continue;
      const value = o.env[s.name];
      if (!value) return err('secret_missing', `secret ${s.name} for ${s.host} is not set in the service's environment`);
      for (const k of Object.keys(headers)) if (k.toLowerCase() === s.header.toLowerCase()) delete headers[k];
      headers[s.header] = s.format.split('{value}').join(value);
      used.push({ name: s.name, value });
    }
    try {
      const res = await safeFetch(url, {
        method, headers, ...(req.body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body: String(req.body) } : {}),
        policy, maxRedirects: 0, timeoutMs: o.config.request_timeout_ms, ...(o.resolver ? { resolver: o.resolver } : {}),
      });
      const { text, truncated } = await readCapped(res.body, o.config.max_response_bytes);
      const outHeaders: Record<string, string> = {};
      res.headers.forEach((v, k) => { outHeaders[k] = redactSecrets(v, used); });
      o.onRequest?.({ host, method, status: res.status });
      return reply({ status: res.status, headers: outHeaders, body: redactSecrets(text, used), ...(truncated ? { truncated: true } : {}) });
    } catch (e) {
      if (e instanceof SsrfBlockedError) {
        o.onRequest?.({ host, method, error: 'ssrf_blocked' });
        return err('network_denied', e.message);
      }
      const cause = (e as { cause?: { message?: string } }).cause;
      o.onRequest?.({ host, method, error: 'fetch_failed' });
      return err('fetch_failed', redactSecrets(`${(e as Error).message}${cause?.message ? `: ${cause.message}` : ''}`, used));
    }
  };
}

async function readCapped(body: ReadableStream<Uint8Array> | null, cap: number): Promise<{ text: string; truncated: boolean }> {
  if (!body) return { text: '', truncated: false };
  const parts: Uint8Array[] = [];
  let n = 0;
  let truncated = false;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.length > cap) {
      parts.push(value.subarray(0, cap - n));
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    parts.push(value);
    n += value.length;
  }
  return { text: Buffer.concat(parts).toString('utf8'), truncated };
}
