/**
 * The router proper, free of threads: resolves a model alias to its failover chain, runs it,
 * accounts usage to the provider that actually served. The actor (index.ts) is a thin shell.
 */
import { randomUUID } from 'node:crypto';
import { countTokens } from '../../src/lib/token-count.js';
import type { Logger } from 'pino';
import type { ActorStore } from '../../src/kernel/actor.js';
import type { ChatRequest, ChatResult, UsageRequest, UsageReply } from '../../protocol/provider.js';
import { AnthropicAdapter } from './adapters/anthropic.js';
import { OllamaAdapter } from './adapters/ollama.js';
import { OpenAiAdapter } from './adapters/openai.js';
import { SETUP_HINT, resolveSettings, type RouterSettings } from './config.js';
import { ChainError, FailoverChain, parseChainEntry, type ChainEntry, type DisabledProvider, type FailedOutput, type PersistedCooldown } from './failover.js';
import type { ProviderAdapter, ResolvedProvider, Timeouts } from './types.js';
import { UsageLedger, costUsd, countPromptTokens } from './usage.js';

const DISABLED_KEY = 'disabled';
const SERVER_MODEL_LABEL = '(from the server, on first use)';
const COOLDOWNS_KEY = 'cooldowns';

export const REDACT_PATHS = [
  'api_key', '*.api_key', '*.*.api_key', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization',
  '*.headers.authorization', 'headers["x-api-key"]', '*.headers["x-api-key"]', '["x-api-key"]',
];

export interface RouterOptions {
  rootConfig: Record<string, any>;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  store?: ActorStore;
}

export function makeAdapter(p: ResolvedProvider, t: Timeouts, maxOutput: number): ProviderAdapter {
  if (p.type === 'anthropic') return new AnthropicAdapter(p, t, maxOutput);
  if (p.type === 'ollama') return new OllamaAdapter(p, t);
  return new OpenAiAdapter(p, t);
}

export class ProviderRouter {
  readonly settings: RouterSettings;
  readonly chain: FailoverChain;
  readonly ledger: UsageLedger;
  private readonly adapters = new Map<string, ProviderAdapter>();
  private readonly running = new Map<string, AbortController>();
  private readonly log: Logger;

  constructor(opts: RouterOptions) {
    // Keys never reach a log line, even if an object carrying one is logged by mistake.
    this.log = opts.log.child({}, { redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
    this.settings = resolveSettings(opts.rootConfig, opts.env ?? process.env);
    const r = this.settings.router;
    const timeouts: Timeouts = {
      connect_timeout_ms: r.connect_timeout_ms, first_token_timeout_ms: r.first_token_timeout_ms,
      idle_timeout_ms: r.idle_timeout_ms, request_timeout_ms: r.request_timeout_ms,
    };
    const maxOut = Math.max(...Object.values(this.settings.models).map((m) => m.max_output_tokens), 1024);
    for (const p of this.settings.providers.values()) this.adapters.set(p.id, makeAdapter(p, timeouts, maxOut));
    const store = opts.store;
    // One record per kind of state, rewritten whole on change (a handful of entries at most).
    // Committed by lmdb's write thread within milliseconds; callers that must see it durable
    // before going on (tests, shutdown, a one-shot CLI exiting) await `store.flushed()`.
    const update = <T>(recordKey: string, key: string, v: T | undefined) => {
      if (!store) return;
      const cur = { ...(store.get<Record<string, T>>(recordKey) ?? {}) };
      if (v) cur[key] = v;
      else if (key in cur) delete cur[key];
      else return;
      void store.batch([{ key: recordKey, value: cur }]);
    };
    this.chain = new FailoverChain(this.adapters, r, this.log, {
      disabled: store?.get<Record<string, DisabledProvider>>(DISABLED_KEY) ?? {},
      cooldowns: store?.get<Record<string, PersistedCooldown>>(COOLDOWNS_KEY) ?? {},
      onDisabledChange: (key, d) => update(DISABLED_KEY, key, d),
      onCooldownChange: (key, c) => update(COOLDOWNS_KEY, key, c),
    });
    this.ledger = new UsageLedger(store, r.usage_retention_days);
    // Learn self-hosted servers' models now so `rustyclaw providers` names them; a server not up yet
    // is asked again on first use.
    for (const p of this.settings.providers.values()) {
      if (!p.model_from_server || p.unusable) continue;
      this.adapters.get(p.id)?.resolveModel?.(AbortSignal.timeout(r.connect_timeout_ms + r.first_token_timeout_ms))
        .then((m) => this.log.info({ provider: p.id, model: m }, `provider ${p.id}: no model configured; using '${m}', the one ${p.base_url} serves`))
        .catch((e: Error) => this.log.info({ provider: p.id }, `provider ${p.id}: model not learned yet (${e.message}); asked again on first use`));
    }
    const on = [...this.settings.providers.values()].filter((p) => !p.unusable).map((p) => `${p.id} (${p.type} ${p.base_url})`);
    if (on.length) this.log.info({ providers: on }, `LLM providers: ${on.join(', ')}`);
    else this.log.warn(`no LLM provider configured: chats will fail until you ${SETUP_HINT}`);
  }

  /** The chain for an alias, or a one-entry chain for an explicit `provider/model`. */
  resolveChain(model: string): { alias: string; chain: ChainEntry[]; max_output_tokens?: number } {
    const alias = model || 'default';
    const m = this.settings.models[alias];
    if (m) return { alias, chain: m.chain.map((s) => parseChainEntry(s, this.settings.providers)), max_output_tokens: m.max_output_tokens };
    const e = parseChainEntry(alias, this.settings.providers);
    if (alias.includes('/') && this.settings.providers.has(e.provider)) return { alias, chain: [e] };
    throw new ChainError('bad_request', `unknown model alias '${alias}' (known: ${Object.keys(this.settings.models).join(', ') || 'none'}; or use provider/model)`, []);
  }

  async chat(req: ChatRequest, onText: (text: string, provider: string) => void, external?: AbortSignal): Promise<ChatResult> {
    const request_id = req.request_id ?? randomUUID();
    let { alias, chain } = this.resolveChain(req.model);
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    external?.addEventListener('abort', onAbort, { once: true });
    if (external?.aborted) ac.abort();
    this.running.set(request_id, ac);
    try {
      // Checked here first: an `await` of a chain with nothing to learn still costs turns of the
      // microtask queue ahead of the request (time to first token).
      if (this.toLearn(chain).length && await this.learnModels(chain, ac.signal)) ({ alias, chain } = this.resolveChain(req.model));
      const { result, entry, attempts } = await this.chain.run(alias, chain, {
        messages: req.messages,
        ...(req.tools ? { tools: req.tools } : {}),
        ...(req.max_tokens !== undefined ? { max_tokens: req.max_tokens } : {}),
        ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      }, { onText: (t, provider) => onText(t, provider ?? '') }, ac.signal, SETUP_HINT, (f) => this.recordFailed(req, f));
      const p = this.settings.providers.get(entry.provider)!;
      const estimated = !result.usage;
      const input = result.usage?.input_tokens ?? countPromptTokens(req.messages);
      const output = result.usage?.output_tokens
        ?? countTokens(result.text) + countTokens(result.reasoning?.text ?? '') + countTokens(result.refusal ?? '')
          + result.tool_calls.reduce((n, c) => n + countTokens(c.name) + countTokens(c.arguments), 0);
      const cost = costUsd(p.prices, entry.model, input, output);
      // Accounting must not delay the answer: the lmdb write completes in the background.
      this.ledger.record({
        provider: entry.provider, model: entry.model, agent: req.agent ?? '-', purpose: req.purpose ?? 'chat',
        input_tokens: input, output_tokens: output, cost_usd: cost, at: Date.now(),
      }).catch((e: Error) => this.log.warn({ err: e.message }, 'usage record not persisted'));
      if (result.finish_reason === 'length' || result.finish_reason === 'refusal' || result.finish_reason === 'content_filter') {
        this.log.info({ provider: entry.provider, model: entry.model, finish_reason: result.finish_reason, raw: result.raw_finish_reason, agent: req.agent },
          `answer from ${entry.key} ended with ${result.finish_reason}${result.tool_calls.length ? ` (${result.tool_calls.length} tool call(s))` : ''}`);
      }
      return {
        request_id,
        text: result.text,
        tool_calls: result.tool_calls,
        finish_reason: result.finish_reason,
        ...(result.raw_finish_reason ? { raw_finish_reason: result.raw_finish_reason } : {}),
        ...(result.refusal ? { refusal: result.refusal } : {}),
        ...(result.reasoning ? { reasoning: result.reasoning } : {}),
        usage: {
          input_tokens: input, output_tokens: output, cost_usd: cost, provider: entry.provider, model: entry.model,
          ...(estimated ? { estimated } : {}), ...(result.usage?.reasoning_tokens ? { reasoning_tokens: result.usage.reasoning_tokens } : {}),
        },
        attempts,
      };
    } finally {
      this.running.delete(request_id);
      external?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Entries of self-hosted servers with no model configured learn it from the server before the
   * chain runs, so usage and attempts name the real model. A failure is left to the attempt itself
   * (the adapter raises it again), where failover treats it like any other.
   */
  private toLearn(chain: ChainEntry[]): ChainEntry[] {
    return chain.filter((e) => !e.model && this.settings.providers.get(e.provider)?.model_from_server);
  }

  private async learnModels(chain: ChainEntry[], signal: AbortSignal): Promise<boolean> {
    const pending = this.toLearn(chain);
    if (!pending.length) return false;
    let learned = false;
    await Promise.all(pending.map(async (e) => {
      const p = this.settings.providers.get(e.provider)!;
      if (p.unusable) return;
      try {
        const model = await this.adapters.get(e.provider)?.resolveModel?.(signal);
        if (model) {
          learned = true;
          this.log.info({ provider: p.id, model }, `provider ${p.id}: no model configured; using '${model}', the one ${p.base_url} serves`);
        }
      } catch { /* reported by the attempt */ }
    }));
    return learned;
  }

  /** A stream that failed after producing output is billed by the provider: record it as `failed`. */
  private recordFailed(req: ChatRequest, f: FailedOutput): void {
    const p = this.settings.providers.get(f.entry.provider);
    if (!p) return;
    const input = f.usage?.input_tokens || countPromptTokens(req.messages);
    const output = Math.max(f.usage?.output_tokens ?? 0, countTokens(f.text) + countTokens(f.reasoning));
    this.ledger.record({
      provider: f.entry.provider, model: f.entry.model, agent: req.agent ?? '-', purpose: req.purpose ?? 'chat',
      input_tokens: input, output_tokens: output, cost_usd: costUsd(p.prices, f.entry.model, input, output), at: Date.now(), status: 'failed',
    }).catch((e: Error) => this.log.warn({ err: e.message }, 'usage record not persisted'));
  }

  cancel(request_id: string): boolean {
    const ac = this.running.get(request_id);
    if (!ac) return false;
    ac.abort();
    return true;
  }

  cancelAll(): void {
    for (const ac of this.running.values()) ac.abort();
  }

  usage(req: UsageRequest = {}): UsageReply {
    return this.ledger.report(req.group_by, req.since);
  }

  status(): { providers: ReturnType<FailoverChain['status']>; aliases: Record<string, string[]> } {
    const aliases: Record<string, string[]> = {};
    const seen = new Map<string, ChainEntry>();
    for (const [alias, m] of Object.entries(this.settings.models)) {
      const chain = m.chain.map((s) => parseChainEntry(s, this.settings.providers));
      // A model still to be learned from its server is shown as such, not as an empty name.
      aliases[alias] = chain.map((e) => (e.model ? e.key : `${e.provider}/${SERVER_MODEL_LABEL}`));
      for (const e of chain) seen.set(e.key, e);
    }
    const label = (m: string) => m || SERVER_MODEL_LABEL;
    return { providers: this.chain.status([...seen.values()]).map((p) => ({ ...p, model: label(p.model) })), aliases };
  }
}
