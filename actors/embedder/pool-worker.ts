/**
 * Piscina worker: holds one OnnxEmbedder per (model folder, precision) and embeds batches, so
 * inference runs off the embedder actor's message loop. Errors travel back as data, keeping their code.
 * The same cache runs batches in the actor's own thread when the provider has no pool (`inThread`).
 */
import { OnnxEmbedder, type Precision } from './onnx-embedder.js';
import { EmbedderError } from './types.js';

export interface PoolTask {
  dir: string;
  precision: Precision;
  maxTokens: number;
  intraOpThreads: number;
  memArena?: boolean;
  texts: string[];
}

export type PoolResult =
  | { ok: true; dim: number; vectors: Float32Array }
  | { ok: false; code: string; message: string; file?: string };

export interface SessionCache {
  embed(task: PoolTask): Promise<PoolResult>;
  /** A session is held. */
  readonly holding: boolean;
  /** Release every session (an in-thread provider's idle unload; a pool thread just ends). */
  release(): Promise<void>;
}

export function sessionCache(): SessionCache {
  const loaded = new Map<string, Promise<OnnxEmbedder>>();
  return {
    async embed(task) {
      const key = `${task.dir}\0${task.precision}\0${task.maxTokens}`;
      try {
        let p = loaded.get(key);
        if (!p) {
          p = OnnxEmbedder.load({ dir: task.dir, precision: task.precision, maxTokens: task.maxTokens, intraOpThreads: task.intraOpThreads, memArena: task.memArena ?? false });
          loaded.set(key, p);
          p.catch(() => loaded.delete(key));
        }
        const emb = await p;
        const vectors = await emb.embed(task.texts);
        return { ok: true, dim: emb.dim, vectors };
      } catch (e) {
        const err = e as EmbedderError;
        return { ok: false, code: err.code ?? 'embed_failed', message: err.message, ...(err.file ? { file: err.file } : {}) };
      }
    },
    get holding() {
      return loaded.size > 0;
    },
    async release() {
      const all = [...loaded.values()];
      loaded.clear();
      for (const p of all) await p.then((e) => e.close()).catch(() => undefined);
    },
  };
}

const cache = sessionCache();

export default function embedTask(task: PoolTask): Promise<PoolResult> {
  return cache.embed(task);
}
