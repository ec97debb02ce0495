/**
 * Piscina worker: holds one OnnxEmbedder per (model folder, precision) and embeds batches, so
 * inference runs off the embedder actor's message loop. Errors travel back as data, keeping their code.
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

const loaded = new Map<string, Promise<OnnxEmbedder>>();

export default async function embedTask(task: PoolTask): Promise<PoolResult> {
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
}
