/**
 * Default memory settings, shared by the config schema (protocol/memory.ts), the eval and the bench.
 * chunk_tokens 200 + [CLS]/[SEP] stays under the model's 256 word pieces with room to spare;
 * equal RRF weights and k = 60 are Cormack et al.'s defaults — no per-dataset tuning.
 */
export const MEMORY_DEFAULTS = {
  chunk_tokens: 200,
  chunk_overlap_tokens: 32,
  rrf_k: 60,
  vector_weight: 1,
  bm25_weight: 1,
  candidates: 100,
  bm25_k1: 1.2,
  bm25_b: 0.75,
  hnsw_m: 16,
  hnsw_ef_construction: 40,
  hnsw_ef_search: 200,
  max_file_bytes: 10 * 1024 * 1024,
  max_query_words: 512,
  compact_ratio: 0.25,
} as const;
