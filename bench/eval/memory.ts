/**
 * Retrieval evaluation of the memory index on a BEIR-format directory (corpus.jsonl, queries.jsonl,
 * qrels/test.tsv): nDCG@10 and recall@100 for bm25, vector and hybrid, through the same path users
 * get (MemoryIndex: chunking, BM25, HNSW, RRF with the default config). A document's score is the
 * best of its chunks. Embeddings are cached in <repo>/data/eval-cache keyed by model + precision +
 * sha256(text), so reruns skip the slow part.
 *
 *   node dist/bench/eval/memory.js [--data DIR] [--json] [--precision fp32|q8] [--model-path DIR] [--threads N] [--batch-tokens N]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { LocalProvider } from '../../actors/embedder/providers/local.js';
import type { Precision } from '../../actors/embedder/onnx-embedder.js';
import { MemoryIndex, type Embedder, type SearchMode } from '../../actors/memory/memory-index.js';
import { loadTokenCounter } from '../../actors/memory/token-counter.js';
import { MEMORY_DEFAULTS } from '../../actors/memory/defaults.js';
import { DEFAULT_BATCH_TOKENS } from '../../protocol/embedder.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const REFERENCE = { bm25: 0.665, vector: 0.645 };

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

function readJsonl(file: string): any[] {
  if (!fs.existsSync(file)) throw new Error(`BEIR file missing: ${file}`);
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l);
      } catch {
        throw new Error(`${file}:${i + 1}: not valid JSON`);
      }
    });
}

function readQrels(file: string): Map<string, Map<string, number>> {
  if (!fs.existsSync(file)) throw new Error(`BEIR qrels missing: ${file}`);
  const out = new Map<string, Map<string, number>>();
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  for (const line of lines.slice(1)) {
    const [q, d, s] = line.split('\t');
    const score = Number(s);
    if (!(score > 0)) continue;
    if (!out.has(q)) out.set(q, new Map());
    out.get(q)!.set(d, score);
  }
  return out;
}

export function ndcgAt(ranked: string[], rel: Map<string, number>, k: number): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((d, i) => {
    const g = rel.get(d) ?? 0;
    if (g) dcg += (2 ** g - 1) / Math.log2(i + 2);
  });
  const ideal = [...rel.values()].sort((a, b) => b - a).slice(0, k);
  let idcg = 0;
  ideal.forEach((g, i) => (idcg += (2 ** g - 1) / Math.log2(i + 2)));
  return idcg ? dcg / idcg : 0;
}

export function recallAt(ranked: string[], rel: Map<string, number>, k: number): number {
  const top = new Set(ranked.slice(0, k));
  let n = 0;
  for (const d of rel.keys()) if (top.has(d)) n++;
  return rel.size ? n / rel.size : 0;
}

/** Wraps an embedder with a persistent cache; counts what it really had to embed and how long it took. */
function cachedEmbedder(inner: Embedder, cacheDir: string, batching = '') {
  fs.mkdirSync(cacheDir, { recursive: true });
  const env = open({ path: path.join(cacheDir, 'embeddings.lmdb'), encoding: 'binary' });
  const stats = { embedded: 0, ms: 0, hits: 0 };
  // q8 vectors depend slightly on their batch (dynamic quantisation), so its batching is part of the key.
  const key = (t: string) => `${inner.model}${batching}:${crypto.createHash('sha256').update(t).digest('hex')}`;
  const emb: Embedder = {
    model: inner.model,
    dim: inner.dim,
    async embed(texts) {
      const out: Float32Array[] = new Array(texts.length);
      const miss: number[] = [];
      texts.forEach((t, i) => {
        const b = env.getBinary(key(t));
        if (b && b.byteLength === inner.dim * 4) {
          out[i] = new Float32Array(new Uint8Array(b).buffer);
          stats.hits++;
        } else miss.push(i);
      });
      // Embed misses in slices so progress survives an interruption.
      for (let s = 0; s < miss.length; s += 512) {
        const part = miss.slice(s, s + 512);
        const t0 = performance.now();
        const v = await inner.embed(part.map((i) => texts[i]));
        stats.ms += performance.now() - t0;
        stats.embedded += part.length;
        await env.transaction(() => {
          part.forEach((i, j) => {
            out[i] = v[j];
            env.put(key(texts[i]), Buffer.from(v[j].buffer, v[j].byteOffset, v[j].byteLength));
          });
        });
        if (miss.length > 512) process.stderr.write(`  embedded ${Math.min(s + 512, miss.length)}/${miss.length} uncached texts\n`);
      }
      return out;
    },
  };
  return { emb, stats, env };
}

async function main(): Promise<void> {
  const dataDir = path.resolve(arg('data', path.resolve(repoRoot, '../shared/data/retrieval/scifact'))!);
  const precision = (arg('precision', 'fp32') as Precision) ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'q8') throw new Error(`--precision must be fp32 or q8, got ${precision}`);
  const modelPath = path.resolve(arg('model-path', path.resolve(repoRoot, '../shared/models/all-MiniLM-L6-v2'))!);
  const threads = Number(arg('threads', String(Math.max(1, os.availableParallelism()))));
  const json = process.argv.includes('--json');
  const log = (s: string) => process.stderr.write(s + '\n');

  const corpus = readJsonl(path.join(dataDir, 'corpus.jsonl'));
  const queries = readJsonl(path.join(dataDir, 'queries.jsonl'));
  const qrels = readQrels(path.join(dataDir, 'qrels', 'test.tsv'));
  const evalQueries = queries.filter((q) => qrels.has(String(q._id))).map((q) => ({ id: String(q._id), text: String(q.text) }));
  log(`eval: ${corpus.length} docs, ${evalQueries.length} queries from ${dataDir}; model ${modelPath} (${precision})`);

  // The service's batching by default (embedder.batch_size 32, embedder.batch_tokens).
  const batchTokens = Number(arg('batch-tokens', String(DEFAULT_BATCH_TOKENS)));
  const provider = await LocalProvider.create({ dir: modelPath, name: path.basename(modelPath), precision, threads, intraOpThreads: 1, batchSize: 32, batchTokens, maxTokens: 256 });
  const cache = cachedEmbedder(provider, path.resolve(repoRoot, 'data', 'eval-cache', 'memory'), precision === 'q8' && batchTokens ? `:bt${batchTokens}` : '');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-eval-memory-'));
  const counter = loadTokenCounter(path.join(modelPath, 'tokenizer.json'));
  const index = await MemoryIndex.open({
    dir: tmp,
    chunkTokens: MEMORY_DEFAULTS.chunk_tokens,
    overlapTokens: MEMORY_DEFAULTS.chunk_overlap_tokens,
    countTokens: counter.count,
    embedder: cache.emb,
    rrfK: MEMORY_DEFAULTS.rrf_k,
    vectorWeight: MEMORY_DEFAULTS.vector_weight,
    bm25Weight: MEMORY_DEFAULTS.bm25_weight,
    candidates: 1000,
    hnsw: { m: MEMORY_DEFAULTS.hnsw_m, efConstruction: MEMORY_DEFAULTS.hnsw_ef_construction, efSearch: MEMORY_DEFAULTS.hnsw_ef_search },
  });
  try {
    const t0 = performance.now();
    let chunks = 0;
    for (let i = 0; i < corpus.length; i += 256) {
      const batch = corpus.slice(i, i + 256).map((d) => ({ id: String(d._id), source: 'beir', text: `${d.title ?? ''} ${d.text ?? ''}`.trim() }));
      for (const r of await index.addBatch(batch)) chunks += r.chunks;
    }
    const indexMs = performance.now() - t0;
    log(`indexed ${corpus.length} docs as ${chunks} chunks in ${(indexMs / 1000).toFixed(1)} s (embedded ${cache.stats.embedded} uncached chunks in ${(cache.stats.ms / 1000).toFixed(1)} s)`);

    const depth = 300; // chunks per method: enough for 100 distinct documents
    const modes: SearchMode[] = ['bm25', 'vector', 'hybrid'];
    const result: Record<string, { ndcg10: number; recall100: number }> = {};
    const qStart = cache.stats.embedded;
    for (const mode of modes) {
      let ndcg = 0;
      let recall = 0;
      for (const q of evalQueries) {
        const { hits } = await index.search({ query: q.text, mode, k: depth });
        const docs: string[] = [];
        const seen = new Set<string>();
        for (const h of hits) {
          if (seen.has(h.doc_id)) continue;
          seen.add(h.doc_id);
          docs.push(h.doc_id);
        }
        const rel = qrels.get(q.id)!;
        ndcg += ndcgAt(docs, rel, 10);
        recall += recallAt(docs, rel, 100);
      }
      result[mode] = { ndcg10: round(ndcg / evalQueries.length), recall100: round(recall / evalQueries.length) };
    }
    void qStart;
    const throughput = cache.stats.embedded ? round((cache.stats.embedded / cache.stats.ms) * 1000, 1) : null;
    const throughputFile = path.resolve(repoRoot, 'data', 'eval-cache', 'memory', `throughput-${provider.model}.json`);
    if (throughput && cache.stats.embedded >= 1000) fs.writeFileSync(throughputFile, JSON.stringify({ chunks_per_s: throughput, chunks: cache.stats.embedded, threads }));
    const lastThroughput = fs.existsSync(throughputFile) ? JSON.parse(fs.readFileSync(throughputFile, 'utf8')) : null;
    if (json) {
      process.stdout.write(JSON.stringify({ modes: result, model: provider.model, precision, chunks, embed_chunks_per_s: lastThroughput?.chunks_per_s ?? throughput }) + '\n');
    } else {
      const row = (m: string, ref?: number) =>
        `${m.padEnd(8)} ${result[m].ndcg10.toFixed(3).padStart(8)} ${result[m].recall100.toFixed(3).padStart(11)}   ${ref !== undefined ? ref.toFixed(3) : '  -  '}`;
      console.log(`\nSciFact-style eval (${path.basename(dataDir)}), model ${provider.model}, ${chunks} chunks`);
      console.log(`mode      nDCG@10  recall@100   published nDCG@10`);
      console.log(row('bm25', REFERENCE.bm25));
      console.log(row('vector', REFERENCE.vector));
      console.log(row('hybrid'));
      if (lastThroughput) console.log(`embedding throughput (${precision}, ${lastThroughput.threads} threads): ${lastThroughput.chunks_per_s} chunks/s over ${lastThroughput.chunks} chunks`);
    }
  } finally {
    await index.close();
    await cache.env.close();
    await provider.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function round(x: number, d = 4): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e) => {
    process.stderr.write(`eval memory failed: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
