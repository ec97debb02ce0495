/**
 * Classified provider failures. Every failure an adapter sees becomes a `ProviderError` whose
 * `kind` decides what the failover chain does with it (see `isRetryable`).
 */
export type FailureKind =
  | 'rate_limited' // 429 (transient)
  | 'quota' // quota / billing / daily cap: not transient — fail over at once, long cooldown (persisted)
  | 'server' // 500/502/503/504 and other 5xx
  | 'overloaded' // 529 / overloaded_error
  | 'timeout'
  | 'connection' // reset, refused, DNS, socket closed
  | 'stream_died' // the stream ended or broke before its first token
  | 'bad_response' // HTML or non-JSON where JSON was expected, malformed chunk
  | 'not_found' // 404 (model not pulled / not served here): this entry only, fail over
  | 'bad_request' // 400, 422: not retried, not failed over
  | 'auth' // 401/403: this entry disabled until its config changes
  | 'context_length' // prompt too large: compaction, not failover
  | 'config' // missing key / not configured
  | 'stream_failed' // broke after tokens reached the caller: never spliced
  | 'cancelled';

const RETRYABLE: ReadonlySet<FailureKind> = new Set<FailureKind>([
  'rate_limited', 'quota', 'server', 'overloaded', 'timeout', 'connection', 'stream_died', 'bad_response', 'not_found', 'auth', 'config',
]);

export class ProviderError extends Error {
  readonly kind: FailureKind;
  readonly provider: string;
  readonly status?: number;
  /** From a Retry-After header, in ms. */
  readonly retryAfterMs?: number;
  /** The provider's error code/type when it had one that is not in the table below (classified by status). */
  readonly unmappedCode?: string;
  constructor(kind: FailureKind, provider: string, message: string, extra: { status?: number; retryAfterMs?: number; unmappedCode?: string } = {}) {
    super(`${provider}: ${message}`);
    this.name = 'ProviderError';
    this.kind = kind;
    this.provider = provider;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = extra.retryAfterMs;
    if (extra.unmappedCode !== undefined) this.unmappedCode = extra.unmappedCode;
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

/**
 * Known error codes/types of each provider family, mapped explicitly (docs/providers.md has the
 * table). Keys are the `error.code` or `error.type` strings of the error body.
 */
export const KNOWN_ERROR_CODES: Readonly<Record<string, FailureKind>> = {
  // OpenAI (and the compatible long tail that copies its codes)
  context_length_exceeded: 'context_length',
  string_above_max_length: 'context_length',
  insufficient_quota: 'quota',
  billing_hard_limit_reached: 'quota',
  billing_not_active: 'quota',
  rate_limit_exceeded: 'rate_limited',
  tokens: 'rate_limited',
  requests: 'rate_limited',
  invalid_api_key: 'auth',
  invalid_request_error: 'bad_request',
  model_not_found: 'not_found',
  server_error: 'server',
  // llama.cpp server
  exceed_context_size_error: 'context_length',
  unavailable_error: 'server',
  not_supported_error: 'bad_request',
  authentication_error: 'auth', // also Anthropic
  // Anthropic
  permission_error: 'auth',
  not_found_error: 'not_found',
  request_too_large: 'context_length',
  rate_limit_error: 'rate_limited',
  api_error: 'server',
  overloaded_error: 'overloaded',
  billing_error: 'quota',
  // vLLM / SGLang (FastAPI error types) and others
  BadRequestError: 'bad_request',
  NotFoundError: 'not_found',
  InternalServerError: 'server',
  ServiceUnavailableError: 'server',
  RESOURCE_EXHAUSTED: 'rate_limited',
};

const CONTEXT_PATTERNS = [
  /context[_ ]length/i,
  /maximum context/i,
  /context window/i,
  /available context size/i, // llama.cpp: "request (N tokens) exceeds the available context size (M tokens)"
  /prompt is too long/i,
  /input is too long/i,
  /too many tokens/i,
  /exceeds? the (model'?s )?(maximum|max)/i,
  /reduce the length of the messages/i,
];

/** Quota/billing/daily caps: waiting seconds will not help (OpenAI, OpenRouter, Anthropic, DeepSeek). */
const QUOTA_PATTERNS = [
  /exceeded your current quota/i,
  /insufficient[_ ](quota|balance|credits?)/i,
  /credit balance is too low/i,
  /free-models-per-day/i,
  /per[- ]day/i,
  /daily (limit|quota|cap)/i,
  /billing/i,
];

const NOT_FOUND_PATTERNS = [/model ['"]?[^'"]*['"]? not found/i, /model_not_found/i, /does not exist/i, /no such model/i];

export function looksLikeContextLength(message: string, code?: unknown): boolean {
  if (typeof code === 'string' && KNOWN_ERROR_CODES[code] === 'context_length') return true;
  return CONTEXT_PATTERNS.some((re) => re.test(message));
}

/**
 * Map an HTTP error status (+ the body's message, code and type) to a failure: known codes first,
 * then message patterns, then the status. A code the table does not know is reported on the error
 * (`unmappedCode`) so the chain logs a warning.
 */
export function classifyStatus(provider: string, status: number, message: string, retryAfterMs?: number, code?: unknown, type?: unknown): ProviderError {
  const msg = `HTTP ${status}${message ? `: ${message}` : ''}`;
  const extra: { status: number; retryAfterMs?: number; unmappedCode?: string } = { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  const names = [code, type].filter((x): x is string => typeof x === 'string' && x !== '' && !/^\d+$/.test(x));
  const known = names.map((n) => KNOWN_ERROR_CODES[n]).filter((k): k is FailureKind => k !== undefined);
  const make = (kind: FailureKind) => new ProviderError(kind, provider, msg, extra);
  // The most specific signal wins: the context and quota codes say more than a generic type.
  for (const k of ['context_length', 'quota', 'auth', 'not_found', 'overloaded'] as FailureKind[]) if (known.includes(k)) return make(k);
  if (status < 500 && status !== 429 && looksLikeContextLength(message)) return make('context_length');
  if (status === 402 || ((status === 429 || status === 403 || status === 400) && QUOTA_PATTERNS.some((re) => re.test(message)))) return make('quota');
  if (status === 404) return make('not_found');
  if (status !== 429 && status < 500 && NOT_FOUND_PATTERNS.some((re) => re.test(message)) && status !== 400) return make('not_found');
  // Generic types (invalid_request_error, api_error, …) say less than these statuses.
  if (!known.length && names.length) extra.unmappedCode = names.join('/');
  if (status === 401 || status === 403) return make('auth');
  if (status === 429) return make('rate_limited');
  if (status === 529) return make('overloaded');
  if (status === 408) return make('timeout');
  if (status >= 500) return make('server');
  if (known.length) return make(known[0]);
  return make('bad_request');
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
