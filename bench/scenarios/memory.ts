/**
 * Bench scenario `memory`: a synthetic corpus with real structure (docs/bench.md, "memory"):
 * N chunks whose texts and 384-dim vectors share topic clusters, indexed through MemoryIndex
 * (chunking, analysis, BM25, HNSW, lmdb) with precomputed vectors so the figure excludes embedding;
 * then restart (reload), HNSW recall@10 against brute force at the default ef, hybrid query latency
 * through the memory actor in the real kernel, the substring-scan baseline over the same chunks,
 * and the real model's embedding throughput (fp32, q8) with the pool on the machine's cores.
 *
 *   set: chunks=N (default 100000; quick 20000), queries=Q (default 300), embed_chunks=E (default 256)
 *        service=0 skips the service figures (5 MB ingest, hostile files, idle RSS; bench/lib/memory-service.ts),
 *        service=only runs just those, ingest_mb=M (default 5; quick 1); service=idle runs only the
 *        idle RSS (at ready, model loaded, unloaded) of idle_runs=K fresh services per placement (default 3), medians
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalProvider } from '../../actors/embedder/providers/local.js';
import { MemoryIndex, type Embedder } from '../../actors/memory/memory-index.js';
import { loadTokenCounter } from '../../actors/memory/token-counter.js';
import { MEMORY_DEFAULTS } from '../../actors/memory/defaults.js';
import { startSystem } from '../../src/kernel/index.js';
import { analyze } from '../../actors/memory/analyzer.js';
import { Bm25Index } from '../../actors/memory/bm25-index.js';
import { VectorIndex } from '../../actors/memory/vector-index.js';
import usearch from 'usearch';
import winkBm25 from 'wink-bm25-text-search';
import { serviceFigures } from '../lib/memory-service.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MODEL = path.resolve(repoRoot, '../shared/models/all-MiniLM-L6-v2');
const DIM = 384;

/** Deterministic PRNG (mulberry32) so every run indexes the same corpus. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
  return { next, gauss };
}

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

export interface SyntheticCorpus {
  texts: string[];
  vectors: Float32Array[];
  cluster: Int32Array;
  centroids: Float32Array[];
  topicWords: string[][];
}

/**
 * Topic clusters: each has a centroid (variance decaying over dimensions, like real sentence
 * embeddings whose energy sits in a few hundred directions) and 40 topic words; a chunk is its
 * centroid plus noise, and its text mixes Zipf-distributed common words with its topic's words.
 */
export function syntheticCorpus(n: number, seed = 7): SyntheticCorpus {
  const r = rng(seed);
  const clusters = Math.max(50, Math.round(n / 100));
  const syll = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'so', 'vi', 'de', 'po', 'zu', 'fe', 'gi', 'ha', 'jo', 'bu', 'xe', 'qi', 'wa', 'yo'];
  const word = () => Array.from({ length: 2 + Math.floor(r.next() * 3) }, () => syll[Math.floor(r.next() * syll.length)]).join('');
  const common = Array.from({ length: 3000 }, word);
  const zipf = common.map((_, i) => 1 / (i + 1));
  const zsum = zipf.reduce((a, b) => a + b);
  const cdf: number[] = [];
  zipf.reduce((acc, z, i) => ((cdf[i] = (acc + z) / zsum), acc + z), 0);
  const pickCommon = () => {
    const u = r.next();
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return common[lo];
  };
  const scale = Float32Array.from({ length: DIM }, (_, i) => 1 / Math.sqrt(1 + i / 16));
  const centroids = Array.from({ length: clusters }, () => normalise(Float32Array.from({ length: DIM }, (_, d) => r.gauss() * scale[d])));
  const topicWords = Array.from({ length: clusters }, (_, c) => Array.from({ length: 40 }, (_, j) => `${word()}${c.toString(36)}x${j.toString(36)}`));
  const texts: string[] = [];
  const vectors: Float32Array[] = [];
  const cluster = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r.next() * clusters);
    cluster[i] = c;
    const cen = centroids[c];
    vectors.push(normalise(Float32Array.from({ length: DIM }, (_, d) => cen[d] + 0.24 * r.gauss() * scale[d])));
    const len = 20 + Math.floor(r.next() * 22);
    const words: string[] = [];
    for (let w = 0; w < len; w++) words.push(r.next() < 0.15 ? topicWords[c][Math.floor(r.next() * 40)] : pickCommon());
    texts.push(`${words.join(' ')}.`);
  }
  return { texts, vectors, cluster, centroids, topicWords };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

async function embedThroughput(precision: 'fp32' | 'q8', texts: string[]): Promise<number> {
  const p = await LocalProvider.create({ dir: MODEL, name: 'all-MiniLM-L6-v2', precision, threads: Math.max(1, os.availableParallelism()), intraOpThreads: 1, batchSize: 32, maxTokens: 256 });
  try {
    await p.embed(texts.slice(0, 8)); // warm both workers' sessions
    const t0 = performance.now();
    await p.embed(texts);
    return texts.length / ((performance.now() - t0) / 1000);
  } finally {
    await p.close();
  }
}

/** Queries: three topic words of a random cluster, and a vector near that cluster's centroid. */
function makeQueries(corpus: SyntheticCorpus, nq: number, seed = 99): Array<{ text: string; vec: Float32Array }> {
  const r = rng(seed);
  return Array.from({ length: nq }, () => {
    const c = Math.floor(r.next() * corpus.centroids.length);
    const words = Array.from({ length: 3 }, () => corpus.topicWords[c][Math.floor(r.next() * 40)]);
    const cen = corpus.centroids[c];
    const vec = normalise(Float32Array.from({ length: DIM }, (_, d) => cen[d] + (0.24 * r.gauss()) / Math.sqrt(1 + d / 16)));
    return { text: words.join(' '), vec };
  });
}

/** Library choices, measured on the same data (`set compare=1`): see docs/decisions.md, "memory". */
async function compareLibraries(corpus: SyntheticCorpus, notes: string[]): Promise<Record<string, number>> {
  const n = corpus.texts.length;
  const queries = makeQueries(corpus, 100, 1234);
  const out: Record<string, number> = {};
  // Ground truth for recall.
  const truth = queries.map((q) => {
    const s = corpus.vectors.map((v, i) => {
      let d = 0;
      for (let j = 0; j < DIM; j++) d += v[j] * q.vec[j];
      return [d, i] as const;
    });
    s.sort((a, b) => b[0] - a[0]);
    return new Set(s.slice(0, 10).map((x) => x[1]));
  });
  const recallOf = (lists: number[][]) => lists.reduce((a, l, i) => a + l.filter((x) => truth[i].has(x)).length / 10, 0) / lists.length;
  // hnswlib-node (single thread, as used) at several ef.
  let t = performance.now();
  const h = new VectorIndex(DIM, { m: MEMORY_DEFAULTS.hnsw_m, efConstruction: MEMORY_DEFAULTS.hnsw_ef_construction });
  corpus.vectors.forEach((v, i) => h.add(i, v));
  out.hnswlib_add_per_s = Math.round(n / ((performance.now() - t) / 1000));
  for (const ef of [32, 64, 100, 200]) {
    h.efSearch = ef;
    t = performance.now();
    const lists = queries.map((q) => h.search(q.vec, 10).map((x) => x.label));
    out[`hnswlib_ef${ef}_ms`] = round((performance.now() - t) / queries.length);
    out[`hnswlib_ef${ef}_recall10`] = round(recallOf(lists));
  }
  // usearch (its own multi-threaded add over all cores), same M and expansion values.
  const flat = new Float32Array(n * DIM);
  corpus.vectors.forEach((v, i) => flat.set(v, i * DIM));
  for (const ef of [32, 64, 100, 200]) {
    const u = new usearch.Index({ dimensions: DIM, metric: 'ip' as any, connectivity: MEMORY_DEFAULTS.hnsw_m, expansion_add: MEMORY_DEFAULTS.hnsw_ef_construction, expansion_search: ef } as any);
    if (ef === 32) {
      t = performance.now();
      u.add(BigUint64Array.from({ length: n }, (_, i) => BigInt(i)), flat, 0);
      out.usearch_add_per_s = Math.round(n / ((performance.now() - t) / 1000));
      u.save(path.join(os.tmpdir(), `rc-usearch-${process.pid}.bin`));
    } else u.load(path.join(os.tmpdir(), `rc-usearch-${process.pid}.bin`));
    t = performance.now();
    const lists = queries.map((q) => Array.from((u.search(q.vec, 10, 1) as any).keys as BigUint64Array, Number));
    out[`usearch_ef${ef}_ms`] = round((performance.now() - t) / queries.length);
    out[`usearch_ef${ef}_recall10`] = round(recallOf(lists));
  }
  fs.rmSync(path.join(os.tmpdir(), `rc-usearch-${process.pid}.bin`), { force: true });
  // BM25: wink-bm25-text-search vs this index, same analyzer.
  t = performance.now();
  const w = winkBm25();
  w.defineConfig({ fldWeights: { body: 1 }, bm25Params: { k1: 1.2, b: 0.75, k: 1 } });
  w.definePrepTasks([analyze]);
  corpus.texts.forEach((text, i) => w.addDoc({ body: text }, i));
  w.consolidate();
  out.wink_index_ms = Math.round(performance.now() - t);
  t = performance.now();
  for (const q of queries) w.search(q.text, 10);
  out.wink_query_ms = round((performance.now() - t) / queries.length);
  t = performance.now();
  const b = new Bm25Index();
  corpus.texts.forEach((text, i) => b.add(i, analyze(text)));
  out.own_bm25_index_ms = Math.round(performance.now() - t);
  t = performance.now();
  for (const q of queries) b.search(analyze(q.text), 10);
  out.own_bm25_query_ms = round((performance.now() - t) / queries.length);
  let canAdd = 1;
  try {
    w.addDoc({ body: 'one more document' }, n + 1);
  } catch {
    canAdd = 0;
  }
  out.wink_add_after_consolidate = canAdd;
  notes.push(`library comparison on ${n} chunks, ${queries.length} queries (see docs/decisions.md)`);
  return out;
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }): Promise<{ results: Record<string, Record<string, number>>; notes?: string[] }> {
  const n = Number(opts.set.chunks ?? (opts.quick ? 20_000 : 100_000));
  const nq = Number(opts.set.queries ?? (opts.quick ? 100 : 300));
  const nEmbed = Number(opts.set.embed_chunks ?? (opts.quick ? 64 : 256));
  const notes: string[] = [];
  const idleOnly = opts.set.service === 'idle' ? Number(opts.set.idle_runs ?? 3) : undefined;
  const service = opts.set.service === '0' ? null : await serviceFigures({ mb: Number(opts.set.ingest_mb ?? (opts.quick ? 1 : 5)), notes, ...(idleOnly !== undefined ? { idleOnly } : {}) });
  if (opts.set.service === 'only' || idleOnly !== undefined) return { results: service ?? {}, notes };
  const corpus = syntheticCorpus(n);
  const byText = new Map<string, Float32Array>();
  corpus.texts.forEach((t, i) => byText.set(t, corpus.vectors[i]));
  // Vectors are precomputed: indexing is measured without embedding time.
  const embedder: Embedder = {
    model: 'synthetic-clustered-384',
    dim: DIM,
    embed: async (texts) =>
      texts.map((t) => {
        const v = byText.get(t);
        if (!v) throw new Error('bench: chunk text changed by the chunker (a chunk must be a whole document here)');
        return v;
      }),
  };
  const counter = loadTokenCounter(path.join(MODEL, 'tokenizer.json'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-bench-memory-'));
  const dir = path.join(dataDir, 'memory');
  const open = () =>
    MemoryIndex.open({
      dir,
      chunkTokens: MEMORY_DEFAULTS.chunk_tokens,
      overlapTokens: MEMORY_DEFAULTS.chunk_overlap_tokens,
      countTokens: counter.count,
      embedder,
      hnsw: { m: MEMORY_DEFAULTS.hnsw_m, efConstruction: MEMORY_DEFAULTS.hnsw_ef_construction, efSearch: MEMORY_DEFAULTS.hnsw_ef_search },
    });
  try {
    // ---- indexing
    let idx = await open();
    const t0 = performance.now();
    const batch = 1000;
    for (let i = 0; i < n; i += batch) {
      await idx.addBatch(corpus.texts.slice(i, i + batch).map((text, j) => ({ text, source: j % 10 === 0 ? 'notes' : 'workspace', id: `c${i + j}` })));
    }
    const indexS = (performance.now() - t0) / 1000;
    const stats = idx.stats();
    if (stats.chunks !== n) notes.push(`expected ${n} chunks, index holds ${stats.chunks}`);
    await idx.close(); // writes the snapshot

    // ---- reload (restart)
    const r0 = performance.now();
    idx = await open();
    const reloadMs = performance.now() - r0;
    if (idx.loadedFrom !== 'snapshot') notes.push(`reload came from ${idx.loadedFrom}, not the snapshot`);

    // ---- queries: topic words of a cluster + a vector near its centroid
    const queries = makeQueries(corpus, nq);

    // ---- HNSW recall@10 at the default ef vs brute force
    const flat = new Float32Array(n * DIM);
    corpus.vectors.forEach((v, i) => flat.set(v, i * DIM));
    let recall = 0;
    const nRecall = Math.min(nq, 200);
    for (const q of queries.slice(0, nRecall)) {
      const scores = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        const o = i * DIM;
        for (let d = 0; d < DIM; d++) s += flat[o + d] * q.vec[d];
        scores[i] = s;
      }
      const truth = new Set(
        Array.from(scores.keys())
          .sort((a, b) => scores[b] - scores[a])
          .slice(0, 10)
          .map((i) => `c${i}`),
      );
      const got = await idx.search({ query: q.text, mode: 'vector', k: 10, vector: q.vec });
      recall += got.hits.filter((h) => truth.has(h.doc_id)).length / 10;
    }
    recall /= nRecall;

    // ---- in-thread hybrid latency (no actor hop), for comparison
    const inThread: number[] = [];
    for (const q of queries) {
      const s = performance.now();
      await idx.search({ query: q.text, mode: 'hybrid', k: 10, vector: q.vec });
      inThread.push(performance.now() - s);
    }
    // ---- baseline: substring scan over the same chunk texts
    const lower = corpus.texts.map((t) => t.toLowerCase());
    const sub: number[] = [];
    for (const q of queries) {
      const s = performance.now();
      const needle = q.text.split(' ')[0].toLowerCase();
      const hits: number[] = [];
      for (let i = 0; i < lower.length && hits.length < 10; i++) if (lower[i].includes(needle)) hits.push(i);
      sub.push(performance.now() - s);
    }
    // The full scan (every chunk checked, as a search that ranks must) for reference.
    const subFull: number[] = [];
    for (const q of queries.slice(0, 50)) {
      const s = performance.now();
      const terms = q.text.toLowerCase().split(' ');
      let count = 0;
      for (const t of lower) if (terms.some((w) => t.includes(w))) count++;
      subFull.push(performance.now() - s);
      if (count < 0) notes.push('unreachable');
    }
    await idx.close();

    // ---- hybrid latency through the memory actor in the real kernel
    const sys = await startSystem({
      config: { data_dir: dataDir, log: { level: 'silent' }, endpoint: { enabled: false } },
      tree: {
        kind: 'supervisor',
        id: 'system',
        children: [
          // The synthetic vectors are no model's, so memory must not bind to the real embedder
          // (it would refuse the index as a model mismatch); the embedder runs beside it to time
          // query embedding through its actor.
          { kind: 'worker', id: 'system/memory', memoryLimitMb: 2048, actors: [{ path: 'system/memory', module: 'memory', config: { embedder: 'system/no-embedder' } }] },
          ...(fs.existsSync(MODEL) ? [{ kind: 'worker' as const, id: 'system/embedder', actors: [{ path: 'system/embedder', module: 'embedder', config: { local: { model_path: MODEL } } }] }] : []),
        ],
      },
    });
    const queryEmbed: number[] = [];
    const viaActor: number[] = [];
    let actorReloadMs = 0;
    let actorHeapMb = 0;
    try {
      const st = await sys.ask('system/memory', 'memory.stats', {});
      if (st.chunks !== n) notes.push(`actor sees ${st.chunks} chunks (${st.error?.message ?? ''})`);
      actorReloadMs = st.loaded_from === 'snapshot' ? 0 : -1;
      actorHeapMb = Math.round((st.heap_bytes ?? 0) / 1e6);
      for (const q of queries.slice(0, 20)) await sys.ask('system/memory', 'memory.search', { query: q.text, k: 10, vector: Array.from(q.vec) }); // warm-up
      for (const q of queries) {
        const vector = Array.from(q.vec);
        const s = performance.now();
        await sys.ask('system/memory', 'memory.search', { query: q.text, k: 10, vector });
        viaActor.push(performance.now() - s);
      }
      if (fs.existsSync(MODEL)) {
        await sys.ask('system/embedder', 'embedder.info', { wait: true }, { timeoutMs: 120_000 });
        for (const q of queries.slice(0, 100)) {
          const s = performance.now();
          await sys.ask('system/embedder', 'embedder.embed', { texts: [q.text] });
          queryEmbed.push(performance.now() - s);
        }
      }
    } finally {
      await sys.stop();
    }
    if (queryEmbed.length) notes.push(`query embedding through system/embedder (fp32, one short query): p50 ${round(percentile(queryEmbed, 50))} ms, p99 ${round(percentile(queryEmbed, 99))} ms — add it to hybrid.query_ms for a query that arrives as text`);
    if (actorReloadMs < 0) notes.push('the actor did not load the snapshot');

    // ---- embedding throughput of the real model (texts shaped like the chunks)
    const embedTexts = corpus.texts.slice(0, nEmbed);
    let fp32 = 0;
    let q8 = 0;
    if (fs.existsSync(path.join(MODEL, 'onnx', 'model.onnx'))) {
      fp32 = await embedThroughput('fp32', embedTexts);
      q8 = await embedThroughput('q8', embedTexts);
    } else notes.push(`model not found at ${MODEL}: embedding throughput not measured`);

    const compare = opts.set.compare === '1' ? await compareLibraries(opts.quick ? corpus : syntheticCorpus(Math.min(n, 50_000)), notes) : null;
    notes.push(
      `memory actor heap with the index loaded: ${actorHeapMb} MB (kernel.actors.memory.memory_limit_mb must exceed it)`,
      `${n} chunks (${corpus.centroids.length} topic clusters), ${nq} queries; in-thread hybrid p50 ${round(percentile(inThread, 50))} ms p99 ${round(percentile(inThread, 99))} ms; ` +
        `full substring scan (all chunks, all query words) p50 ${round(percentile(subFull, 50))} ms; query vectors precomputed (embedding a short query adds a few ms on this model)`,
    );
    return {
      results: {
        hybrid: { query_ms_p50: round(percentile(viaActor, 50)), query_ms_p99: round(percentile(viaActor, 99)) },
        substring: { query_ms_p50: round(percentile(sub, 50)) },
        index: { chunks_per_s: Math.round(n / indexS), reload_ms: Math.round(reloadMs), hnsw_recall10: round(recall) },
        embed: { fp32_chunks_per_s: round(fp32, 1), q8_chunks_per_s: round(q8, 1) },
        ...(compare ? { compare } : {}),
        ...(service ?? {}),
      },
      notes,
    };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const quick = process.argv.includes('--quick');
  const set: Record<string, string> = {};
  for (const a of process.argv.slice(2)) {
    const m = /^([a-z_]+)=(.+)$/.exec(a);
    if (m) set[m[1]] = m[2];
  }
  run({ set, quick }).then(
    (r) => process.stdout.write(JSON.stringify({ scenario: 'memory', node: process.version, cpus: os.availableParallelism(), ...r }, null, 2) + '\n'),
    (e) => {
      process.stderr.write(`bench memory failed: ${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
}
