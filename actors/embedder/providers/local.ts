/**
 * The default provider: all-MiniLM-L6-v2 (or any BERT-style sentence-embedding ONNX model in the
 * Transformers.js folder layout) run by onnxruntime-node in a piscina pool sized by config.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Piscina } from 'piscina';
import { modelFileFor, type Precision } from '../onnx-embedder.js';
import type { PoolResult, PoolTask } from '../pool-worker.js';
import { EmbedderError, type EmbeddingProvider } from '../types.js';
import { trimNativeHeap } from '../../../src/lib/native-heap.js';

export interface LocalProviderOptions {
  /** Folder holding tokenizer.json and onnx/… (already present: downloaded or configured). */
  dir: string;
  /** Model name recorded in indexes (with the precision appended). */
  name: string;
  precision: Precision;
  threads: number;
  intraOpThreads: number;
  batchSize: number;
  /**
   * Most word pieces per inference batch (texts × the longest text's estimated pieces): the
   * attention tensors grow with batch × length², so long texts go in smaller batches. 0 = no bound.
   */
  batchTokens?: number;
  maxTokens: number;
  /** If set, refuse a model whose output dimension differs. */
  expectedDim?: number;
  /** Unload the model (end the pool's threads) after this long without work; 0 = keep it loaded. */
  idleUnloadMs?: number;
  /** onnxruntime's CPU memory arena (faster repeat runs, but it keeps its high-water mark). */
  memArena?: boolean;
  /**
   * Load the model now and check it runs (its output size is then known before the first text).
   * Without it the model loads with the first batch: start-up and idle memory stay small, and the
   * size is checked against `expectedDim` on that batch.
   */
  preload?: boolean;
  /**
   * V8 young generation of each pool thread (MB); unset: V8's default. The kernel gives its actor
   * threads `kernel.young_generation_mb`, and the pool's threads get the same.
   */
  youngGenerationMb?: number;
  /**
   * Run the model in this thread instead of a pool thread (one batch at a time; the session is
   * released after `idleUnloadMs`). For an embedder that has a thread of its own: a pool thread
   * beside it only adds a thread's memory. Each batch blocks this thread while it runs.
   */
  inThread?: boolean;
}

/** Where batches run: a piscina pool, or this thread. */
interface Runner {
  run(task: PoolTask): Promise<PoolResult>;
  /** A session is held (pool: a thread is alive; in-thread: not yet released). */
  readonly holding: boolean;
  destroy(): Promise<void>;
}

function poolRunner(opts: LocalProviderOptions): Runner {
  const pool = new Piscina({
    filename: new URL('../pool-worker.js', import.meta.url).href,
    // No resident thread: an idle worker ends after idleUnloadMs and takes its ONNX session (the
    // model's memory) with it; the next embed loads it again (about a second).
    minThreads: opts.idleUnloadMs ? 0 : 1,
    maxThreads: Math.max(1, opts.threads),
    idleTimeout: opts.idleUnloadMs || 60_000,
    // The ONNX session holds ~100 MB per worker; one task at a time each keeps memory bounded.
    concurrentTasksPerWorker: 1,
    ...(opts.youngGenerationMb ? { resourceLimits: { maxYoungGenerationSizeMb: opts.youngGenerationMb } } : {}),
  });
  // An ended thread's ONNX memory goes back to malloc, not to the OS: trim once the thread is gone.
  pool.on('workerDestroy', () => setTimeout(trimNativeHeap, UNLOAD_TRIM_DELAY_MS).unref());
  return { run: (task) => pool.run(task) as Promise<PoolResult>, get holding() { return pool.threads.length > 0; }, destroy: () => pool.destroy() };
}

/**
 * The native heap is trimmed once no batch has run for TRIM_IDLE_MS: a trim after every batch made
 * the next one 5–25 % slower (its pages are faulted in again) and costs 10–14 ms itself, one at the
 * end of a burst costs nothing that is measured (docs/decisions.md, "Native heap trimmed when the
 * embedder goes idle").
 */
const TRIM_IDLE_MS = 250;
/** A pool thread's end frees its memory a little after piscina reports it. */
const UNLOAD_TRIM_DELAY_MS = 500;

function trimmedWhenIdle(r: Runner): Runner {
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    run(task) {
      pending++;
      clearTimeout(timer);
      return r.run(task).finally(() => {
        if (--pending > 0) return;
        timer = setTimeout(trimNativeHeap, TRIM_IDLE_MS);
        timer.unref();
      });
    },
    get holding() {
      return r.holding;
    },
    async destroy() {
      clearTimeout(timer);
      await r.destroy();
      trimNativeHeap();
    },
  };
}

/** Batches one at a time in this thread (as a pool thread runs them); idle for idleUnloadMs → release. */
async function threadRunner(idleUnloadMs: number): Promise<Runner> {
  const cache = (await import('../pool-worker.js')).sessionCache();
  let tail: Promise<unknown> = Promise.resolve();
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  const queue = <T>(fn: () => Promise<T>): Promise<T> => {
    const r = tail.then(fn);
    tail = r.catch(() => undefined);
    return r;
  };
  return {
    run(task) {
      clearTimeout(timer);
      pending++;
      return queue(() => cache.embed(task)).finally(() => {
        if (--pending > 0 || !idleUnloadMs) return;
        timer = setTimeout(() => void queue(() => cache.release()).then(trimNativeHeap), idleUnloadMs);
        timer.unref();
      });
    },
    get holding() {
      return cache.holding;
    },
    destroy() {
      clearTimeout(timer);
      return queue(() => cache.release());
    },
  };
}

export class LocalProvider implements EmbeddingProvider {
  readonly kind = 'local';
  readonly model: string;
  readonly maxTokens: number;
  readonly tokenizerPath: string;
  /** A batch has run, so the model was loaded (a pool thread may exist before that, without it). */
  private used: boolean;
  private constructor(
    private readonly pool: Runner,
    private readonly opts: LocalProviderOptions,
    readonly dim: number,
  ) {
    this.model = `${opts.name}@${opts.precision}`;
    this.maxTokens = opts.maxTokens;
    this.tokenizerPath = path.join(opts.dir, 'tokenizer.json');
    this.used = opts.preload === true || opts.expectedDim === undefined;
  }

  /** Start the pool and load the model in it; throws EmbedderError if the model can't load or run. */
  static async create(opts: LocalProviderOptions): Promise<LocalProvider> {
    const file = path.join(opts.dir, modelFileFor(opts.precision));
    if (!fs.existsSync(file)) throw new EmbedderError('model_missing', `local model file ${file} does not exist`, file);
    const pool = trimmedWhenIdle(opts.inThread ? await threadRunner(opts.idleUnloadMs ?? 0) : poolRunner(opts));
    const tokenizer = path.join(opts.dir, 'tokenizer.json');
    if (!fs.existsSync(tokenizer)) {
      await pool.destroy();
      throw new EmbedderError('model_missing', `local model tokenizer ${tokenizer} does not exist`, tokenizer);
    }
    if (!opts.preload && opts.expectedDim !== undefined) return new LocalProvider(pool, opts, opts.expectedDim);
    const probe = await pool.run(taskFor(opts, ['probe']));
    if (!probe.ok) {
      await pool.destroy();
      throw new EmbedderError(probe.code, probe.message, probe.file);
    }
    if (opts.expectedDim !== undefined && probe.dim !== opts.expectedDim) {
      await pool.destroy();
      throw dimMismatch(file, probe.dim, opts.expectedDim);
    }
    return new LocalProvider(pool, opts, probe.dim);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    // Batch texts of similar length together: padding is wasted compute.
    const order = texts.map((_, i) => i).sort((a, b) => texts[a].length - texts[b].length);
    const batches = batchesOf(order.map((i) => texts[i]), this.opts.batchSize, this.opts.batchTokens ?? 0, this.opts.maxTokens).map((b) => b.map((j) => order[j]));
    const out = new Array<Float32Array>(texts.length);
    await Promise.all(
      batches.map(async (idx) => {
        const r = await this.pool.run(taskFor(this.opts, idx.map((i) => texts[i])));
        if (!r.ok) throw new EmbedderError(r.code, r.message, r.file);
        this.used = true;
        // Loaded on first use: its output size is known only now (the embedder then falls back).
        if (r.dim !== this.dim) throw dimMismatch(path.join(this.opts.dir, modelFileFor(this.opts.precision)), r.dim, this.dim);
        idx.forEach((orig, j) => (out[orig] = r.vectors.slice(j * r.dim, (j + 1) * r.dim)));
      }),
    );
    return out;
  }

  /** True while the model is held (not before first use, nor after an idle unload). */
  get loaded(): boolean {
    return this.used && this.pool.holding;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

function dimMismatch(file: string, got: number, expected: number): EmbedderError {
  return new EmbedderError('model_dim_mismatch', `model ${file} produces ${got}-dim vectors, config expects ${expected}`, file);
}

/** Word pieces a text will take, from its length (about 4 characters a piece in English, ≥ 1 for CJK). */
function estimatePieces(text: string, maxTokens: number): number {
  return Math.min(maxTokens, Math.ceil(text.length / 4) + 2);
}

/**
 * Split texts sorted by length into batches of at most `size` texts and, with `tokens` > 0, at most
 * `tokens` padded word pieces (count × the longest, which is the last since they are sorted).
 * Returns index lists into `sorted`.
 */
export function batchesOf(sorted: string[], size: number, tokens: number, maxTokens: number): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const longest = estimatePieces(sorted[i], maxTokens);
    if (cur.length && (cur.length >= size || (tokens > 0 && (cur.length + 1) * longest > tokens))) {
      out.push(cur);
      cur = [];
    }
    cur.push(i);
  }
  if (cur.length) out.push(cur);
  return out;
}

function taskFor(opts: LocalProviderOptions, texts: string[]): PoolTask {
  return { dir: opts.dir, precision: opts.precision, maxTokens: opts.maxTokens, intraOpThreads: opts.intraOpThreads, memArena: opts.memArena ?? false, texts };
}
