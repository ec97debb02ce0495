/**
 * `system/memory`: documents → chunks → BM25 + HNSW (see memory-index.ts), hybrid search with RRF.
 * Embeddings come from `system/embedder` by message; this actor never loads the model. Writes are
 * serialised (one at a time); searches run concurrently with them.
 */
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ActorError, defineActor } from '../../src/kernel/actor.js';
import { toActorError } from '../../src/kernel/errors.js';
import { MEMORY_PROGRESS_TOPIC, MemoryConfigSchema, memoryMessages, type MemoryConfig } from '../../protocol/memory.js';
import type { EmbedderInfoReply } from '../../protocol/embedder.js';
import { MemoryError, MemoryIndex, type Embedder } from './memory-index.js';
import { indexPath, type IndexPathResult } from './workspace-indexer.js';
import { estimateTokens, loadTokenCounter, type TokenCounter } from './token-counter.js';

/** Texts per embedder.embed message: keeps messages small and progress visible. */
const EMBED_SLICE = 256;

/** A serial queue for writes. */
function serial() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

const WRITE_WAIT_MS = 600_000;

export default defineActor({
  messages: memoryMessages,
  config: MemoryConfigSchema,
  onCrash: 'redeliver',
  async setup(ctx) {
    const cfg = Value.Default(MemoryConfigSchema, structuredClone(ctx.config ?? {})) as MemoryConfig;
    const dir = path.join(ctx.dataDir, 'memory');
    let counter: TokenCounter = estimateTokens;
    let embedder: Embedder | null = null;
    let index: MemoryIndex | null = null;
    let broken: ActorError | null = null;
    let unreachableLogged = false;
    const write = serial();

    const adapter = (info: EmbedderInfoReply): Embedder => {
      const e: Embedder = {
        model: info.model!,
        dim: info.dim!,
        embed: async (texts) => {
          const out: Float32Array[] = [];
          for (let i = 0; i < texts.length; i += EMBED_SLICE) {
            const part = texts.slice(i, i + EMBED_SLICE);
            const r = await ctx.ask(cfg.embedder, 'embedder.embed', { texts: part }, { timeoutMs: 60_000 + part.length * 500 });
            if (r.model !== e.model || r.dim !== e.dim) {
              // The embedder fell back to another model: re-check so the index refuses the mix.
              await connect();
              throw new MemoryError('model_mismatch', `the embedder switched from ${e.model} to ${r.model}; vectors of different models never mix (run \`rustyclaw memory reindex\`)`);
            }
            for (const v of r.vectors) out.push(Float32Array.from(v));
          }
          return out;
        },
      };
      return e;
    };

    /** Ask the embedder what it serves (waiting while it loads); keep going without it (bm25 still works). */
    const connect = async (timeoutMs = 5000): Promise<Embedder | null> => {
      try {
        const info = await ctx.ask(cfg.embedder, 'embedder.info', { wait: true }, { timeoutMs });
        if (!info.model || !info.dim) {
          embedder = null;
        } else if (!embedder || embedder.model !== info.model || embedder.dim !== info.dim) {
          embedder = adapter(info);
          const c = loadTokenCounter(info.tokenizer ?? undefined);
          counter = c.count;
          if (!c.exact) ctx.log.info({ model: info.model }, 'memory: no tokenizer from the embedder; chunk sizes use a 4-chars-per-token estimate');
        }
      } catch (e) {
        // Once per outage, not once per search.
        if (!unreachableLogged) ctx.log.warn({ err: (e as Error).message }, 'memory: embedder not reachable yet; will retry on demand (bm25 works meanwhile)');
        unreachableLogged = true;
        embedder = null;
        index?.setEmbedder(null);
        return null;
      }
      unreachableLogged = false;
      index?.setEmbedder(embedder);
      return embedder;
    };

    const openIndex = async () => {
      try {
        index = await MemoryIndex.open({
          dir,
          chunkTokens: cfg.chunk_tokens,
          overlapTokens: cfg.chunk_overlap_tokens,
          countTokens: (t) => counter(t),
          embedder,
          bm25: cfg.bm25,
          hnsw: { m: cfg.hnsw.m, efConstruction: cfg.hnsw.ef_construction, efSearch: cfg.hnsw.ef_search },
          rrfK: cfg.rrf_k,
          vectorWeight: cfg.vector_weight,
          bm25Weight: cfg.bm25_weight,
          candidates: cfg.candidates,
          maxQueryWords: cfg.max_query_words,
          compactRatio: cfg.compact_ratio,
          log: ctx.log,
        });
        broken = null;
        ctx.log.info({ ...index.stats() }, 'memory index open');
      } catch (e) {
        // Keep the service up and every stored byte in place; tell callers what is wrong.
        broken = toActorError(e);
        ctx.log.error({ err: broken.message }, 'memory index unusable');
      }
    };

    // Setup must not wait for the embedder (on first use it may be downloading the model): open the
    // index now and connect in the background; writes wait for it, searches fall back to BM25.
    await openIndex();
    void connect(WRITE_WAIT_MS);

    /**
     * The index, with the embedder connected if `waitMs` > 0. Writes wait long (first use may be
     * downloading the model); searches wait briefly and otherwise answer by BM25 with a warning.
     */
    const ready = async (waitMs: number): Promise<MemoryIndex> => {
      if (broken) throw broken;
      if (waitMs > 0 && !embedder) await connect(waitMs);
      return index!;
    };
    const WRITE_WAIT = WRITE_WAIT_MS;
    const SEARCH_WAIT = 2_000;

    const progress = (op: string) => (done: number, total: number) => ctx.publish(MEMORY_PROGRESS_TOPIC, { op, done, total });

    const indexWorkspace = async () => {
      for (const p of cfg.workspace.paths) {
        const abs = path.resolve(p);
        try {
          const r = await indexPath(await ready(WRITE_WAIT), abs, { include: cfg.workspace.include, exclude: cfg.workspace.exclude, maxFileBytes: cfg.max_file_bytes, source: 'workspace' });
          if (r.added || r.updated || r.deleted || r.errors.length) ctx.log.info({ path: abs, added: r.added, updated: r.updated, deleted: r.deleted, errors: r.errors.length }, 'memory: workspace indexed');
        } catch (e) {
          ctx.log.warn({ path: abs, err: (e as Error).message }, 'memory: workspace indexing failed');
        }
      }
    };

    let maintaining = false;
    let lastScan = 0;
    const timer = setInterval(() => {
      if (maintaining || broken || !index) return;
      maintaining = true;
      void write(async () => {
        await index!.compact();
        await index!.snapshot();
        const every = cfg.workspace.rescan_interval_ms;
        if (every > 0 && cfg.workspace.paths.length && Date.now() - lastScan >= every) {
          lastScan = Date.now();
          await indexWorkspace();
        }
      })
        .catch((e) => ctx.log.warn({ err: (e as Error).message }, 'memory: maintenance failed'))
        .finally(() => (maintaining = false));
    }, cfg.maintenance_interval_ms);
    timer.unref?.();
    if (cfg.workspace.paths.length) {
      lastScan = Date.now();
      void write(indexWorkspace);
    }

    const emptyAdd = (): IndexPathResult => ({ added: 0, updated: 0, unchanged: 0, deleted: 0, chunks: 0, docs: [], errors: [] });

    return {
      handlers: {
        // Errors thrown here (MemoryError codes, ActorError) reach the caller through the kernel's one mapping.
        'memory.add': (p) =>
          write(async () => {
            // (a payload may be missing altogether when the endpoint is the only check: validate: boundary)
            if (!p || (p.path === undefined) === (p.text === undefined)) throw new ActorError('invalid_message', 'memory.add needs exactly one of path or text');
            const idx = await ready(WRITE_WAIT);
            if (p.path !== undefined) {
              return indexPath(idx, p.path, {
                include: cfg.workspace.include,
                exclude: cfg.workspace.exclude,
                maxFileBytes: cfg.max_file_bytes,
                ...(p.agent ? { agent: p.agent } : {}),
                ...(p.source ? { source: p.source } : {}),
                onProgress: progress('add'),
              });
            }
            const text = p.text!;
            if (Buffer.byteLength(text) > cfg.max_file_bytes) throw new MemoryError('input_too_large', `text from ${p.source ?? 'text'} is ${Buffer.byteLength(text)} bytes, over memory.max_file_bytes = ${cfg.max_file_bytes}`);
            const r = await idx.add({ text, source: p.source ?? 'text', ...(p.agent ? { agent: p.agent } : {}), ...(p.id ? { id: p.id } : {}) });
            const out = emptyAdd();
            out.docs.push(r);
            out[r.status]++;
            if (r.status !== 'unchanged') out.chunks = r.chunks;
            return out;
          }),
        'memory.search': async (p) => {
          const idx = await ready(p?.mode !== 'bm25' && !p?.vector ? SEARCH_WAIT : 0);
          return idx.search({ ...p, k: p?.k ?? cfg.default_k });
        },
        'memory.delete': (p) => write(async () => (await ready(0)).delete(p ?? {})),
        'memory.stats': () => {
          const base = { docs: 0, chunks: 0, model: null, dim: null, format: 1, deleted_pending: 0, vocabulary: 0, store_bytes: 0, path: dir, loaded_from: 'none' };
          if (broken || !index) return { ...base, embedder: embedder?.model ?? null, error: { code: broken?.code ?? 'not_open', message: broken?.message ?? 'memory index not open' } };
          return { ...index.stats(), embedder: embedder?.model ?? null };
        },
        'memory.reindex': () =>
          write(async () => {
            // An index of another format can't be read, hence not re-embedded either: say so (ready() throws it).
            await connect(600_000);
            const idx = await ready(WRITE_WAIT);
            return idx.reindex(progress('reindex'));
          }),
      },
      stop: async () => {
        clearInterval(timer);
        await write(async () => {
          await index?.close();
        });
      },
    };
  },
});
