/**
 * The failover chain: an ordered list of `provider/model` entries per model alias.
 *
 * - the entry that served last for the alias is tried first;
 * - retryable failures (429, 5xx, 529, timeouts, resets, a stream dying before its first token,
 *   HTML/malformed answers) put the entry into a cooldown that doubles with each consecutive
 *   failure (circuit breaker) — or lasts exactly `Retry-After` when the provider sent one — and the
 *   next entry is tried at once;
 * - quota/billing errors (insufficient_quota, 402, daily caps) are not transient: the entry cools
 *   down for `quota_cooldown_ms` and the next entry is tried at once (never waited for);
 * - 404 (model not pulled / not served there) concerns that entry only: it cools down and the
 *   chain moves on;
 * - 401/403 disable that entry (provider/model) until its provider's configuration changes;
 * - 400 and context-length errors are returned to the caller as they are: they would fail
 *   the same way anywhere (context length is the caller's cue to compact);
 * - cooldowns and disables are persisted (lmdb, via the callbacks) so restarts and one-shot CLI
 *   runs do not go straight back to a rate-limited or broken entry;
 * - once text reached the caller, a failure is final (`stream_failed`): answers are never spliced.
 */
import type { Logger } from 'pino';
import type { Attempt } from '../../protocol/provider.js';
import { ProviderError, type FailureKind } from './errors.js';
import type { AdapterRequest, AdapterResult, AdapterUsage, ProviderAdapter, ResolvedProvider, StreamSink } from './types.js';

export interface ChainEntry {
  provider: string;
  model: string;
  /** `provider/model` */
  key: string;
}

export interface BreakerOptions {
  cooldown_base_ms: number;
  cooldown_max_ms: number;
  max_retry_wait_ms: number;
  max_attempts: number;
  quota_cooldown_ms?: number;
  not_found_cooldown_ms?: number;
}

interface BreakerState {
  failures: number;
  cooldownUntil: number;
  lastError?: string;
  /** Worth waiting for: the provider answered (429/5xx/529) or named a time (Retry-After). */
  waitable: boolean;
  kind?: FailureKind;
  since?: number;
}

/** A cooldown as persisted: it holds only while the provider's settings are unchanged. */
export interface PersistedCooldown {
  until: number;
  failures: number;
  reason: string;
  kind: string;
  since: number;
  waitable: boolean;
  fingerprint: string;
}

/** What a failed attempt produced before it failed (the provider bills it). */
export interface FailedOutput {
  entry: ChainEntry;
  text: string;
  reasoning: string;
  usage?: AdapterUsage;
}

export interface ChainPersistence {
  /** By entry key (`provider/model`); a bare provider id (older stores) covers all its entries. */
  disabled?: Record<string, DisabledProvider>;
  cooldowns?: Record<string, PersistedCooldown>;
  onDisabledChange?(key: string, d: DisabledProvider | undefined): void;
  onCooldownChange?(key: string, c: PersistedCooldown | undefined): void;
}

const WAITABLE: ReadonlySet<FailureKind> = new Set<FailureKind>(['rate_limited', 'overloaded', 'server']);

export interface DisabledProvider {
  fingerprint: string;
  reason: string;
  at: number;
  kind?: string;
}

/** A failure the chain hands to the caller, with everything it tried. */
export class ChainError extends Error {
  constructor(readonly code: 'all_providers_failed' | 'no_provider' | 'context_length' | 'bad_request' | 'stream_failed' | 'cancelled',
    message: string, readonly attempts: Attempt[], readonly provider?: string) {
    super(message);
    this.name = 'ChainError';
  }
}

export interface ChainSuccess {
  result: AdapterResult;
  entry: ChainEntry;
  attempts: Attempt[];
}

/** Parse `provider` or `provider/model` (models may contain slashes, e.g. OpenRouter ids). */
export function parseChainEntry(spec: string, providers: Map<string, ResolvedProvider>): ChainEntry {
  const s = spec.trim();
  const slash = s.indexOf('/');
  const provider = slash < 0 ? s : s.slice(0, slash);
  const p = providers.get(provider);
  const model = slash < 0 ? p?.default_model ?? '' : s.slice(slash + 1);
  // No model yet (one a self-hosted server is to name): the entry is the provider itself.
  return { provider, model, key: model ? `${provider}/${model}` : provider };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ProviderError('cancelled', 'router', 'request cancelled'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new ProviderError('cancelled', 'router', 'request cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class FailoverChain {
  private readonly breakers = new Map<string, BreakerState>();
  private readonly lastGood = new Map<string, string>();
  private readonly disabled: Map<string, DisabledProvider>;
  private readonly persist: ChainPersistence;

  constructor(
    private readonly adapters: Map<string, ProviderAdapter>,
    private readonly opts: BreakerOptions,
    private readonly log: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>,
    persisted: ChainPersistence = {},
    private readonly now: () => number = Date.now,
  ) {
    this.persist = persisted;
    this.disabled = new Map();
    const providerOf = (key: string) => key.split('/')[0];
    // A disable or cooldown persisted earlier holds only while the provider's settings are unchanged.
    for (const [key, d] of Object.entries(persisted.disabled ?? {})) {
      const a = adapters.get(providerOf(key));
      if (a && a.provider.fingerprint === d.fingerprint) this.disabled.set(key, d);
      else if (a) {
        log.info({ provider: a.provider.id }, `provider ${key}: configuration changed since it was disabled (${d.reason}); enabled again`);
        persisted.onDisabledChange?.(key, undefined);
      }
    }
    const t = now();
    for (const [key, c] of Object.entries(persisted.cooldowns ?? {})) {
      const a = adapters.get(providerOf(key));
      if (a && a.provider.fingerprint === c.fingerprint && c.until > t) {
        this.breakers.set(key, { failures: c.failures, cooldownUntil: c.until, lastError: c.reason, waitable: c.waitable, kind: c.kind as FailureKind, since: c.since });
      } else persisted.onCooldownChange?.(key, undefined);
    }
  }

  private disabledFor(e: ChainEntry): DisabledProvider | undefined {
    return this.disabled.get(e.key) ?? this.disabled.get(e.provider);
  }

  /** Entries in the order they should be tried now (last good first). */
  order(alias: string, chain: ChainEntry[]): ChainEntry[] {
    const good = this.lastGood.get(alias);
    if (!good) return chain;
    const i = chain.findIndex((e) => e.key === good);
    return i <= 0 ? chain : [chain[i], ...chain.slice(0, i), ...chain.slice(i + 1)];
  }

  /** Why an entry cannot be tried right now, or undefined when it can. */
  private blocked(e: ChainEntry, now: number): { reason: string; until?: number; waitable?: boolean } | undefined {
    const a = this.adapters.get(e.provider);
    if (!a) return { reason: 'unknown provider (not in providers:)' };
    if (a.provider.unusable) return { reason: a.provider.unusable };
    const d = this.disabledFor(e);
    if (d) return { reason: `disabled after ${d.reason}; fix its key/config to enable it again` };
    const b = this.breakers.get(e.key);
    if (b && b.cooldownUntil > now) {
      const left = b.cooldownUntil - now;
      return { reason: `cooling down for ${left < 1000 ? `${left} ms` : `${Math.ceil(left / 1000)} s`} after ${b.lastError ?? 'failures'}`, until: b.cooldownUntil, waitable: b.waitable };
    }
    return undefined;
  }

  private fail(e: ChainEntry, err: ProviderError): void {
    const now = this.now();
    const b = this.breakers.get(e.key) ?? { failures: 0, cooldownUntil: 0, waitable: false };
    b.failures += 1;
    let ms: number;
    if (err.kind === 'quota' || err.kind === 'not_found') {
      // Not transient: nothing to wait for within a request; long cooldown.
      b.waitable = false;
      const long = err.kind === 'quota' ? this.opts.quota_cooldown_ms ?? 3_600_000 : this.opts.not_found_cooldown_ms ?? 600_000;
      ms = Math.max(long, err.retryAfterMs ?? 0);
    } else {
      b.waitable = err.retryAfterMs !== undefined || WAITABLE.has(err.kind);
      const backoff = Math.min(this.opts.cooldown_max_ms, this.opts.cooldown_base_ms * 2 ** (b.failures - 1));
      ms = err.retryAfterMs !== undefined ? err.retryAfterMs : backoff;
    }
    b.cooldownUntil = now + ms;
    b.lastError = err.message.replace(`${e.provider}: `, '');
    b.kind = err.kind;
    b.since = now;
    this.breakers.set(e.key, b);
    const a = this.adapters.get(e.provider);
    if (a) {
      this.persist.onCooldownChange?.(e.key, {
        until: b.cooldownUntil, failures: b.failures, reason: b.lastError, kind: err.kind, since: now, waitable: b.waitable, fingerprint: a.provider.fingerprint,
      });
    }
  }

  private succeed(alias: string, e: ChainEntry): void {
    if (this.breakers.delete(e.key)) this.persist.onCooldownChange?.(e.key, undefined);
    this.lastGood.set(alias, e.key);
  }

  /** 401/403: this entry only (keys and permissions can differ per model, e.g. OpenRouter key limits). */
  private disable(e: ChainEntry, err: ProviderError): void {
    const a = this.adapters.get(e.provider);
    if (!a) return;
    const d: DisabledProvider = { fingerprint: a.provider.fingerprint, reason: err.message.replace(`${e.provider}: `, ''), at: this.now(), kind: err.kind };
    this.disabled.set(e.key, d);
    const keyHint = a.provider.api_key_env ? ` (check ${a.provider.api_key_env})` : '';
    this.log.error({ provider: e.provider, model: e.model, status: err.status },
      `provider ${e.provider} disabled: ${d.reason}${keyHint} for entry ${e.key}; it stays disabled until its configuration changes`);
    this.persist.onDisabledChange?.(e.key, d);
  }

  status(chainKeys: ChainEntry[]): Array<{ provider: string; model: string; state: string; failures: number; cooldown_until?: number; reason?: string; kind?: string; since?: number }> {
    const now = this.now();
    return chainKeys.map((e) => {
      const a = this.adapters.get(e.provider);
      const b = this.breakers.get(e.key);
      const d = this.disabledFor(e);
      const cooling = b && b.cooldownUntil > now;
      const state = !a || a.provider.unusable ? 'unconfigured' : d ? 'disabled' : cooling ? 'cooldown' : 'ok';
      return {
        provider: e.provider, model: e.model, state, failures: b?.failures ?? 0,
        ...(cooling ? { cooldown_until: b.cooldownUntil } : {}),
        ...(d ? { reason: d.reason, kind: d.kind ?? 'auth', since: d.at } : a?.provider.unusable ? { reason: a.provider.unusable }
          : b?.lastError ? { reason: b.lastError, ...(b.kind ? { kind: b.kind } : {}), ...(b.since ? { since: b.since } : {}) } : {}),
      };
    });
  }

  async run(alias: string, chain: ChainEntry[], req: Omit<AdapterRequest, 'model'>, sink: StreamSink, signal: AbortSignal, hint: string,
    onFailedOutput?: (f: FailedOutput) => void): Promise<ChainSuccess> {
    const attempts: Attempt[] = [];
    const lastFailure = new Map<string, string>();
    const triedThisRound = new Set<string>();
    let waited = 0;
    for (;;) {
      if (signal.aborted) throw new ChainError('cancelled', 'request cancelled', attempts);
      const now = this.now();
      const ordered = this.order(alias, chain);
      let pick: ChainEntry | undefined;
      let soonest: { entry: ChainEntry; until: number } | undefined;
      for (const e of ordered) {
        const blk = this.blocked(e, now);
        if (!blk && !triedThisRound.has(e.key)) {
          pick = e;
          break;
        }
        // Unreachable providers (connection/timeout) are not waited for: fail fast instead.
        if (blk?.until !== undefined && blk.waitable && (!soonest || blk.until < soonest.until)) soonest = { entry: e, until: blk.until };
      }
      if (!pick && soonest && attempts.length < this.opts.max_attempts) {
        // Everything usable is cooling down: wait for the first one if that is short enough.
        const wait = soonest.until - now;
        if (waited + wait <= this.opts.max_retry_wait_ms) {
          this.log.info({ provider: soonest.entry.provider, wait_ms: wait }, `all providers for '${alias}' cooling down; retrying ${soonest.entry.key} in ${wait} ms`);
          try {
            await abortableSleep(wait, signal);
          } catch {
            throw new ChainError('cancelled', 'request cancelled', attempts);
          }
          waited += wait;
          triedThisRound.clear();
          continue;
        }
      }
      if (!pick || attempts.length >= this.opts.max_attempts) throw this.exhausted(alias, chain, attempts, lastFailure, hint);

      triedThisRound.add(pick.key);
      const adapter = this.adapters.get(pick.provider)!;
      let emitted = false;
      const started = this.now();
      const serving = pick.provider;
      const out = { text: '', reasoning: '', usage: undefined as AdapterUsage | undefined };
      try {
        const result = await adapter.chat({ ...req, model: pick.model }, {
          onText(t) {
            emitted = true;
            out.text += t;
            sink.onText(t, serving);
          },
          onUsage(u) {
            out.usage = u;
            sink.onUsage?.(u);
          },
          onReasoning(t) {
            out.reasoning += t;
            sink.onReasoning?.(t);
          },
        }, signal);
        attempts.push({ provider: pick.provider, model: pick.model, ok: true, ms: this.now() - started });
        this.succeed(alias, pick);
        return { result, entry: pick, attempts };
      } catch (e) {
        const err = e instanceof ProviderError ? e : new ProviderError('connection', pick.provider, String((e as Error)?.message ?? e));
        const kind: FailureKind = signal.aborted ? 'cancelled' : err.kind;
        attempts.push({ provider: pick.provider, model: pick.model, ok: false, error: err.message, code: kind, ms: this.now() - started });
        lastFailure.set(pick.key, err.message.replace(`${pick.provider}: `, ''));
        if (out.text || out.reasoning || out.usage) {
          try { onFailedOutput?.({ entry: pick, ...out }); } catch { /* accounting must not mask the failure */ }
        }
        if (err.unmappedCode) {
          this.log.warn({ provider: pick.provider, model: pick.model, code: err.unmappedCode, status: err.status, kind },
            `provider ${pick.provider}: unknown error code '${err.unmappedCode}' (HTTP ${err.status}), classified by its status as ${kind}`);
        }
        if (kind === 'cancelled') throw new ChainError('cancelled', 'request cancelled', attempts, pick.provider);
        if (emitted) {
          this.fail(pick, err);
          this.log.warn({ provider: pick.provider, kind }, `provider ${pick.provider} failed mid-stream: ${err.message}`);
          throw new ChainError('stream_failed', `${err.message} (${pick.key}; the stream broke after text was sent; not retried elsewhere)`, attempts, pick.provider);
        }
        // The message names the entry (provider and model) as well as the provider's own words.
        if (kind === 'context_length') throw new ChainError('context_length', `${err.message} (${pick.key})`, attempts, pick.provider);
        if (kind === 'bad_request') throw new ChainError('bad_request', `${err.message} (${pick.key})`, attempts, pick.provider);
        if (kind === 'auth') this.disable(pick, err);
        else if (kind !== 'config') {
          this.fail(pick, err);
          this.log.warn({ provider: pick.provider, kind, status: err.status }, `provider ${pick.provider} failed (${kind}), trying the next: ${err.message}`);
        }
      }
    }
  }

  private exhausted(alias: string, chain: ChainEntry[], attempts: Attempt[], lastFailure: Map<string, string>, hint: string): ChainError {
    const now = this.now();
    const everUsable = chain.some((e) => {
      const a = this.adapters.get(e.provider);
      return a && !a.provider.unusable;
    });
    if (!everUsable) {
      const why = chain.map((e) => `${e.provider}: ${this.blocked(e, now)?.reason ?? 'unavailable'}`).join('; ');
      return new ChainError('no_provider', `no LLM provider is configured for model '${alias}' (${why}). To chat, ${hint}`, attempts);
    }
    const parts = chain.map((e) => `${e.key}: ${lastFailure.get(e.key) ?? this.blocked(e, now)?.reason ?? 'not tried'}`);
    const only = new Set(attempts.map((a) => a.provider));
    return new ChainError('all_providers_failed', `all providers failed for model '${alias}': ${parts.join('; ')}`, attempts,
      only.size === 1 ? [...only][0] : undefined);
  }
}
