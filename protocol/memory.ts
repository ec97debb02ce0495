/**
 * Messages of `system/memory`: add documents (files, folders, text), hybrid search (BM25 + HNSW
 * fused by RRF), delete, stats and reindex. Version 1.
 */
import { Type, type Static } from '@sinclair/typebox';
import { messagesOf, topicsOf } from './define.js';

export const MEMORY_PROTOCOL_VERSION = 1;

export const SearchModeSchema = Type.Union([Type.Literal('hybrid'), Type.Literal('bm25'), Type.Literal('vector')]);
export type SearchMode = Static<typeof SearchModeSchema>;

export const MemoryAddRequestSchema = Type.Object(
  {
    /** A file or folder on the service's machine (a folder is indexed recursively, changes by content hash). */
    path: Type.Optional(Type.String({ minLength: 1 })),
    /** Raw text (with `source`), e.g. a note or a conversation turn. */
    text: Type.Optional(Type.String()),
    source: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    agent: Type.Optional(Type.String({ maxLength: 200 })),
    /** Stable document id for text (re-adding the same id updates it). */
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    /**
     * The uid the client runs as (the CLI sends it). Files it could not read are refused. It is a
     * claim, so it only adds to the service's own check (readable by the root folder's owner).
     */
    as_uid: Type.Optional(Type.Integer({ minimum: 0 })),
    /**
     * A text larger than one endpoint frame, sent in parts: parts `seq` 0, 1, … of upload `id`
     * are staged (replies carry `staged_bytes`); the part with `last` adds the whole text.
     */
    upload: Type.Optional(Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }), seq: Type.Integer({ minimum: 0 }), last: Type.Boolean() }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type MemoryAddRequest = Static<typeof MemoryAddRequestSchema>;

export const MemoryAddReplySchema = Type.Object({
  added: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  /** Documents removed because their files disappeared from an indexed folder. */
  deleted: Type.Integer(),
  chunks: Type.Integer(),
  docs: Type.Array(
    Type.Object({
      doc_id: Type.String(),
      status: Type.String(),
      chunks: Type.Integer(),
      /** Tokens longer than 64 characters left out of BM25 (hex, base64, minified blobs). */
      skipped_tokens: Type.Optional(Type.Integer()),
      /** Chunks made only of such tokens, left out of the index. */
      skipped_chunks: Type.Optional(Type.Integer()),
      /** Chunks that are not language (base64, hex, minified code, hashes): indexed by BM25 only, not embedded. */
      not_prose: Type.Optional(Type.Integer()),
    }),
  ),
  /** Bytes staged so far for a multi-part text upload (replies to parts before the last). */
  staged_bytes: Type.Optional(Type.Integer()),
  /** Files of a folder that could not be indexed (the rest were). */
  errors: Type.Array(Type.Object({ path: Type.String(), code: Type.String(), message: Type.String() })),
});
export type MemoryAddReply = Static<typeof MemoryAddReplySchema>;

export const SearchFiltersSchema = Type.Object(
  {
    source: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
    agent: Type.Optional(Type.String()),
    path_prefix: Type.Optional(Type.String()),
    since: Type.Optional(Type.Union([Type.Number(), Type.String()])),
    until: Type.Optional(Type.Union([Type.Number(), Type.String()])),
  },
  { additionalProperties: false },
);

export const MemorySearchRequestSchema = Type.Object(
  {
    query: Type.String({ minLength: 1 }),
    mode: Type.Optional(SearchModeSchema),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    filters: Type.Optional(SearchFiltersSchema),
    /** Precomputed query embedding from the same model (skips embedding the query). */
    vector: Type.Optional(Type.Array(Type.Number())),
  },
  { additionalProperties: false },
);
export type MemorySearchRequest = Static<typeof MemorySearchRequestSchema>;

export const MemoryHitSchema = Type.Object({
  id: Type.String(),
  doc_id: Type.String(),
  text: Type.String(),
  source: Type.String(),
  agent: Type.Optional(Type.String()),
  location: Type.Object({ path: Type.Union([Type.String(), Type.Null()]), start_line: Type.Integer(), end_line: Type.Integer() }),
  /** Fused RRF score (hybrid), BM25 score or cosine similarity. */
  score: Type.Number(),
  ranks: Type.Object({ bm25: Type.Optional(Type.Integer()), vector: Type.Optional(Type.Integer()) }),
  scores: Type.Object({ bm25: Type.Optional(Type.Number()), vector: Type.Optional(Type.Number()), rrf: Type.Optional(Type.Number()) }),
});
export type MemoryHit = Static<typeof MemoryHitSchema>;

export const MemorySearchReplySchema = Type.Object({
  hits: Type.Array(MemoryHitSchema),
  mode: SearchModeSchema,
  warnings: Type.Optional(Type.Array(Type.String())),
});
export type MemorySearchReply = Static<typeof MemorySearchReplySchema>;

export const MemoryDeleteRequestSchema = Type.Object(
  {
    id: Type.Optional(Type.String()),
    path: Type.Optional(Type.String()),
    source: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export const MemoryDeleteReplySchema = Type.Object({ deleted: Type.Integer(), chunks: Type.Integer() });

export const QuarantinedSchema = Type.Object({
  doc_id: Type.String(),
  path: Type.Optional(Type.String()),
  source: Type.Optional(Type.String()),
  reason: Type.String(),
  strikes: Type.Integer(),
  at: Type.Integer(),
});

export const MemoryStatsRequestSchema = Type.Object({}, { additionalProperties: false });
export const MemoryStatsReplySchema = Type.Object({
  docs: Type.Integer(),
  chunks: Type.Integer(),
  /** Chunks kept out of the vector index because they are not prose (searchable by BM25). */
  not_prose: Type.Optional(Type.Integer()),
  model: Type.Union([Type.String(), Type.Null()]),
  dim: Type.Union([Type.Integer(), Type.Null()]),
  format: Type.Integer(),
  deleted_pending: Type.Integer(),
  vocabulary: Type.Integer(),
  store_bytes: Type.Integer(),
  path: Type.String(),
  loaded_from: Type.String(),
  /** V8 heap used by the memory actor's thread. */
  heap_bytes: Type.Optional(Type.Integer()),
  embedder: Type.Union([Type.String(), Type.Null()]),
  /** Set while the indexes are rebuilt in the background: searches answer from what is done. */
  degraded: Type.Optional(Type.Object({ reason: Type.String(), done: Type.Integer(), total: Type.Integer() })),
  /** Documents that crashed or stalled the memory thread twice: not indexed, removable by `memory delete`. */
  quarantined: Type.Optional(Type.Array(QuarantinedSchema)),
  /** Set when the index is unusable (other format version) or holds another model's vectors. */
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  model_mismatch: Type.Optional(Type.Object({ stored: Type.String(), storedDim: Type.Integer(), current: Type.String(), currentDim: Type.Integer() })),
});
export type MemoryStatsReply = Static<typeof MemoryStatsReplySchema>;

export const MemoryDoctorRequestSchema = Type.Object(
  {
    /** Fix what can be fixed without losing anything (otherwise only report). */
    repair: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const MemoryDoctorReplySchema = Type.Object({
  /** True when no problem is left (after repairs, with `repair`). */
  ok: Type.Boolean(),
  docs: Type.Integer(),
  chunks: Type.Integer(),
  problems: Type.Array(Type.Object({ code: Type.String(), message: Type.String(), repaired: Type.Boolean() })),
  path: Type.String(),
});
export type MemoryDoctorReply = Static<typeof MemoryDoctorReplySchema>;

export const MemoryReindexRequestSchema = Type.Object({}, { additionalProperties: false });
export const MemoryReindexReplySchema = Type.Object({ docs: Type.Integer(), chunks: Type.Integer(), model: Type.String() });

/** Topic on which `memory.reindex` (and large folder adds) publish `{op, done, total}`. */
export const MEMORY_PROGRESS_TOPIC = 'memory.progress';

/**
 * A progress event. `op` add | reindex; `unit` files (of a folder) or chunks (embedded so far, with
 * the rate and the estimated seconds left).
 */
export const MemoryProgressSchema = Type.Object({
  op: Type.String(),
  done: Type.Integer(),
  total: Type.Integer(),
  unit: Type.Optional(Type.Union([Type.Literal('files'), Type.Literal('chunks')])),
  rate: Type.Optional(Type.Number()),
  eta_s: Type.Optional(Type.Number()),
});
export type MemoryProgress = Static<typeof MemoryProgressSchema>;
export const memoryTopics = topicsOf({ 'memory.progress': MemoryProgressSchema });

export const memoryMessages = messagesOf('system/memory', {
  'memory.add': { request: MemoryAddRequestSchema, reply: MemoryAddReplySchema },
  'memory.search': { request: MemorySearchRequestSchema, reply: MemorySearchReplySchema },
  'memory.delete': { request: MemoryDeleteRequestSchema, reply: MemoryDeleteReplySchema },
  'memory.stats': { request: MemoryStatsRequestSchema, reply: MemoryStatsReplySchema },
  'memory.reindex': { request: MemoryReindexRequestSchema, reply: MemoryReindexReplySchema },
  'memory.doctor': { request: MemoryDoctorRequestSchema, reply: MemoryDoctorReplySchema },
});

export const MemoryConfigSchema = Type.Object(
  {
    embedder: Type.String({ default: 'system/embedder' }),
    chunk_tokens: Type.Integer({ minimum: 16, maximum: 8192, default: 200 }),
    chunk_overlap_tokens: Type.Integer({ minimum: 0, maximum: 4096, default: 32 }),
    default_k: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
    rrf_k: Type.Number({ minimum: 0, default: 60 }),
    vector_weight: Type.Number({ minimum: 0, default: 1 }),
    bm25_weight: Type.Number({ minimum: 0, default: 1 }),
    candidates: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
    bm25: Type.Object(
      { k1: Type.Number({ minimum: 0, default: 1.2 }), b: Type.Number({ minimum: 0, maximum: 1, default: 0.75 }) },
      { additionalProperties: false, default: {} },
    ),
    hnsw: Type.Object(
      {
        m: Type.Integer({ minimum: 2, maximum: 128, default: 16 }),
        ef_construction: Type.Integer({ minimum: 8, maximum: 2000, default: 40 }),
        ef_search: Type.Integer({ minimum: 8, maximum: 5000, default: 200 }),
      },
      { additionalProperties: false, default: {} },
    ),
    max_file_bytes: Type.Integer({ minimum: 1, default: 10 * 1024 * 1024 }),
    /** Most wall time one document's chunking and analysis may take; beyond it the add is refused. */
    analysis_budget_ms: Type.Integer({ minimum: 100, default: 120_000 }),
    /** Folders `memory.add {path}` may read besides the agents' workspaces and workspace.paths. */
    roots: Type.Array(Type.String(), { default: [] }),
    /** Refuse files the owner of their root folder could not read (e.g. root-only files). */
    owner_readable_only: Type.Boolean({ default: true }),
    /** Chunks per embedder.embed request, and requests in flight during an add (bounds memory). */
    embed_batch: Type.Integer({ minimum: 1, maximum: 1024, default: 64 }),
    embed_in_flight: Type.Integer({ minimum: 1, maximum: 16, default: 2 }),
    max_query_words: Type.Integer({ minimum: 1, default: 512 }),
    compact_ratio: Type.Number({ minimum: 0, maximum: 10, default: 0.25 }),
    maintenance_interval_ms: Type.Integer({ minimum: 100, default: 10_000 }),
    workspace: Type.Object(
      {
        paths: Type.Array(Type.String(), { default: [] }),
        include: Type.Array(Type.String(), { default: ['.md', '.markdown', '.txt', '.rst', '.adoc', '.org', '.json', '.yaml', '.yml', '.toml', '.ts', '.js', '.py', '.rs', '.go', '.java', '.c', '.h', '.cpp', '.sh', '.html', '.css', '.csv'] }),
        exclude: Type.Array(Type.String(), { default: ['node_modules', '.git', 'dist', 'build', '.rustyclaw', 'target', '.venv'] }),
        rescan_interval_ms: Type.Integer({ minimum: 0, default: 0 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type MemoryConfig = Static<typeof MemoryConfigSchema>;
