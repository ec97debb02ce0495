/**
 * One streamed POST with the timeouts a chat stream needs: connect, first token, idle gap between
 * chunks and an overall limit. Error statuses are turned into classified `ProviderError`s, with
 * the provider's own error message extracted from JSON bodies and HTML pages recognised as such.
 */
import { createRequire } from 'node:module';
import type { Agent, Dispatcher } from 'undici';
import { duringBlockingLoad } from '../../src/kernel/blocking.js';
import { ProviderError, classifyNetworkError, classifyStatus, parseRetryAfter } from './errors.js';
import type { Timeouts } from './types.js';
import { SseParser } from './sse.js';

// undici (~20 MB RSS, ~200 ms) is loaded by the first request, not when the router is imported:
// a tree whose router is never used (or not yet) does not pay for it. The load is synchronous (its
// CJS build) and declared as a blocking load: on a starved machine it takes seconds, which the
// liveness judge must not take for a stuck thread (it did, with a plain dynamic import).
type Undici = typeof import('undici');
let undiciModule: Undici | undefined;
const loadUndici = (): Undici => (undiciModule ??= duringBlockingLoad(() => createRequire(import.meta.url)('undici') as Undici));

const dispatchers = new Map<number, Agent>();
/** Keep-alive pools shared by all adapters, one per connect timeout. */
function dispatcherFor(undici: Undici, connectTimeoutMs: number): Dispatcher {
  let d = dispatchers.get(connectTimeoutMs);
  if (!d) {
    d = new undici.Agent({ connect: { timeout: connectTimeoutMs }, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 30_000 });
    dispatchers.set(connectTimeoutMs, d);
  }
  return d;
}

/** Close pooled connections (tests, shutdown). */
export async function closeHttpPools(): Promise<void> {
  const all = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.all(all.map((d) => d.close().catch(() => undefined)));
}

/** The abort reason of a finished exchange (never reported: the request's outcome is settled by then). */
const EXCHANGE_OVER = new Error('exchange over');

export interface StreamCallOptions {
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  timeouts: Timeouts;
  signal: AbortSignal;
  /** What the body should be: 'sse' | 'ndjson' (used for the content-type check). */
  expect: 'sse' | 'ndjson';
  /** Scrubbed from error messages (providers sometimes echo the key back). */
  secret?: string;
}

function scrub(e: ProviderError, secret: string | undefined): ProviderError {
  if (!secret || secret.length < 4 || !e.message.includes(secret)) return e;
  const msg = e.message.slice(e.provider.length + 2).split(secret).join('[redacted]');
  return new ProviderError(e.kind, e.provider, msg, { ...(e.status !== undefined ? { status: e.status } : {}), ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) });
}

/** Controls of a running stream, given to the adapter's chunk loop. */
export interface StreamControl {
  /** Call once the first token/tool delta arrived: switches from first-token to idle timeout. */
  firstToken(): void;
  /** The response's content type (a JSON body answering a stream request is used as it is). */
  readonly contentType: string;
}

function looksLikeHtml(text: string, contentType: string): boolean {
  return /text\/html/i.test(contentType) || /^\s*(<!doctype html|<html|<head|<body)/i.test(text);
}

function htmlTitle(text: string): string {
  const m = /<title[^>]*>([^<]{0,120})/i.exec(text);
  return m ? ` ("${m[1].trim()}")` : '';
}

/** Extract a readable message (and code) from an error body in any of the three wire formats. */
export function errorMessageFromBody(text: string, contentType: string): { message: string; code?: unknown; type?: string } {
  if (looksLikeHtml(text, contentType)) return { message: `answered HTML instead of JSON${htmlTitle(text)}` };
  try {
    const j = JSON.parse(text) as any;
    const e = j?.error;
    if (typeof e === 'string') return { message: e };
    if (e && typeof e === 'object') {
      // OpenRouter wraps the upstream provider's own error body in metadata.raw.
      const raw = typeof e.metadata?.raw === 'string' ? ` (upstream: ${e.metadata.raw.slice(0, 200)})` : '';
      return { message: `${String(e.message ?? JSON.stringify(e))}${raw}`, code: e.code, ...(typeof e.type === 'string' ? { type: e.type } : {}) };
    }
    if (typeof j?.message === 'string') return { message: j.message };
    return { message: text.slice(0, 300) };
  } catch {
    return { message: text.trim().slice(0, 300) || '(empty body)' };
  }
}

async function readLimited(body: AsyncIterable<Buffer | Uint8Array>, limit = 64 * 1024): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = Buffer.from(c);
    parts.push(b);
    n += b.length;
    if (n >= limit) break;
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * POST and feed every body chunk to `onChunk`. Resolves when the body ends; `onChunk` may throw
 * to stop. Throws a `ProviderError` on any failure.
 */
export async function streamPost(
  opts: StreamCallOptions,
  onChunk: (chunk: Buffer, ctl: StreamControl) => void,
): Promise<void> {
  const { provider, timeouts } = opts;
  // Before the timers start: the first call's load is not charged to the provider's timeouts.
  const undici = loadUndici();
  const ac = new AbortController();
  let failure: ProviderError | undefined;
  const abortWith = (e: ProviderError) => {
    if (!failure) failure = e;
    ac.abort(e);
  };
  const onOuterAbort = () => abortWith(new ProviderError('cancelled', provider, 'request cancelled'));
  if (opts.signal.aborted) onOuterAbort();
  else opts.signal.addEventListener('abort', onOuterAbort, { once: true });

  let gotFirst = false;
  let gapTimer: NodeJS.Timeout | undefined;
  const armGap = () => {
    if (gapTimer) clearTimeout(gapTimer);
    const ms = gotFirst ? timeouts.idle_timeout_ms : timeouts.first_token_timeout_ms;
    gapTimer = setTimeout(() => abortWith(new ProviderError('timeout', provider,
      gotFirst ? `no data for ${ms} ms while streaming` : `no first token within ${ms} ms`)), ms);
  };
  const hardTimer = setTimeout(() => abortWith(new ProviderError('timeout', provider, `request exceeded ${timeouts.request_timeout_ms} ms`)), timeouts.request_timeout_ms);
  const ctl: StreamControl = {
    contentType: '',
    firstToken() {
      if (!gotFirst) {
        gotFirst = true;
        armGap();
      }
    },
  };
  armGap();
  let gotHeaders = false;
  try {
    const res = await undici.request(opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...opts.headers },
      body: JSON.stringify(opts.body),
      signal: ac.signal,
      dispatcher: dispatcherFor(undici, timeouts.connect_timeout_ms),
    });
    gotHeaders = true;
    const ctype = String(res.headers['content-type'] ?? '');
    if (res.statusCode >= 400) {
      const text = await readLimited(res.body);
      const { message, code, type } = errorMessageFromBody(text, ctype);
      // OpenAI/Azure also send `retry-after-ms`; it is more precise than `retry-after` when present.
      const ms = Number(res.headers['retry-after-ms']);
      const retryAfter = Number.isFinite(ms) && ms >= 0 && res.headers['retry-after-ms'] !== undefined ? ms : parseRetryAfter(res.headers['retry-after'] as string | undefined);
      throw classifyStatus(provider, res.statusCode, message, retryAfter, code, type);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      res.body.destroy();
      throw new ProviderError('bad_response', provider, `unexpected HTTP ${res.statusCode}`, { status: res.statusCode });
    }
    if (/text\/html/i.test(ctype)) {
      const text = await readLimited(res.body);
      throw new ProviderError('bad_response', provider, `answered HTML instead of ${opts.expect === 'sse' ? 'an event stream' : 'NDJSON'}${htmlTitle(text)}`, { status: res.statusCode });
    }
    (ctl as { contentType: string }).contentType = ctype;
    for await (const chunk of res.body) {
      // Before the first token only the first-token deadline runs: keep-alive comments
      // (`: OPENROUTER PROCESSING`) and empty role chunks must not extend it.
      if (gotFirst) armGap();
      try {
        onChunk(chunk as Buffer, ctl);
      } catch (e) {
        // A parser's complaint (line too long, bad UTF-8 framing) is the response's fault, not the network's.
        throw e instanceof ProviderError ? e : new ProviderError('bad_response', provider, (e as Error).message);
      }
    }
  } catch (err) {
    if (failure) throw failure;
    if (err instanceof ProviderError) throw scrub(err, opts.secret);
    const net = classifyNetworkError(provider, err);
    // The response had started: the stream broke (before or after its first token — the chain decides).
    if (gotHeaders && net.kind === 'connection') throw new ProviderError('stream_died', provider, `stream broke ${gotFirst ? 'mid-answer' : 'before its first token'} (${net.message.replace(`${provider}: `, '')})`);
    throw net;
  } finally {
    clearTimeout(hardTimer);
    if (gapTimer) clearTimeout(gapTimer);
    opts.signal.removeEventListener('abort', onOuterAbort);
    // Releases undici's hold on a body left unread. With a reason: `abort()` without one builds a
    // DOMException and its stack trace, ~0.1 ms of every request's tail (CPU profile of the router
    // thread, provider bench), before the reply could go out.
    if (!ac.signal.aborted) ac.abort(EXCHANGE_OVER);
  }
}

/** Largest single JSON document accepted when a provider answers a stream request without streaming. */
const MAX_JSON_ANSWER_BYTES = 32 * 1024 * 1024;

/**
 * A streamed POST that expects SSE. Every event goes to `onEvent`; a provider that answers with one
 * JSON body instead (HTTP 200, application/json) has it decoded whole (chunks joined first, so a
 * UTF-8 character split across chunks survives), parsed and handed to `whole`.
 */
export async function streamSseOrJson(
  opts: StreamCallOptions,
  onEvent: (event: string, data: string, ctl: { firstToken(): void }) => void,
  whole: (json: unknown, raw: string) => void,
): Promise<void> {
  const parser = new SseParser();
  const json: Buffer[] = [];
  let jsonBytes = 0;
  await streamPost(opts, (chunk, ctl) => {
    if (/application\/json/i.test(ctl.contentType)) {
      json.push(chunk);
      jsonBytes += chunk.length;
      if (jsonBytes > MAX_JSON_ANSWER_BYTES) throw new ProviderError('bad_response', opts.provider, 'JSON answer larger than 32 MiB');
      return;
    }
    // Each event as soon as it is parsed: the first delta is not held behind the rest of its read.
    parser.push(chunk, (ev) => onEvent(ev.event, ev.data, ctl));
  });
  if (json.length) {
    const raw = Buffer.concat(json).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new ProviderError('bad_response', opts.provider, `answered a stream request with a JSON content type but the body is not JSON: ${raw.slice(0, 120)}`);
    }
    whole(parsed, raw);
  }
  else for (const ev of parser.end()) onEvent(ev.event, ev.data, { firstToken() {} });
}

/**
 * A small GET expecting JSON (a model list): one deadline for the whole exchange, errors classified
 * like a chat's, bodies capped so a hostile server cannot fill memory.
 */
export async function getJson(
  opts: { provider: string; url: string; headers: Record<string, string>; timeoutMs: number; connectTimeoutMs: number; signal: AbortSignal; secret?: string },
): Promise<unknown> {
  const undici = loadUndici();
  const ac = new AbortController();
  const onOuterAbort = () => ac.abort();
  opts.signal.addEventListener('abort', onOuterAbort, { once: true });
  const timer = setTimeout(() => ac.abort(new ProviderError('timeout', opts.provider, `GET ${opts.url}: no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
  try {
    const res = await undici.request(opts.url, { method: 'GET', headers: { accept: 'application/json', ...opts.headers }, signal: ac.signal, dispatcher: dispatcherFor(undici, opts.connectTimeoutMs) });
    const ctype = String(res.headers['content-type'] ?? '');
    const text = await readLimited(res.body, 4 * 1024 * 1024);
    if (res.statusCode >= 400) {
      const { message, code, type } = errorMessageFromBody(text, ctype);
      throw classifyStatus(opts.provider, res.statusCode, `GET ${opts.url}: ${message}`, undefined, code, type);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new ProviderError('bad_response', opts.provider, `GET ${opts.url}: ${looksLikeHtml(text, ctype) ? `answered HTML${htmlTitle(text)}` : 'answered something that is not JSON'}`);
    }
  } catch (err) {
    if (ac.signal.reason instanceof ProviderError) throw ac.signal.reason;
    if (opts.signal.aborted) throw new ProviderError('cancelled', opts.provider, 'request cancelled');
    if (err instanceof ProviderError) throw scrub(err, opts.secret);
    const net = classifyNetworkError(opts.provider, err);
    throw scrub(new ProviderError(net.kind, opts.provider, `GET ${opts.url}: ${net.message.slice(opts.provider.length + 2)}`), opts.secret);
  } finally {
    clearTimeout(timer);
    opts.signal.removeEventListener('abort', onOuterAbort);
  }
}
