/**
 * Classified provider failures. Every failure an adapter sees becomes a `ProviderError` whose
 * `kind` decides what the failover chain does with it (see `isRetryable`).
 */
export type FailureKind =
  | 'rate_limited' // 429
  | 'server' // 500/502/503/504 and other 5xx
  | 'overloaded' // 529 / overloaded_error
  | 'timeout'
  | 'connection' // reset, refused, DNS, socket closed
  | 'stream_died' // the stream ended or broke before its first token
  | 'bad_response' // HTML or non-JSON where JSON was expected, malformed chunk
  | 'bad_request' // 400, 404, 422: not retried
  | 'auth' // 401/403: provider disabled until its config changes
  | 'context_length' // prompt too large: compaction, not failover
  | 'config' // missing key / not configured
  | 'stream_failed' // broke after tokens reached the caller: never spliced
  | 'cancelled';

const RETRYABLE: ReadonlySet<FailureKind> = new Set<FailureKind>([
  'rate_limited', 'server', 'overloaded', 'timeout', 'connection', 'stream_died', 'bad_response', 'auth', 'config',
]);

export class ProviderError extends Error {
  readonly kind: FailureKind;
  readonly provider: string;
  readonly status?: number;
  /** From a Retry-After header, in ms. */
  readonly retryAfterMs?: number;
  constructor(kind: FailureKind, provider: string, message: string, extra: { status?: number; retryAfterMs?: number } = {}) {
    super(`${provider}: ${message}`);
    this.name = 'ProviderError';
    this.kind = kind;
    this.provider = provider;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = extra.retryAfterMs;
  }
}

/** Whether the chain may move on to the next provider (auth/config: this provider is skipped). */
export function isRetryable(kind: FailureKind): boolean {
  return RETRYABLE.has(kind);
}

/** Parse Retry-After: delay-seconds or an HTTP date. Returns ms (≥ 0) or undefined. */
export function parseRetryAfter(value: string | string[] | undefined | null, now = Date.now()): number | undefined {
  if (value === undefined || value === null) return undefined;
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

const CONTEXT_PATTERNS = [
  /context[_ ]length/i,
  /maximum context/i,
  /context window/i,
  /prompt is too long/i,
  /input is too long/i,
  /too many tokens/i,
  /exceeds? the (model'?s )?(maximum|max)/i,
  /reduce the length of the messages/i,
];

export function looksLikeContextLength(message: string, code?: unknown): boolean {
  if (code === 'context_length_exceeded') return true;
  return CONTEXT_PATTERNS.some((re) => re.test(message));
}

/** Map an HTTP error status (+ parsed error message) to a failure. */
export function classifyStatus(provider: string, status: number, message: string, retryAfterMs?: number, code?: unknown): ProviderError {
  const msg = `HTTP ${status}${message ? `: ${message}` : ''}`;
  const extra = { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if ((status === 400 || status === 413 || status === 422) && looksLikeContextLength(message, code)) {
    return new ProviderError('context_length', provider, msg, extra);
  }
  if (status === 401 || status === 403) return new ProviderError('auth', provider, msg, extra);
  if (status === 429) return new ProviderError('rate_limited', provider, msg, extra);
  if (status === 529) return new ProviderError('overloaded', provider, msg, extra);
  if (status === 408) return new ProviderError('timeout', provider, msg, extra);
  if (status >= 500) return new ProviderError('server', provider, msg, extra);
  return new ProviderError('bad_request', provider, msg, extra);
}

/** Map a network-level error (undici / node) to a failure. */
export function classifyNetworkError(provider: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code ?? '';
  const message = e?.message ?? String(err);
  if (/TIMEOUT/i.test(code) || e?.name === 'TimeoutError') return new ProviderError('timeout', provider, `timed out (${code || message})`);
  if (e?.name === 'AbortError') return new ProviderError('cancelled', provider, 'request cancelled');
  return new ProviderError('connection', provider, `connection failed (${code || 'error'}: ${message})`);
}
