/**
 * `system/memory`: documents → chunks → BM25 + HNSW (see memory-index.ts), hybrid search with RRF.
 * Embeddings come from `system/embedder` by message; this actor never loads the model. Writes are
 * serialised (one at a time); searches run concurrently with them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ActorError, defineActor } from '../../src/kernel/actor.js';
import { toActorError } from '../../src/kernel/errors.js';
import type { EmbedderInfoReply } from '../../protocol/embedder.js';
import { MEMORY_PROGRESS_TOPIC, MemoryConfigSchema, memoryMessages, type MemoryConfig, type MemoryDoctorReply, type MemoryProgress } from '../../protocol/memory.js';
import { MemoryError, MemoryIndex, type AddProgress, type Embedder } from './memory-index.js';
import { defaultRoots, PathGuard } from './path-guard.js';
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

/**
 * Chunk progress of one add as `memory.progress` events with rate and ETA, at most 4 a second
 * (a 5 MB file has thousands of chunks).
 */
function chunkProgress(publish: (p: MemoryProgress) => void, op: string): (p: AddProgress) => void {
  let first = 0;
  let last = 0;
  return (p) => {
    if (p.phase !== 'embed') return;
    const now = performance.now();
    if (!first) first = now;
    if (p.done < p.total && now - last < 250) return;
    last = now;
    const secs = (now - first) / 1000;
    const rate = secs > 0 ? p.done / secs : 0;
    // No ETA before a rate is known (the CLI shows '?'); 0 once done, not a made-up -1.
    const eta = p.done >= p.total ? 0 : rate > 0 ? Math.round((p.total - p.done) / rate) : undefined;
    publish({ op, unit: 'chunks', done: p.done, total: p.total, rate: Math.round(rate * 10) / 10, ...(eta !== undefined ? { eta_s: eta } : {}) });
  };
}

/**
 * Multi-part texts (larger than one endpoint frame): parts are staged in order, bounded in size
 * (memory.max_file_bytes), number (8 uploads) and age (10 min), and joined on the last part.
 */
function uploads(maxBytes: number) {
  const open = new Map<string, { parts: string[]; bytes: number; next: number; at: number }>();
  return (text: string, u: { id: string; seq: number; last: boolean }): { text: string } | { staged: number } => {
    const now = Date.now();
    for (const [id, x] of open) if (now - x.at > 600_000) open.delete(id);
    let up = open.get(u.id);
    if (!up) {
      if (u.seq !== 0) throw new MemoryError('upload_out_of_order', `upload ${u.id}: part ${u.seq} arrived but no upload with that id is open (parts start at 0; uploads expire after 10 min)`);
      if (open.size >= 8) throw new MemoryError('too_many_uploads', 'more than 8 text uploads are open at once; retry when one finishes');
      up = { parts: [], bytes: 0, next: 0, at: now };
      open.set(u.id, up);
    }
    if (u.seq !== up.next) {
      open.delete(u.id);
      throw new MemoryError('upload_out_of_order', `upload ${u.id}: expected part ${up.next}, got part ${u.seq} (replayed or lost part); the upload was dropped, send it again from part 0`);
    }
    up.bytes += Buffer.byteLength(text);
    if (up.bytes > maxBytes) {
      open.delete(u.id);
      throw new MemoryError('input_too_large', `upload ${u.id} passed memory.max_file_bytes = ${maxBytes} at part ${u.seq}; the upload was dropped`);
    }
    up.parts.push(text);
    up.next++;
    up.at = now;
    if (!u.last) return { staged: up.bytes };
    open.delete(u.id);
    return { text: up.parts.join('') };
  };
}

/**
 * `memory.doctor` on an index that would not open: report why; with `repair`, move a damaged
 * folder aside (kept, never deleted) so a new index can start. Other formats are left alone.
 */
function doctorBroken(dir: string, broken: ActorError, repair: boolean): { reply: MemoryDoctorReply; movedTo: string | null } {
  const problem = { code: broken.code, message: broken.message, repaired: false };
  let movedTo: string | null = null;
  if (repair && broken.code === 'index_unreadable') {
    movedTo = `${dir}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(dir, movedTo);
    problem.repaired = true;
    problem.message += `; moved to ${movedTo} (kept as it was) and a new index was started`;
  }
  return { reply: { ok: problem.repaired, docs: 0, chunks: 0, problems: [problem], path: dir }, movedTo };
}

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
    const stage = uploads(cfg.max_file_bytes);
    const guard = new PathGuard({ roots: defaultRoots(ctx.dataDir, ctx.rootConfig?.agents, cfg.workspace.paths, cfg.roots), ownerReadableOnly: cfg.owner_readable_only });

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
          rebuild: 'background',
          analysisBudgetMs: cfg.analysis_budget_ms,
          embedBatch: cfg.embed_batch,
          embedInFlight: cfg.embed_in_flight,
        });
        broken = null;
        // Writes wait for a background rebuild; searches answer meanwhile (degraded, said so).
        const idx = index;
        void write(() => idx.rebuilt);
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
        'memory.add': (p) =>
          write(async () => {
            try {
              if (!p || (p.path === undefined) === (p.text === undefined)) throw new ActorError('invalid_message', 'memory.add needs exactly one of path or text');
              if (p.upload) {
                if (p.text === undefined) throw new ActorError('invalid_message', 'memory.add: upload parts carry text');
                const r = stage(p.text, p.upload);
                if ('staged' in r) return { ...emptyAdd(), staged_bytes: r.staged };
                p = { ...p, text: r.text };
              }
              const idx = await ready(WRITE_WAIT);
              if (p.path !== undefined) {
                const allowed = guard.check(p.path, p.as_uid);
                const r = await indexPath(idx, allowed.real, {
                  include: cfg.workspace.include,
                  exclude: cfg.workspace.exclude,
                  maxFileBytes: cfg.max_file_bytes,
                  ...(p.agent ? { agent: p.agent } : {}),
                  ...(p.source ? { source: p.source } : {}),
                  onProgress: progress('add'),
                  onChunks: chunkProgress((e) => ctx.publish(MEMORY_PROGRESS_TOPIC, e), 'add'),
                  verify: allowed.verify,
                });
                return r;
              }
              if (Buffer.byteLength(p.text!) > cfg.max_file_bytes) throw new MemoryError('input_too_large', `text from ${p.source ?? 'text'} is ${Buffer.byteLength(p.text!)} bytes, over memory.max_file_bytes = ${cfg.max_file_bytes}`);
              const r = await idx.add(
                { text: p.text!, source: p.source ?? 'text', ...(p.agent ? { agent: p.agent } : {}), ...(p.id ? { id: p.id } : {}) },
                chunkProgress((e) => ctx.publish(MEMORY_PROGRESS_TOPIC, e), 'add'),
              );
              const out = emptyAdd();
              out.docs.push(r);
              out[r.status]++;
              if (r.status !== 'unchanged') out.chunks = r.chunks;
              return out;
            } catch (e) {
              throw toActorError(e);
            }
          }),
        'memory.search': async (p) => {
          try {
            const idx = await ready(p?.mode !== 'bm25' && !p?.vector ? SEARCH_WAIT : 0);
            return await idx.search({ ...p, k: p?.k ?? cfg.default_k });
          } catch (e) {
            throw toActorError(e);
          }
        },
        'memory.delete': (p) =>
          write(async () => {
            try {
              return (await ready(0)).delete(p ?? {});
            } catch (e) {
              throw toActorError(e);
            }
          }),
        'memory.stats': () => {
          const base = { docs: 0, chunks: 0, model: null, dim: null, format: 1, deleted_pending: 0, vocabulary: 0, store_bytes: 0, path: dir, loaded_from: 'none' };
          if (broken || !index) return { ...base, embedder: embedder?.model ?? null, error: { code: broken?.code ?? 'not_open', message: broken?.message ?? 'memory index not open' } };
          return { ...index.stats(), embedder: embedder?.model ?? null };
        },
        'memory.doctor': (p) =>
          write(async () => {
            try {
              if (broken || !index) {
                const { reply, movedTo } = doctorBroken(dir, broken ?? new ActorError('not_open', 'memory index not open'), !!p?.repair);
                if (movedTo) {
                  ctx.log.warn({ movedTo }, 'memory doctor: damaged index moved aside; starting a new one');
                  await openIndex();
                }
                return reply;
              }
              if (p?.repair) await connect(30_000);
              return { ...(await index.doctor(!!p?.repair)), path: dir };
            } catch (e) {
              throw toActorError(e);
            }
          }),
        'memory.reindex': () =>
          write(async () => {
            try {
              // An index of another format can't be read, hence not re-embedded either: say so (ready() throws it).
              await connect(600_000);
              const idx = await ready(WRITE_WAIT);
              return await idx.reindex(progress('reindex'));
            } catch (e) {
              throw toActorError(e);
            }
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
