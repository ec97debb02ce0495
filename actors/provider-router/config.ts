/**
 * Resolve the `providers:` / `models:` / `provider_router:` sections against the environment:
 * a provider with `enabled: auto` is on when its conventional variables are set
 * (OPENAI_API_KEY or OPENAI_BASE_URL, ANTHROPIC_API_KEY, OLLAMA_HOST).
 */
import { createHash } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import {
  ModelAliasSchema, ModelsConfigSchema, ProviderEntrySchema, ProviderRouterConfigSchema, ProvidersConfigSchema,
  type ModelsConfig, type ProviderEntry, type ProviderRouterConfig, type ProvidersConfig,
} from '../../protocol/provider.js';
import type { ResolvedProvider } from './types.js';

const BUILTIN: Record<ResolvedProvider['type'], { base_url: string; model: string }> = {
  openai: { base_url: 'https://api.openai.com/v1', model: 'gpt-4o-mini' },
  anthropic: { base_url: 'https://api.anthropic.com', model: 'claude-3-5-haiku-latest' },
  ollama: { base_url: 'http://127.0.0.1:11434', model: 'llama3.2' },
};

/** Per-million-token prices for well-known models (USD); config `prices:` entries win. */
export const DEFAULT_PRICES: Record<string, { input_per_mtok: number; output_per_mtok: number }> = {
  'gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 },
  'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10 },
  'gpt-4.1-mini': { input_per_mtok: 0.4, output_per_mtok: 1.6 },
  'gpt-4.1': { input_per_mtok: 2, output_per_mtok: 8 },
  'claude-3-5-haiku-latest': { input_per_mtok: 0.8, output_per_mtok: 4 },
  'claude-3-5-sonnet-latest': { input_per_mtok: 3, output_per_mtok: 15 },
  'claude-sonnet-4-0': { input_per_mtok: 3, output_per_mtok: 15 },
};

const CONVENTIONS: Record<string, Partial<ProviderEntry>> = {
  openai: { base_url_env: 'OPENAI_BASE_URL', api_key_env: 'OPENAI_API_KEY', model_env: 'OPENAI_MODEL' },
  anthropic: { base_url_env: 'ANTHROPIC_BASE_URL', api_key_env: 'ANTHROPIC_API_KEY', model_env: 'ANTHROPIC_MODEL' },
  ollama: { base_url_env: 'OLLAMA_HOST', model_env: 'OLLAMA_MODEL' },
};

function stripUndefined(o: unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries((o ?? {}) as Record<string, unknown>).filter(([, v]) => v !== undefined));
}

export interface RouterSettings {
  providers: Map<string, ResolvedProvider>;
  models: ModelsConfig;
  router: ProviderRouterConfig;
}

function withDefaults<T>(schema: Parameters<typeof Value.Default>[0], value: unknown): T {
  const v = Value.Default(schema, structuredClone(value ?? undefined)) as T;
  return v;
}

function normaliseBase(type: ResolvedProvider['type'], url: string): string {
  let u = url.trim();
  if (type === 'ollama' && u && !/^https?:\/\//i.test(u)) u = `http://${u}`; // OLLAMA_HOST may be host:port
  return u.replace(/\/+$/, '');
}

export function resolveProvider(id: string, e: ProviderEntry, env: NodeJS.ProcessEnv): ResolvedProvider {
  const type = e.type;
  const envBase = e.base_url_env ? env[e.base_url_env]?.trim() ?? '' : '';
  const envKey = e.api_key_env ? env[e.api_key_env]?.trim() ?? '' : '';
  const envModel = e.model_env ? env[e.model_env]?.trim() ?? '' : '';
  const base_url = normaliseBase(type, e.base_url || envBase || BUILTIN[type].base_url);
  const api_key = e.api_key || envKey;
  // A hosted API's conventional model is a safe default; a self-hosted server's model is its own:
  // asked from the server on first use (and never billed at a hosted model's prices).
  const hosted = base_url === BUILTIN.openai.base_url || base_url === BUILTIN.anthropic.base_url;
  const model_from_server = !e.model && !envModel && type === 'openai' && !hosted;
  const default_model = e.model || envModel || (model_from_server ? '' : BUILTIN[type].model);
  let unusable: string | undefined;
  if (e.enabled === false) unusable = 'disabled in config (enabled: false)';
  else if (e.enabled === 'auto') {
    const explicitBase = Boolean(e.base_url || envBase);
    const on = type === 'ollama' ? explicitBase : type === 'openai' ? Boolean(api_key) || explicitBase : Boolean(api_key);
    if (!on) {
      const vars = (type === 'openai' ? [e.api_key_env, e.base_url_env] : [e.api_key_env]).filter(Boolean).join(' or ');
      unusable = `not configured (set ${type === 'ollama' ? e.base_url_env || 'base_url' : vars || 'api_key'})`;
    }
  }
  // A hosted API without a key would only collect 401s: say what is missing instead.
  if (!unusable && !api_key && (type === 'anthropic' || hosted)) {
    unusable = `missing API key (set ${e.api_key_env || `providers.${id}.api_key`})`;
  }
  // List prices are the hosted APIs'; a local or self-hosted server (OPENAI_BASE_URL=http://127.0.0.1…)
  // costs nothing per token unless its entry configures prices.
  const prices: ResolvedProvider['prices'] = hosted ? { ...DEFAULT_PRICES } : {};
  for (const [k, v] of Object.entries(e.prices ?? {})) prices[k] = { input_per_mtok: v.input_per_mtok ?? 0, output_per_mtok: v.output_per_mtok ?? 0 };
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([type, base_url, api_key, default_model, e.headers, e.body ?? {}]))
    .digest('hex').slice(0, 16);
  return {
    id, type, base_url, api_key, api_key_env: e.api_key_env, default_model, ...(model_from_server ? { model_from_server } : {}), headers: { ...e.headers }, body: { ...(e.body ?? {}) }, prices, fingerprint,
    ...(unusable ? { unusable } : {}),
  };
}

/** Build settings from the root config (its `providers`, `models`, `provider_router` sections). */
export function resolveSettings(root: Record<string, any>, env: NodeJS.ProcessEnv = process.env): RouterSettings {
  const providersCfg = withDefaults<ProvidersConfig>(ProvidersConfigSchema, root.providers);
  // Record defaults only apply when the section is absent; entries still need their own defaults.
  for (const [id, entry] of Object.entries(providersCfg)) {
    // Entries named like a built-in type follow its env conventions unless told otherwise.
    const conv = CONVENTIONS[id];
    const e: Record<string, unknown> = { ...(conv ? { type: id, ...conv } : {}), ...stripUndefined(entry) };
    const full = withDefaults<ProviderEntry>(ProviderEntrySchema, e);
    providersCfg[id] = full;
  }
  const models = withDefaults<ModelsConfig>(ModelsConfigSchema, root.models);
  for (const [alias, m] of Object.entries(models)) models[alias] = withDefaults(ModelAliasSchema, m);
  const router = withDefaults<ProviderRouterConfig>(ProviderRouterConfigSchema, root.provider_router ?? {});
  const providers = new Map<string, ResolvedProvider>();
  for (const [id, entry] of Object.entries(providersCfg)) providers.set(id, resolveProvider(id, entry, env));
  return { providers, models, router };
}

/** The env variables that would configure a provider, for the "nothing configured" error. */
export const SETUP_HINT =
  'set OPENAI_API_KEY (optionally OPENAI_BASE_URL and OPENAI_MODEL), or only OPENAI_BASE_URL for a local ' +
  'OpenAI-compatible server (llama.cpp, vLLM, LM Studio), or ANTHROPIC_API_KEY, or OLLAMA_HOST — ' +
  'or configure `providers:` in rustyclaw.yaml';
