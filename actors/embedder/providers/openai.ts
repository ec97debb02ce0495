/**
 * Any OpenAI-compatible `POST {base}/embeddings` endpoint (OpenAI, Azure-style proxies, Ollama,
 * LM Studio, vLLM...). Key from the env variable named in config (OPENAI_API_KEY by default);
 * base URL from config, else OPENAI_BASE_URL, else https://api.openai.com/v1.
 * Retries 429/5xx honouring Retry-After.
 */
import { EmbedderError, type EmbeddingProvider } from '../types.js';

export interface OpenAIProviderOptions {
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** 0 = the model's native size. */
  dimensions: number;
  batchSize: number;
  timeoutMs: number;
  maxTokens: number;
  retries?: number;
}

export function resolveOpenAIOptions(cfg: { base_url: string; api_key_env: string; model: string; dimensions: number; batch_size: number; timeout_ms: number; max_tokens: number }, env: NodeJS.ProcessEnv = process.env): OpenAIProviderOptions {
  const baseUrl = (cfg.base_url || env.OPENAI_BASE_URL || 'https://api.openai.com/v1').replace(/\/+$/, '');
  const apiKey = env[cfg.api_key_env] || undefined;
  return { baseUrl, ...(apiKey ? { apiKey } : {}), model: cfg.model, dimensions: cfg.dimensions, batchSize: cfg.batch_size, timeoutMs: cfg.timeout_ms, maxTokens: cfg.max_tokens };
}

export class OpenAIProvider implements EmbeddingProvider {
  readonly kind = 'openai';
  readonly model: string;
  readonly maxTokens: number;
  private constructor(
    private readonly opts: OpenAIProviderOptions,
    readonly dim: number,
  ) {
    this.model = `openai:${opts.model}${opts.dimensions ? `@${opts.dimensions}` : ''}`;
    this.maxTokens = opts.maxTokens;
  }

  /** Checks the endpoint with one tiny request (learns the dimension). */
  static async create(opts: OpenAIProviderOptions): Promise<OpenAIProvider> {
    if (!opts.apiKey && /api\.openai\.com/.test(opts.baseUrl)) {
      throw new EmbedderError('provider_unavailable', 'openai embeddings need an API key: set OPENAI_API_KEY (or embedder.openai.api_key_env)');
    }
    const [v] = await request(opts, ['dimension probe']);
    return new OpenAIProvider(opts, v.length);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.opts.batchSize) {
      const part = await request(this.opts, texts.slice(i, i + this.opts.batchSize));
      for (const v of part) {
        if (v.length !== this.dim) throw new EmbedderError('model_dim_mismatch', `${this.opts.baseUrl} returned a ${v.length}-dim vector, expected ${this.dim}`);
        out.push(v);
      }
    }
    return out;
  }

  async close(): Promise<void> {}
}

async function request(opts: OpenAIProviderOptions, input: string[]): Promise<Float32Array[]> {
  const url = `${opts.baseUrl}/embeddings`;
  const body = JSON.stringify({ model: opts.model, input, encoding_format: 'float', ...(opts.dimensions ? { dimensions: opts.dimensions } : {}) });
  const retries = opts.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}) },
        body,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
    } catch (e) {
      if (attempt < retries) {
        await sleep(250 * 2 ** attempt);
        continue;
      }
      throw new EmbedderError('provider_unavailable', `embeddings endpoint ${url} unreachable: ${(e as Error).message}`);
    }
    if ((res.status === 429 || res.status >= 500) && attempt < retries) {
      await sleep(retryAfterMs(res.headers.get('retry-after')) ?? 250 * 2 ** attempt);
      continue;
    }
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      throw new EmbedderError('provider_error', `embeddings endpoint ${url} returned HTTP ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
    }
    if (!res.ok) throw new EmbedderError(res.status === 401 ? 'provider_unauthorized' : 'provider_error', `embeddings endpoint ${url}: HTTP ${res.status} ${json?.error?.message ?? ''}`.trim());
    const data: Array<{ index: number; embedding: number[] }> = json?.data;
    if (!Array.isArray(data) || data.length !== input.length) throw new EmbedderError('provider_error', `embeddings endpoint ${url} returned ${Array.isArray(data) ? data.length : 'no'} vectors for ${input.length} inputs`);
    return [...data].sort((a, b) => a.index - b.index).map((d) => normalise(Float32Array.from(d.embedding)));
  }
}

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.min(s * 1000, 30_000);
  const d = Date.parse(h);
  return Number.isFinite(d) ? Math.max(0, Math.min(d - Date.now(), 30_000)) : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
