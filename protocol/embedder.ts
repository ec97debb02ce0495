/**
 * Messages of `system/embedder`: text embeddings from the configured provider (local ONNX
 * all-MiniLM-L6-v2 by default, or an OpenAI-compatible endpoint), with fallback. Version 1.
 */
import { Type, type Static } from '@sinclair/typebox';
import { messagesOf, topicsOf } from './define.js';

export const EMBEDDER_PROTOCOL_VERSION = 1;

export const EmbedRequestSchema = Type.Object(
  {
    texts: Type.Array(Type.String({ maxLength: 1_000_000 }), { minItems: 0, maxItems: 10_000 }),
  },
  { additionalProperties: false },
);
export type EmbedRequest = Static<typeof EmbedRequestSchema>;

export const EmbedReplySchema = Type.Object({
  /** Model id recorded by indexes, e.g. `all-MiniLM-L6-v2@fp32`. */
  model: Type.String(),
  dim: Type.Integer(),
  /** One L2-normalised vector per input text, in order. */
  vectors: Type.Array(Type.Array(Type.Number())),
});
export type EmbedReply = Static<typeof EmbedReplySchema>;

export const EmbedderInfoRequestSchema = Type.Object(
  {
    /** Wait until the provider finished loading (first use may download the model). */
    wait: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const EmbedderInfoReplySchema = Type.Object({
  /** `local`, `openai`, `none` when no provider could load, `loading` while starting. */
  provider: Type.String(),
  ready: Type.Boolean(),
  model: Type.Union([Type.String(), Type.Null()]),
  dim: Type.Union([Type.Integer(), Type.Null()]),
  max_tokens: Type.Union([Type.Integer(), Type.Null()]),
  /** tokenizer.json of the model when it has one (memory counts chunk tokens with it). */
  tokenizer: Type.Union([Type.String(), Type.Null()]),
  /** Providers that failed to load, in order, with the reason. */
  failed: Type.Array(Type.Object({ provider: Type.String(), code: Type.String(), message: Type.String() })),
  queued_texts: Type.Integer(),
  /** The model is in memory now (a local model loads on first use and unloads after `idle_unload_ms`). */
  loaded: Type.Optional(Type.Boolean()),
});
export type EmbedderInfoReply = Static<typeof EmbedderInfoReplySchema>;

/** Topic of the embedder's first-use model download progress: `{op: 'download', file, received, total}`. */
export const EMBEDDER_PROGRESS_TOPIC = 'embedder.progress';
export const EmbedderProgressSchema = Type.Object({
  op: Type.Literal('download'),
  file: Type.String(),
  received: Type.Number(),
  total: Type.Union([Type.Number(), Type.Null()]),
});
export const embedderTopics = topicsOf({ 'embedder.progress': EmbedderProgressSchema });

export const embedderMessages = messagesOf('system/embedder', {
  'embedder.embed': { request: EmbedRequestSchema, reply: EmbedReplySchema },
  'embedder.info': { request: EmbedderInfoRequestSchema, reply: EmbedderInfoReplySchema },
});

/**
 * Default of `embedder.batch_tokens`: at most 512 padded word pieces per local inference batch, so
 * chunks of ~200 pieces go 2 a batch (peak RSS of an ingest and CPU time both measured lowest
 * there: docs/decisions.md, "Embedding batches of 512 word pieces"). The eval and the bench use it too.
 */
export const DEFAULT_BATCH_TOKENS = 512;

const ProviderName = Type.Union([Type.Literal('local'), Type.Literal('openai')]);

export const EmbedderConfigSchema = Type.Object(
  {
    embedding_provider: Type.Union([ProviderName, Type.Literal('none')], { default: 'local' }),
    fallback: Type.Array(ProviderName, { default: [] }),
    threads: Type.Integer({ minimum: 0, maximum: 64, default: 0 }),
    /**
     * Run the local model in the embedder actor's own thread instead of a pool thread: `auto` does
     * when the actor has a thread to itself and the pool would have one thread (docs/decisions.md).
     */
    in_thread: Type.Union([Type.Literal('auto'), Type.Boolean()], { default: 'auto' }),
    batch_size: Type.Integer({ minimum: 1, maximum: 1024, default: 32 }),
    /** Most word pieces per local inference batch (texts × the longest): bounds the attention tensors' memory. 0 = no bound. */
    batch_tokens: Type.Integer({ minimum: 0, default: DEFAULT_BATCH_TOKENS }),
    max_queue: Type.Integer({ minimum: 1, default: 20_000 }),
    /** Unload the local model after this long without work (0 = keep it loaded); it reloads on the next embed. */
    idle_unload_ms: Type.Integer({ minimum: 0, default: 300_000 }),
    /** Load the local model at start (checks it runs before the first use) instead of on first use. */
    preload: Type.Boolean({ default: false }),
    local: Type.Object(
      {
        model: Type.String({ default: 'all-MiniLM-L6-v2' }),
        model_path: Type.String({ default: '' }),
        precision: Type.Union([Type.Literal('fp32'), Type.Literal('q8')], { default: 'q8' }),
        dim: Type.Integer({ minimum: 1, default: 384 }),
        max_tokens: Type.Integer({ minimum: 8, maximum: 8192, default: 256 }),
        intra_op_threads: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
        /** onnxruntime's CPU memory arena (keeps peak buffers for reuse); off returns memory after each batch. */
        mem_arena: Type.Boolean({ default: false }),
        base_url: Type.String({ default: 'https://huggingface.co' }),
        repo: Type.String({ default: 'Xenova/all-MiniLM-L6-v2' }),
        revision: Type.String({ default: 'main' }),
        sha256: Type.Record(Type.String(), Type.String({ pattern: '^[0-9a-f]{64}$' }), { default: {} }),
        download_retries: Type.Integer({ minimum: 0, maximum: 20, default: 3 }),
        download_timeout_ms: Type.Integer({ minimum: 1000, default: 60_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    openai: Type.Object(
      {
        base_url: Type.String({ default: '' }),
        api_key_env: Type.String({ default: 'OPENAI_API_KEY' }),
        model: Type.String({ default: 'text-embedding-3-small' }),
        dimensions: Type.Integer({ minimum: 0, default: 0 }),
        batch_size: Type.Integer({ minimum: 1, maximum: 2048, default: 96 }),
        timeout_ms: Type.Integer({ minimum: 100, default: 30_000 }),
        max_tokens: Type.Integer({ minimum: 8, default: 8191 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type EmbedderConfig = Static<typeof EmbedderConfigSchema>;
