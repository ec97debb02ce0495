/**
 * Runs a BERT-style sentence-embedding ONNX model: tokenize → last_hidden_state → mean pooling over
 * the attention mask → L2 normalisation. Plain class, used inside the pool workers and by tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import type ort from 'onnxruntime-node';
import { BertTokenizer } from './tokenizer.js';
import { EmbedderError } from './types.js';

export type Precision = 'fp32' | 'q8';

// onnxruntime is loaded at first model load (~300 ms and ~15 MB measured): the embedder actor
// imports this module for modelFileFor() only, the pool workers that run models load it here.
let runtime: typeof ort | null = null;

/** Model file inside a Transformers.js model folder for each precision. */
export function modelFileFor(precision: Precision): string {
  return precision === 'q8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
}

export interface OnnxEmbedderOptions {
  dir: string;
  precision: Precision;
  maxTokens?: number;
  /** Threads onnxruntime may use inside one inference (the pool adds parallelism across batches). */
  intraOpThreads?: number;
  /**
   * onnxruntime's CPU arena and memory-pattern planning: they keep the largest batch's buffers
   * for reuse; off (default) the memory goes back after each run (measured: docs/decisions.md).
   */
  memArena?: boolean;
}

export class OnnxEmbedder {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly tokenizer: BertTokenizer,
    readonly dim: number,
    private readonly needsTypeIds: boolean,
  ) {}

  static async load(opts: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    const file = path.join(opts.dir, modelFileFor(opts.precision));
    if (!fs.existsSync(file)) throw new EmbedderError('model_missing', `model file ${file} does not exist`, file);
    const tokenizer = BertTokenizer.load(opts.dir, opts.maxTokens ?? 256);
    let session: ort.InferenceSession;
    runtime ??= (await import('onnxruntime-node')).default;
    try {
      session = await runtime.InferenceSession.create(file, {
        intraOpNumThreads: opts.intraOpThreads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        enableCpuMemArena: opts.memArena ?? false,
        enableMemPattern: opts.memArena ?? false,
      });
    } catch (e) {
      throw new EmbedderError('model_file_invalid', `cannot load ONNX model ${file} (corrupted or truncated?): ${(e as Error).message.split('\n')[0]}`, file);
    }
    for (const name of ['input_ids', 'attention_mask']) {
      if (!session.inputNames.includes(name)) {
        throw new EmbedderError('model_file_invalid', `model ${file} has no input '${name}' (inputs: ${session.inputNames.join(', ')})`, file);
      }
    }
    const needsTypeIds = session.inputNames.includes('token_type_ids');
    const probe = new OnnxEmbedder(session, tokenizer, 0, needsTypeIds);
    // Learn the dimension from a real run rather than trusting metadata.
    const { dim } = await probe.runRaw([tokenizer.encode('dimension probe')]);
    return new OnnxEmbedder(session, tokenizer, dim, needsTypeIds);
  }

  /** Embed texts; returns one flat Float32Array of texts.length × dim, rows L2-normalised. */
  async embed(texts: string[]): Promise<Float32Array> {
    if (texts.length === 0) return new Float32Array(0);
    const encoded = texts.map((t) => this.tokenizer.encode(t));
    return (await this.runRaw(encoded)).vectors;
  }

  private async runRaw(encoded: number[][]): Promise<{ vectors: Float32Array; dim: number }> {
    const n = encoded.length;
    const seq = Math.max(...encoded.map((e) => e.length));
    const ids = new BigInt64Array(n * seq);
    const mask = new BigInt64Array(n * seq);
    for (let i = 0; i < n; i++) {
      const e = encoded[i];
      for (let j = 0; j < e.length; j++) {
        ids[i * seq + j] = BigInt(e[j]);
        mask[i * seq + j] = 1n;
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new runtime!.Tensor('int64', ids, [n, seq]),
      attention_mask: new runtime!.Tensor('int64', mask, [n, seq]),
    };
    if (this.needsTypeIds) feeds.token_type_ids = new runtime!.Tensor('int64', new BigInt64Array(n * seq), [n, seq]);
    const out = await this.session.run(feeds);
    const hidden = out.last_hidden_state ?? out[this.session.outputNames[0]];
    const dims = hidden.dims;
    if (dims.length !== 3) throw new EmbedderError('model_file_invalid', `model output has shape [${dims.join(',')}], expected [batch, seq, dim]`);
    const dim = dims[2];
    const h = hidden.data as Float32Array;
    const vectors = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const len = encoded[i].length;
      const row = vectors.subarray(i * dim, (i + 1) * dim);
      for (let j = 0; j < len; j++) {
        const off = (i * seq + j) * dim;
        for (let d = 0; d < dim; d++) row[d] += h[off + d];
      }
      let norm = 0;
      for (let d = 0; d < dim; d++) {
        row[d] /= len;
        norm += row[d] * row[d];
      }
      norm = Math.sqrt(norm) || 1;
      for (let d = 0; d < dim; d++) row[d] /= norm;
    }
    for (const t of Object.values(out)) t.dispose?.();
    return { vectors, dim };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
