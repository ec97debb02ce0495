/**
 * The embedder's logic without the actor: builds providers in configured order (primary, then
 * fallbacks), falls back with one log line when one can't load or stops working, and bounds the
 * number of texts waiting so callers get a clear `queue_full` instead of unbounded memory.
 */
import os from 'node:os';
import path from 'node:path';
import type { EmbedderConfig } from '../../protocol/embedder.js';
import { DEFAULT_HUB, downloadModel, type DownloadProgress } from './model-download.js';
import { filesFor } from './model-files.js';
import { LocalProvider } from './providers/local.js';
import { OpenAIProvider, resolveOpenAIOptions } from './providers/openai.js';
import { EmbedderError, type EmbeddingProvider } from './types.js';

export interface ServiceEnv {
  dataDir: string;
  log: { info(o: unknown, msg?: string): void; warn(o: unknown, msg?: string): void };
  onDownloadProgress?: (p: DownloadProgress) => void;
  env?: NodeJS.ProcessEnv;
  /** Young generation of the pool's threads (MB), as the kernel gives its own threads. */
  youngGenerationMb?: number;
  /** The other actors in the embedder's thread (`ctx.threadmates`; unknown: undefined). */
  threadmates?: readonly string[];
}

export interface FailedProvider {
  provider: string;
  code: string;
  message: string;
}

/** Where a downloaded model lives: `<dataDir>/models/<repo>/<revision>`. */
export function modelCacheDir(dataDir: string, repo: string, revision: string): string {
  return path.join(dataDir, 'models', ...repo.split('/'), revision);
}

/**
 * Pool size for the device: one inference thread on ≤ 2 cores (each holds its own ONNX session,
 * ~100 MB, and two threads on two cores only fight the rest of the service), else two.
 */
export function defaultThreads(cores: number): number {
  return cores <= 2 ? 1 : 2;
}

/**
 * Largest `batch_tokens` at which `in_thread: auto` runs batches in the actor's thread: a batch of
 * 512 word pieces blocks it for 130–170 ms here (load ~4), 2048 for 0.7–0.8 s, too close to the
 * liveness deadline (2 s) on a loaded machine; larger or unbounded (0) batches keep the pool.
 */
export const IN_THREAD_MAX_BATCH_TOKENS = 512;

/**
 * Whether the local model runs in the embedder actor's own thread: asked for (`true`), or `auto`
 * when the pool would have one thread and the actor has its thread to itself (dedicated placement),
 * so that a pool thread would only add a thread's memory; a batch then blocks no other actor.
 */
export function runsInThread(cfg: EmbedderConfig, threads: number, threadmates: readonly string[] | undefined): boolean {
  if (cfg.in_thread !== 'auto') return cfg.in_thread;
  return threads === 1 && threadmates?.length === 0 && cfg.batch_tokens > 0 && cfg.batch_tokens <= IN_THREAD_MAX_BATCH_TOKENS;
}

export async function createProvider(name: string, cfg: EmbedderConfig, env: ServiceEnv): Promise<EmbeddingProvider> {
  const threads = cfg.threads || defaultThreads(os.availableParallelism());
  if (name === 'local') {
    const l = cfg.local;
    let dir: string;
    if (l.model_path) dir = path.resolve(l.model_path);
    else {
      dir = modelCacheDir(env.dataDir, l.repo, l.revision);
      await downloadModel({
        baseUrl: l.base_url,
        repo: l.repo,
        revision: l.revision,
        files: filesFor(l.precision, l.sha256),
        trustDeclared: l.base_url === DEFAULT_HUB && Object.keys(l.sha256).length === 0,
        destDir: dir,
        retries: l.download_retries,
        idleTimeoutMs: l.download_timeout_ms,
        ...(env.onDownloadProgress ? { onProgress: env.onDownloadProgress } : {}),
        log: (m) => env.log.warn({ repo: l.repo }, m),
      });
    }
    return LocalProvider.create({ dir, name: l.model, precision: l.precision, threads, intraOpThreads: l.intra_op_threads, batchSize: cfg.batch_size, batchTokens: cfg.batch_tokens, maxTokens: l.max_tokens, expectedDim: l.dim, idleUnloadMs: cfg.idle_unload_ms, memArena: l.mem_arena, preload: cfg.preload, inThread: runsInThread(cfg, threads, env.threadmates), ...(env.youngGenerationMb ? { youngGenerationMb: env.youngGenerationMb } : {}) });
  }
  if (name === 'openai') return OpenAIProvider.create(resolveOpenAIOptions(cfg.openai, env.env));
  throw new EmbedderError('invalid_config', `unknown embedding provider '${name}'`);
}

export class EmbedderService {
  provider: EmbeddingProvider | null = null;
  readonly failed: FailedProvider[] = [];
  private queued = 0;
  private order: string[];
  private next = 0;
  private switching: Promise<void> | null = null;

  constructor(
    private readonly cfg: EmbedderConfig,
    private readonly env: ServiceEnv,
  ) {
    const names = cfg.embedding_provider === 'none' ? [] : [cfg.embedding_provider, ...cfg.fallback];
    this.order = [...new Set(names)];
  }

  get queuedTexts(): number {
    return this.queued;
  }

  /** Load the first provider that works. Resolves even when none does (`provider` stays null). */
  async start(): Promise<void> {
    while (!this.provider && this.next < this.order.length) {
      const name = this.order[this.next++];
      try {
        this.provider = await createProvider(name, this.cfg, this.env);
        this.env.log.info({ provider: name, model: this.provider.model, dim: this.provider.dim }, 'embedder ready');
      } catch (e) {
        this.noteFailure(name, e as Error);
      }
    }
  }

  private noteFailure(name: string, e: Error): void {
    const code = (e as EmbedderError).code ?? 'provider_failed';
    this.failed.push({ provider: name, code, message: e.message });
    const nextName = this.order[this.next];
    // One line per failure, saying what happens next.
    this.env.log.warn({ provider: name, code, err: e.message }, nextName ? `embedder: ${name} provider unavailable (${e.message}); falling back to ${nextName}` : `embedder: ${name} provider unavailable (${e.message}); no fallback left`);
  }

  async embed(texts: string[]): Promise<{ model: string; dim: number; vectors: Float32Array[] }> {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw new EmbedderError('invalid_input', 'embedder.embed needs texts: string[]');
    if (this.queued + texts.length > this.cfg.max_queue) {
      throw new EmbedderError('queue_full', `embedder queue full: ${this.queued} texts waiting, ${texts.length} more would pass embedder.max_queue = ${this.cfg.max_queue}; retry later`);
    }
    this.queued += texts.length;
    try {
      for (;;) {
        if (this.switching) await this.switching;
        const p = this.provider;
        if (!p) throw new EmbedderError('embedder_unavailable', `no embedding provider could load: ${this.failed.map((f) => `${f.provider}: ${f.message}`).join('; ') || 'none configured'}`);
        try {
          const vectors = await p.embed(texts);
          return { model: p.model, dim: p.dim, vectors };
        } catch (e) {
          if ((e as EmbedderError).code === 'invalid_input') throw e;
          // The provider stopped working: move to the next one (once, for all callers).
          if (this.provider === p) this.switching = this.failover(p, e as Error);
        }
      }
    } finally {
      this.queued -= texts.length;
    }
  }

  private async failover(p: EmbeddingProvider, e: Error): Promise<void> {
    this.provider = null;
    this.noteFailure(p.kind, e);
    await p.close().catch(() => undefined);
    await this.start();
    this.switching = null;
  }

  info() {
    const p = this.provider;
    return {
      provider: p?.kind ?? 'none',
      model: p?.model ?? null,
      dim: p?.dim ?? null,
      max_tokens: p?.maxTokens ?? null,
      tokenizer: p?.tokenizerPath ?? null,
      failed: this.failed,
      queued_texts: this.queued,
      ...(p?.loaded !== undefined ? { loaded: p.loaded } : {}),
    };
  }

  async close(): Promise<void> {
    await this.provider?.close();
    this.provider = null;
  }
}
