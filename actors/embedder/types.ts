/** What every embedding provider offers: texts in, L2-normalised vectors out (one per text, in order). */
export interface EmbeddingProvider {
  /** Provider kind, e.g. `local` or `openai`. */
  readonly kind: string;
  /** Model id recorded in indexes, e.g. `all-MiniLM-L6-v2@fp32` or `openai:text-embedding-3-small`. */
  readonly model: string;
  readonly dim: number;
  /** Max input length in model tokens (longer inputs are truncated by the provider). */
  readonly maxTokens: number;
  /** Path of the model's `tokenizer.json` when the provider has one (memory uses it to count chunk tokens). */
  readonly tokenizerPath?: string;
  /** For a local model: whether it is in memory now (it loads on first use, unloads when idle). */
  readonly loaded?: boolean;
  embed(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** An error that names the provider and the problem; `file` is set when a model file is at fault. */
export class EmbedderError extends Error {
  readonly code: string;
  readonly file?: string;
  constructor(code: string, message: string, file?: string) {
    super(message);
    this.name = 'EmbedderError';
    this.code = code;
    if (file !== undefined) this.file = file;
  }
}
