/**
 * The memory index: documents → chunks → BM25 + HNSW, persisted in an lmdb env of its own
 * (binary Float32 vectors under uint32 keys, one atomic transaction per document change), with
 * snapshot files of both indexes so a restart reloads without re-embedding or re-analysing.
 *
 * Layout of `dir`: `index.lmdb` (dbs meta, docs, chunks, vectors), `bm25.bin`, `hnsw.bin`,
 * `snapshot.json` ({format, generation}). A snapshot is used only if its generation equals the
 * lmdb generation; otherwise (crash between a write and the next snapshot) both indexes are
 * rebuilt from lmdb — slower, never wrong.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import v8 from 'node:v8';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { analyze, analyzeCounted, MAX_TOKEN_CHARS } from './analyzer.js';
import { Bm25Index } from './bm25-index.js';
import { chunkTextAsync, type Chunk } from './chunker.js';
import { InputError } from './file-reader.js';
import { buildFilter, rankResults, type SearchFilters, type SearchMode } from './hybrid-search.js';
import type { TokenCounter } from './token-counter.js';
import { VectorIndex } from './vector-index.js';
import { yielder } from './yielder.js';
import { CrashLedger, type QuarantineEntry } from './quarantine.js';
import { isProse } from './prose.js';

/** On-disk format version; an index written by another version is refused, not rewritten. */
export const INDEX_FORMAT = 1;

export interface Embedder {
  model: string;
  dim: number;
  embed(texts: string[]): Promise<Float32Array[]>;
}

export interface MemoryIndexOptions {
  dir: string;
  chunkTokens: number;
  overlapTokens: number;
  countTokens: TokenCounter;
  embedder: Embedder | null;
  bm25?: { k1?: number; b?: number };
  hnsw?: { m?: number; efConstruction?: number; efSearch?: number };
  rrfK?: number;
  vectorWeight?: number;
  bm25Weight?: number;
  /** How deep each method's list goes before fusion (≥ k). */
  candidates?: number;
  maxQueryWords?: number;
  /** Compact when deleted chunks exceed this fraction of live chunks. */
  compactRatio?: number;
  log?: { info(o: unknown, msg?: string): void; warn(o: unknown, msg?: string): void };
  /**
   * When the snapshot can't be used: `wait` rebuilds before open returns (tests, tools);
   * `background` returns at once and rebuilds while searches answer from what is rebuilt so far.
   */
  rebuild?: 'wait' | 'background';
  /** Most wall time one document's chunking and analysis may take before it is refused. */
  analysisBudgetMs?: number;
  /** Texts per embedding request, and how many requests may be in flight (bounded memory). */
  embedBatch?: number;
  embedInFlight?: number;
}

/** Progress of one add: chunks embedded so far. */
export interface AddProgress {
  phase: 'analyze' | 'embed';
  doc?: string;
  done: number;
  total: number;
}

export type { SearchMode, SearchFilters } from './hybrid-search.js';

export interface SearchRequest {
  query: string;
  mode?: SearchMode;
  k?: number;
  filters?: SearchFilters;
  /** Precomputed query embedding (skips embedding the query). */
  vector?: number[] | Float32Array;
}

export interface Hit {
  id: string;
  doc_id: string;
  text: string;
  source: string;
  agent?: string;
  location: { path: string | null; start_line: number; end_line: number };
  score: number;
  ranks: { bm25?: number; vector?: number };
  scores: { bm25?: number; vector?: number; rrf?: number };
}

export interface AddRequest {
  text: string;
  source: string;
  path?: string;
  agent?: string;
  id?: string;
  /** Epoch ms the content dates from (file mtime); default now. */
  time?: number;
  /** Re-chunk and re-embed even when the content hash is unchanged (doctor repairs). */
  force?: boolean;
}

export interface AddResult {
  doc_id: string;
  status: 'added' | 'updated' | 'unchanged';
  chunks: number;
  /** Tokens longer than MAX_TOKEN_CHARS left out of BM25, and chunks made only of them (not indexed). */
  skipped_tokens?: number;
  skipped_chunks?: number;
  /** Chunks that are not language (base64, hex, minified code, hashes): in BM25 only, not embedded. */
  not_prose?: number;
}

interface DocRecord {
  id: string;
  source: string;
  path?: string;
  agent?: string;
  hash: string;
  time: number;
  added_at: number;
  labels: number[];
  skipped_tokens?: number;
  skipped_chunks?: number;
  /** Labels of chunks indexed by BM25 only (not prose): they have no vector row. */
  bm25_only?: number[];
}

interface ChunkRecord {
  doc: string;
  text: string;
  start_line: number;
  end_line: number;
}

interface Meta {
  format: number;
  model: string | null;
  dim: number | null;
  next_label: number;
  generation: number;
}

/** What the filters need, kept in memory per document (texts stay in lmdb). */
interface DocMeta {
  id: string;
  source: string;
  path?: string;
  agent?: string;
  time: number;
  hash: string;
  labels: number[];
  /** Labels without a vector (not prose). */
  bm25Only?: Set<number>;
}

export class MemoryError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'MemoryError';
    this.code = code;
  }
}

export interface DoctorProblem {
  code: string;
  message: string;
  repaired: boolean;
}

export interface DoctorReport {
  ok: boolean;
  docs: number;
  chunks: number;
  problems: DoctorProblem[];
}

interface Prepared {
  req: AddRequest;
  id: string;
  hash: string;
  chunks: Chunk[];
  /** BM25 tokens per chunk, computed before the commit. */
  tokens: string[][];
  skippedTokens: number;
  skippedChunks: number;
  /** Per chunk: prose (embedded and in both indexes) or not (BM25 only). */
  prose: boolean[];
  result: AddResult;
}

function skippedOf(p: Prepared): { skipped_tokens?: number; skipped_chunks?: number; not_prose?: number } {
  const notProse = p.prose.filter((x) => !x).length;
  return { ...(p.skippedTokens ? { skipped_tokens: p.skippedTokens } : {}), ...(p.skippedChunks ? { skipped_chunks: p.skippedChunks } : {}), ...(notProse ? { not_prose: notProse } : {}) };
}

export function contentHash(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

export class MemoryIndex {
  private env!: RootDatabase;
  private metaDb!: Database<any, string>;
  private docsDb!: Database<DocRecord, string>;
  /** Full document texts, apart from `docs` so start-up reads only the small records. */
  private textsDb!: Database<string, string>;
  private chunksDb!: Database<ChunkRecord, number>;
  private vectorsDb!: Database<Buffer, number>;
  private meta!: Meta;
  private bm25!: Bm25Index;
  private vectors: VectorIndex | null = null;
  private docs = new Map<string, DocMeta>();
  private labelDoc = new Map<number, DocMeta>();
  /** Chunks of tracked documents kept out of the vector index (not prose). */
  private notProse = 0;
  private dirtySince = 0;
  /** Set when the embedder serves another model than the index holds: only bm25 works until reindex. */
  mismatch: { stored: string; storedDim: number; current: string; currentDim: number } | null = null;
  readonly opts: Required<Omit<MemoryIndexOptions, 'log' | 'embedder' | 'bm25' | 'hnsw'>> & MemoryIndexOptions;
  /** How the last open got its indexes: from snapshot files or rebuilt from lmdb. */
  loadedFrom: 'empty' | 'snapshot' | 'rebuild' = 'empty';
  /** Crash strikes and quarantined documents (files beside lmdb). */
  ledger!: CrashLedger;
  /** Set while the indexes are rebuilt in the background: searches answer from what is done. */
  rebuilding: { done: number; total: number; started: number } | null = null;
  /** Resolves when no rebuild is running (writes wait for it). */
  rebuilt: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(opts: MemoryIndexOptions) {
    this.opts = {
      rrfK: 60,
      vectorWeight: 1,
      bm25Weight: 1,
      candidates: 100,
      maxQueryWords: 512,
      compactRatio: 0.25,
      rebuild: 'wait',
      analysisBudgetMs: 120_000,
      embedBatch: 64,
      embedInFlight: 2,
      ...opts,
    };
  }

  get dbPath(): string {
    return path.join(this.opts.dir, 'index.lmdb');
  }

  static async open(opts: MemoryIndexOptions): Promise<MemoryIndex> {
    const mi = new MemoryIndex(opts);
    await mi.openStore();
    return mi;
  }

  private async openStore(): Promise<void> {
    fs.mkdirSync(this.opts.dir, { recursive: true });
    checkLmdbHeader(path.join(this.dbPath, 'data.mdb'));
    let stored: Meta | undefined;
    try {
      this.env = open({ path: this.dbPath, maxDbs: 8, noSubdir: false, compression: false });
      this.metaDb = this.env.openDB({ name: 'meta', encoding: 'msgpack' });
      this.docsDb = this.env.openDB({ name: 'docs', encoding: 'msgpack' });
      this.textsDb = this.env.openDB({ name: 'texts', encoding: 'string' });
      this.chunksDb = this.env.openDB({ name: 'chunks', encoding: 'msgpack', keyEncoding: 'uint32' });
      this.vectorsDb = this.env.openDB({ name: 'vectors', encoding: 'binary', keyEncoding: 'uint32' });
      stored = this.metaDb.get('meta') as Meta | undefined;
    } catch (e) {
      // Leave the files as they are: they may be recoverable, and nothing may be lost.
      throw new MemoryError('index_unreadable', `cannot open memory index ${this.dbPath}: ${(e as Error).message}. Nothing was changed; move the folder aside to start a new index`);
    }
    if (stored && stored.format !== INDEX_FORMAT) {
      const msg = `memory index ${this.dbPath} was written by index format ${stored.format}; this version reads format ${INDEX_FORMAT}. Nothing was changed: use the RustyClaw version that wrote it, or move ${this.opts.dir} aside and re-add your files with \`rustyclaw memory add\``;
      this.env.close();
      throw new MemoryError('index_version_mismatch', msg);
    }
    this.meta = stored ?? { format: INDEX_FORMAT, model: null, dim: null, next_label: 1, generation: 0 };
    this.ledger = new CrashLedger(this.opts.dir, this.opts.log);
    this.ledger.recoverInflight();
    const pause = yielder();
    for (const { value } of this.docsDb.getRange()) {
      // A quarantined document stays in lmdb (delete removes it) but out of the indexes.
      if (!this.ledger.quarantined(value.id)) this.trackDoc(value);
      await pause();
    }
    this.checkModel();
    await this.loadIndexes();
  }

  private trackDoc(d: DocRecord | DocMeta): DocMeta {
    const m: DocMeta = { id: d.id, source: d.source, time: d.time, hash: d.hash, labels: d.labels };
    if (d.path !== undefined) m.path = d.path;
    if (d.agent !== undefined) m.agent = d.agent;
    const only = 'bm25Only' in d ? d.bm25Only && [...d.bm25Only] : (d as DocRecord).bm25_only;
    if (only?.length) m.bm25Only = new Set(only);
    this.notProse += m.bm25Only?.size ?? 0;
    this.docs.set(m.id, m);
    for (const l of m.labels) this.labelDoc.set(l, m);
    return m;
  }

  private untrackDoc(m: DocMeta): void {
    if (this.docs.get(m.id) === m) this.notProse -= m.bm25Only?.size ?? 0;
    this.docs.delete(m.id);
    for (const l of m.labels) this.labelDoc.delete(l);
  }

  private checkModel(): void {
    const e = this.opts.embedder;
    this.mismatch = null;
    if (!e || this.meta.model === null || this.labelDoc.size === 0) return;
    if (e.model !== this.meta.model || e.dim !== this.meta.dim) {
      this.mismatch = { stored: this.meta.model, storedDim: this.meta.dim ?? 0, current: e.model, currentDim: e.dim };
    }
  }

  private mismatchError(): MemoryError {
    const m = this.mismatch!;
    return new MemoryError(
      'model_mismatch',
      `memory index ${this.dbPath} holds vectors of ${m.stored} (${m.storedDim}-dim) but the embedder now serves ${m.current} (${m.currentDim}-dim); vectors of different models never mix. Run \`rustyclaw memory reindex\` to re-embed with the new model (bm25 search still works meanwhile)`,
    );
  }

  private snapshotFiles() {
    return {
      bm25: path.join(this.opts.dir, 'bm25.bin'),
      hnsw: path.join(this.opts.dir, 'hnsw.bin'),
      json: path.join(this.opts.dir, 'snapshot.json'),
    };
  }

  private async loadIndexes(): Promise<void> {
    const f = this.snapshotFiles();
    this.bm25 = new Bm25Index(this.opts.bm25);
    this.vectors = null;
    if (this.labelDoc.size === 0) {
      this.loadedFrom = 'empty';
      return;
    }
    let snap: { format: number; generation: number } | null;
    try {
      snap = JSON.parse(fs.readFileSync(f.json, 'utf8'));
    } catch {
      snap = null;
    }
    if (snap && snap.format === INDEX_FORMAT && snap.generation === this.meta.generation) {
      try {
        this.bm25 = Bm25Index.deserialize(fs.readFileSync(f.bm25));
        const vectorLabels = [...this.labelDoc].filter(([l, d]) => !d.bm25Only?.has(l)).map(([l]) => l);
        // Every chunk kept out of the vector index (a store of only non-prose): no graph file.
        const dim = this.meta.dim;
        if (vectorLabels.length && !dim) throw new Error('chunks with vectors but no dimension in lmdb meta');
        this.vectors = vectorLabels.length ? await VectorIndex.load(f.hnsw, dim!, vectorLabels, this.opts.hnsw) : dim ? new VectorIndex(dim, this.opts.hnsw) : null;
        if (this.bm25.size !== this.labelDoc.size) throw new Error(`bm25 snapshot holds ${this.bm25.size} chunks, lmdb ${this.labelDoc.size}`);
        this.loadedFrom = 'snapshot';
        return;
      } catch (e) {
        this.opts.log?.warn({ err: (e as Error).message }, 'memory: snapshot unusable, rebuilding indexes from lmdb');
      }
    }
    this.loadedFrom = 'rebuild';
    if (this.opts.rebuild === 'background') {
      // Start never blocks on a rebuild: answer from what is rebuilt so far, and say so.
      this.rebuilt = this.rebuildFromStore().catch((e) => this.opts.log?.warn({ err: (e as Error).message }, 'memory: background rebuild failed'));
    } else await this.rebuildFromStore();
  }

  /**
   * Rebuild BM25 and HNSW from the chunk texts and vectors in lmdb (no re-embedding), document by
   * document with an in-flight marker each, so a document that kills the thread here is struck and
   * after two strikes quarantined instead of wedging every start.
   */
  private async rebuildFromStore(): Promise<void> {
    this.bm25 = new Bm25Index(this.opts.bm25);
    this.vectors = this.meta.dim ? new VectorIndex(this.meta.dim, this.opts.hnsw) : null;
    const pause = yielder();
    this.rebuilding = { done: 0, total: this.labelDoc.size, started: Date.now() };
    try {
      for (const d of [...this.docs.values()]) {
        if (this.closed) return;
        if (this.docs.get(d.id) !== d) continue; // replaced or deleted meanwhile
        this.ledger.begin({ op: 'rebuild', doc_id: d.id, started: Date.now(), ...(d.path ? { path: d.path } : {}), source: d.source });
        for (const label of d.labels) {
          await pause();
          if (this.closed) return;
          if (this.docs.get(d.id) !== d) break;
          const c = this.chunksDb.get(label);
          const bm25Only = d.bm25Only?.has(label) ?? false;
          const v = bm25Only ? null : this.vectorsDb.getBinary(label);
          this.rebuilding.done++;
          if (!c || (!v && !bm25Only)) {
            this.opts.log?.warn({ label, doc: d.id }, 'memory: chunk missing in lmdb, skipped (run `rustyclaw memory doctor`)');
            continue;
          }
          if (!this.bm25.has(label)) this.bm25.add(label, analyze(c.text));
          if (v && this.vectors && !this.vectors.has(label) && v.byteLength === this.meta.dim! * 4) this.vectors.add(label, toF32(v));
        }
      }
      this.ledger.end();
    } finally {
      this.rebuilding = null;
    }
    this.dirtySince = Date.now();
  }

  /** Replace the embedder (e.g. after a fallback) and re-check the model. */
  setEmbedder(e: Embedder | null): void {
    this.opts.embedder = e;
    this.checkModel();
  }

  get model(): string | null {
    return this.meta.model;
  }

  // ---------------------------------------------------------------- writes

  async add(req: AddRequest, onProgress?: (p: AddProgress) => void): Promise<AddResult> {
    return (await this.addBatch([req], onProgress))[0];
  }

  /**
   * Add or update several documents: their chunks are analysed first (bounded, within the budget),
   * then embedded in batches with a bounded number of requests in flight, then committed in one
   * lmdb transaction, then mirrored into the in-memory indexes from the tokens already computed.
   * A document whose content hash is unchanged is skipped. Nothing is written before the commit,
   * so a refused or failed document leaves no trace.
   */
  async addBatch(reqs: AddRequest[], onProgress?: (p: AddProgress) => void): Promise<AddResult[]> {
    await this.rebuilt;
    const prepared: Prepared[] = [];
    for (const req of reqs) prepared.push(await this.prepare(req, onProgress));
    const todo = prepared.filter((p) => p.chunks.length > 0);
    if (!todo.length) return prepared.map((p) => p.result);
    // Only prose is embedded; a batch of nothing else needs no embedder (BM25 only).
    const texts = todo.flatMap((p) => p.chunks.filter((_, i) => p.prose[i]).map((c) => c.text));
    const emb = texts.length ? this.requireEmbedder() : null;
    const vecs = emb ? await this.embedAll(emb, texts, (done) => onProgress?.({ phase: 'embed', done, total: texts.length })) : [];
    if (emb && (vecs.length !== texts.length || (vecs[0] && vecs[0].length !== emb.dim))) {
      throw new MemoryError('embedder_failed', `embedder returned ${vecs.length} vectors of ${vecs[0]?.length} dims for ${texts.length} chunks (expected ${emb.dim} dims)`);
    }
    if (emb && this.mismatch) throw this.mismatchError(); // the embedder may have changed while we waited
    if (emb && (this.meta.model === null || this.vectorCount() === 0)) {
      this.meta.model = emb.model;
      this.meta.dim = emb.dim;
    }
    const now = Date.now();
    let vi = 0;
    const rows = todo.map((p) => {
      const labels = p.chunks.map(() => this.meta.next_label++);
      const rec: DocRecord = { id: p.id, source: p.req.source, hash: p.hash, time: p.req.time ?? now, added_at: now, labels };
      if (p.req.path) rec.path = path.resolve(p.req.path);
      if (p.req.agent) rec.agent = p.req.agent;
      if (p.skippedTokens) rec.skipped_tokens = p.skippedTokens;
      if (p.skippedChunks) rec.skipped_chunks = p.skippedChunks;
      const only = labels.filter((_, i) => !p.prose[i]);
      if (only.length) rec.bm25_only = only;
      const v = p.chunks.map((_, i) => (p.prose[i] ? vecs[vi++] : null));
      // Re-read after the await: another add may have replaced the same document meanwhile.
      return { p, rec, labels, v, old: this.docs.get(p.id) };
    });
    this.meta.generation++;
    this.env.transactionSync(() => {
      const dropped = new Set<DocMeta>();
      for (const r of rows) {
        if (r.old && !dropped.has(r.old)) {
          for (const l of r.old.labels) this.dropChunkRows(l);
          dropped.add(r.old);
        }
        r.p.chunks.forEach((c, i) => {
          this.chunksDb.putSync(r.labels[i], { doc: r.p.id, text: c.text, start_line: c.startLine, end_line: c.endLine });
          const vec = r.v[i];
          if (vec) this.vectorsDb.putSync(r.labels[i], Buffer.from(vec.buffer, vec.byteOffset, vec.byteLength));
        });
        this.docsDb.putSync(r.p.id, r.rec);
        this.textsDb.putSync(r.p.id, r.p.req.text);
      }
      this.metaDb.putSync('meta', this.meta);
    });
    // lmdb is committed: now mirror in memory (tokens were computed before the commit; a crash
    // here leaves a stale snapshot, which the next start rebuilds in the background).
    if (!this.vectors && emb) this.vectors = new VectorIndex(emb.dim, this.opts.hnsw);
    const pause = yielder();
    for (const r of rows) {
      await pause();
      const cur = this.docs.get(r.p.id);
      if (cur) this.unindexDoc(cur);
      this.trackDoc(r.rec);
      for (let i = 0; i < r.p.chunks.length; i++) {
        await pause();
        this.bm25.add(r.labels[i], r.p.tokens[i]);
        const vec = r.v[i];
        if (vec) this.vectors!.add(r.labels[i], vec);
      }
      r.p.result = { doc_id: r.p.id, status: r.old ? 'updated' : 'added', chunks: r.labels.length, ...skippedOf(r.p) };
      this.ledger.clear(r.p.id);
    }
    this.dirtySince ||= Date.now();
    return prepared.map((p) => p.result);
  }

  /** Embed in batches of `embedBatch` texts, at most `embedInFlight` requests at a time, in order. */
  private async embedAll(emb: Embedder, texts: string[], onDone: (done: number) => void): Promise<Float32Array[]> {
    const size = this.opts.embedBatch!;
    const out = new Array<Float32Array>(texts.length);
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < texts.length) {
        const from = next;
        next += size;
        const slice = texts.slice(from, from + size);
        const part = await emb.embed(slice);
        if (part.length !== slice.length) throw new MemoryError('embedder_failed', `embedder returned ${part.length} vectors for ${slice.length} chunks`);
        for (let i = 0; i < part.length; i++) out[from + i] = part[i];
        done += part.length;
        onDone(done);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.opts.embedInFlight!) }, worker));
    return out;
  }

  private async prepare(req: AddRequest, onProgress?: (p: AddProgress) => void): Promise<Prepared> {
    if (!req || typeof req.text !== 'string') throw new MemoryError('invalid_input', 'memory.add needs text (string)');
    if (!req.source) throw new MemoryError('invalid_input', 'memory.add needs a source');
    const where = req.path ?? (req.id ? `${req.source} text '${req.id}'` : `${req.source} text`);
    if (req.text.trim() === '') throw new InputError('empty_input', `${where} is empty: nothing to index`);
    const id = req.id ?? (req.path ? `file:${path.resolve(req.path)}` : `text:${contentHash(`${req.source}\0${req.text}`).slice(0, 24)}`);
    const hash = contentHash(req.text);
    const q = this.ledger.quarantined(id, hash);
    if (q) throw new MemoryError('quarantined', `${where} is quarantined: ${q.reason}. It is not indexed; \`rustyclaw memory delete --id ${id}\` clears it (changed content gets a new chance)`);
    const prev = this.docs.get(id);
    const result: AddResult = { doc_id: id, status: 'unchanged', chunks: prev?.labels.length ?? 0 };
    const prep: Prepared = { req, id, hash, chunks: [], tokens: [], skippedTokens: 0, skippedChunks: 0, prose: [], result };
    if (prev && prev.hash === hash && !this.mismatch && !req.force) return prep;
    const budgetMs = this.opts.analysisBudgetMs!;
    const started = performance.now();
    const check = () => {
      if (performance.now() - started > budgetMs) {
        throw new InputError('analysis_budget_exceeded', `${where}: chunking and analysis took longer than memory.analysis_budget_ms = ${budgetMs} ms (${prep.chunks.length} chunks so far); the document was refused and nothing of it was stored`);
      }
    };
    const pause = yielder();
    this.ledger.begin({ op: 'add', doc_id: id, hash, started: Date.now(), source: req.source, ...(req.path ? { path: path.resolve(req.path) } : {}) });
    try {
      await chunkTextAsync(req.text, {
        maxTokens: this.opts.chunkTokens,
        overlapTokens: this.opts.overlapTokens,
        count: this.opts.countTokens,
        check,
        onChunks: async (part) => {
          for (const c of part) {
            const a = analyzeCounted(c.text);
            prep.skippedTokens += a.skipped;
            // A chunk made only of over-long tokens (a blob) would embed as noise: leave it out.
            if (a.tokens.length === 0 && a.skipped > 0) prep.skippedChunks++;
            else {
              prep.chunks.push(c);
              prep.tokens.push(a.tokens);
              prep.prose.push(isProse(c.text));
            }
            await pause();
            check();
          }
          onProgress?.({ phase: 'analyze', doc: where, done: prep.chunks.length, total: 0 });
        },
      });
    } finally {
      this.ledger.end();
    }
    if (prep.chunks.length === 0) {
      if (prep.skippedChunks) throw new InputError('no_indexable_text', `${where} has no indexable text: all ${prep.skippedTokens} of its tokens are longer than ${MAX_TOKEN_CHARS} characters (a hex, base64 or minified blob?)`);
      throw new InputError('empty_input', `${where} has no indexable text`);
    }
    return prep;
  }

  /** Chunks that have a vector (all tracked chunks but those kept out as not prose). */
  private vectorCount(): number {
    return this.labelDoc.size - this.notProse;
  }

  private requireEmbedder(): Embedder {
    if (this.mismatch) throw this.mismatchError();
    const e = this.opts.embedder;
    if (!e) throw new MemoryError('embedder_unavailable', 'no embedding provider is available, so nothing can be added (`rustyclaw status` shows why; offline, set embedder.local.model_path to a local copy of the model or embedder.local.base_url to a mirror); bm25 search of what is stored still works');
    return e;
  }

  private dropChunkRows(label: number): void {
    this.chunksDb.removeSync(label);
    this.vectorsDb.removeSync(label);
  }

  private unindexDoc(m: DocMeta): void {
    for (const l of m.labels) {
      this.bm25.remove(l);
      this.vectors?.remove(l);
    }
    this.untrackDoc(m);
  }

  /** Delete documents by id, or every document whose path starts with `path_prefix`, or of a source. */
  delete(sel: { id?: string; path?: string; source?: string }): { deleted: number; chunks: number } {
    const victims: DocMeta[] = [];
    if (sel.id) {
      const d = this.docs.get(sel.id);
      if (d) victims.push(d);
    }
    if (sel.path) {
      const p = path.resolve(sel.path);
      for (const d of this.docs.values()) if (d.path && (d.path === p || d.path.startsWith(p + path.sep))) victims.push(d);
    }
    if (sel.source) for (const d of this.docs.values()) if (d.source === sel.source) victims.push(d);
    if (!sel.id && !sel.path && !sel.source) throw new MemoryError('invalid_input', 'memory.delete needs id, path or source');
    // Quarantined documents are outside the indexes: delete their stored rows and their record.
    const p = sel.path ? path.resolve(sel.path) : null;
    for (const q of this.ledger.all()) {
      const hit = q.doc_id === sel.id || (p && q.path && (q.path === p || q.path.startsWith(p + path.sep))) || (sel.source && q.source === sel.source);
      if (!hit || this.docs.has(q.doc_id)) continue;
      const rec = this.docsDb.get(q.doc_id);
      if (rec) victims.push({ id: rec.id, source: rec.source, time: rec.time, hash: rec.hash, labels: rec.labels, quarantined: true } as DocMeta);
      else if (this.ledger.clear(q.doc_id)) victims.push({ id: q.doc_id, source: q.source ?? '', time: 0, hash: q.hash ?? '', labels: [], quarantined: true } as DocMeta);
    }
    const unique = [...new Set(victims)];
    if (!unique.length) return { deleted: 0, chunks: 0 };
    let chunks = 0;
    this.meta.generation++;
    this.env.transactionSync(() => {
      for (const d of unique) {
        for (const l of d.labels) this.dropChunkRows(l);
        this.docsDb.removeSync(d.id);
        this.textsDb.removeSync(d.id);
        chunks += d.labels.length;
      }
      this.metaDb.putSync('meta', this.meta);
    });
    for (const d of unique) {
      if (!(d as DocMeta & { quarantined?: boolean }).quarantined) this.unindexDoc(d);
      this.ledger.clear(d.id);
    }
    this.dirtySince ||= Date.now();
    return { deleted: unique.length, chunks };
  }

  /** Drop deleted entries from both indexes if enough accumulated (or `force`). */
  async compact(force = false): Promise<boolean> {
    const live = this.bm25.size;
    const deleted = Math.max(this.bm25.deletedCount, this.vectors?.deletedCount ?? 0);
    if (!deleted || (!force && deleted < this.opts.compactRatio * Math.max(1, live))) return false;
    this.bm25.compact();
    await this.vectors?.rebuild();
    this.dirtySince ||= Date.now();
    return true;
  }

  /** Write snapshot files if anything changed since the last one. */
  async snapshot(): Promise<boolean> {
    if (!this.dirtySince || this.rebuilding) return false;
    const f = this.snapshotFiles();
    const gen = this.meta.generation;
    if (this.labelDoc.size === 0) {
      for (const file of Object.values(f)) fs.rmSync(file, { force: true });
    } else {
      writeAtomic(f.bm25, this.bm25.serialize());
      // No vectors (every chunk kept out as not prose): the snapshot is BM25 alone.
      if (this.vectors?.size) await this.vectors.save(f.hnsw);
      else fs.rmSync(f.hnsw, { force: true });
      writeAtomic(f.json, Buffer.from(JSON.stringify({ format: INDEX_FORMAT, generation: gen })));
    }
    this.dirtySince = 0;
    return true;
  }

  /** Re-chunk and re-embed every stored document with the current embedder and chunk settings. */
  async reindex(onProgress?: (done: number, total: number) => void): Promise<{ docs: number; chunks: number; model: string }> {
    const e = this.opts.embedder;
    if (!e) throw new MemoryError('embedder_unavailable', 'cannot reindex: no embedding provider is available');
    const ids = [...this.docs.keys()];
    const bm25 = new Bm25Index(this.opts.bm25);
    const vectors = new VectorIndex(e.dim, this.opts.hnsw);
    let next = 1;
    const staged: Array<{ rec: DocRecord; rows: Array<{ label: number; chunk: ChunkRecord; vec: Float32Array | null }> }> = [];
    const unusable: string[] = [];
    const recoveredTexts = new Map<string, string>();
    let done = 0;
    onProgress?.(0, ids.length);
    // Embed several documents per call so the pool's batches stay full.
    for (let i = 0; i < ids.length; ) {
      const group: Array<{ rec: DocRecord; chunks: Chunk[] }> = [];
      let n = 0;
      while (i < ids.length && (n < 256 || group.length === 0)) {
        const id = ids[i++];
        const rec = this.docsDb.get(id);
        if (!rec) continue;
        let text = this.textsDb.get(id);
        if (text === undefined) {
          // No stored full text (should not happen): rebuild it from the chunks rather than lose the document.
          const parts = rec.labels.map((l) => this.chunksDb.get(l)?.text).filter((t): t is string => t !== undefined);
          this.opts.log?.warn({ doc: id, chunks: parts.length }, 'memory: document text missing, reindexing it from its chunks');
          if (!parts.length) {
            unusable.push(id);
            continue;
          }
          text = parts.join('\n');
          recoveredTexts.set(id, text);
        }
        const chunks = await chunkTextAsync(text, { maxTokens: this.opts.chunkTokens, overlapTokens: this.opts.overlapTokens, count: this.opts.countTokens });
        group.push({ rec, chunks });
        n += chunks.length;
      }
      // Only prose is embedded; the rest stays BM25-only, as on add.
      const prose = group.map((g) => g.chunks.map((c) => isProse(c.text)));
      const proseTexts = group.flatMap((g, gi) => g.chunks.filter((_, i) => prose[gi][i]).map((c) => c.text));
      const vecs = proseTexts.length ? await e.embed(proseTexts) : [];
      let vi = 0;
      group.forEach((g, gi) => {
        const rows = g.chunks.map((c, i) => ({ label: next++, chunk: { doc: g.rec.id, text: c.text, start_line: c.startLine, end_line: c.endLine }, vec: prose[gi][i] ? vecs[vi++] : null }));
        const { bm25_only: _old, ...rec } = g.rec;
        const only = rows.filter((r) => !r.vec).map((r) => r.label);
        staged.push({ rec: { ...rec, labels: rows.map((r) => r.label), ...(only.length ? { bm25_only: only } : {}) }, rows });
      });
      done += group.length;
      onProgress?.(done, ids.length);
    }
    // Swap in one transaction: the old index stays intact until this commits.
    this.meta = { format: INDEX_FORMAT, model: e.model, dim: e.dim, next_label: next, generation: this.meta.generation + 1 };
    this.env.transactionSync(() => {
      this.chunksDb.clearSync();
      this.vectorsDb.clearSync();
      // Documents with neither text nor chunks hold nothing that could be re-embedded.
      for (const id of unusable) this.docsDb.removeSync(id);
      for (const [id, text] of recoveredTexts) this.textsDb.putSync(id, text);
      for (const s of staged) {
        for (const r of s.rows) {
          this.chunksDb.putSync(r.label, r.chunk);
          if (r.vec) this.vectorsDb.putSync(r.label, Buffer.from(r.vec.buffer, r.vec.byteOffset, r.vec.byteLength));
        }
        this.docsDb.putSync(s.rec.id, s.rec);
      }
      this.metaDb.putSync('meta', this.meta);
    });
    this.docs.clear();
    this.labelDoc.clear();
    this.notProse = 0;
    let chunks = 0;
    const pause = yielder();
    for (const s of staged) {
      this.trackDoc(s.rec);
      await pause();
      for (const r of s.rows) {
        await pause();
        bm25.add(r.label, analyze(r.chunk.text));
        if (r.vec) vectors.add(r.label, r.vec);
        chunks++;
      }
    }
    this.bm25 = bm25;
    this.vectors = vectors;
    this.mismatch = null;
    this.dirtySince = Date.now();
    await this.snapshot();
    return { docs: staged.length, chunks, model: e.model };
  }

  /**
   * Check the store against itself and, with `repair`, fix what can be fixed without losing
   * anything: documents with missing or malformed chunk rows are re-chunked and re-embedded from
   * their stored text (or their text is recovered from their chunks), orphan rows are dropped, the
   * label counter is raised past the highest label, stale snapshots are rewritten.
   */
  async doctor(repair: boolean): Promise<DoctorReport> {
    await this.rebuilt;
    const problems: DoctorProblem[] = [];
    const note = (code: string, message: string, repaired = false) => problems.push({ code, message, repaired });
    const pause = yielder();
    const referenced = new Set<number>();
    const broken: DocRecord[] = [];
    let docs = 0;
    let maxLabel = 0;
    for (const { value: rec } of this.docsDb.getRange()) {
      docs++;
      await pause();
      let bad = 0;
      for (const l of rec.labels) {
        referenced.add(l);
        maxLabel = Math.max(maxLabel, l);
        const c = this.chunksDb.get(l);
        if (!c || typeof c.text !== 'string') bad++;
        else if (!rec.bm25_only?.includes(l)) {
          const v = this.vectorsDb.getBinary(l);
          if (!v || (this.meta.dim && v.byteLength !== this.meta.dim * 4)) bad++;
        }
      }
      const text = this.textsDb.get(rec.id);
      if (text === undefined) {
        const parts = rec.labels.map((l) => this.chunksDb.get(l)?.text).filter((t): t is string => typeof t === 'string');
        if (repair && parts.length) this.textsDb.putSync(rec.id, parts.join('\n'));
        note('missing_text', `document ${rec.id}: its full text is missing${parts.length ? ' (recoverable from its chunks)' : ''}`, repair && parts.length > 0);
      }
      if (bad) {
        broken.push(rec);
        note('missing_chunks', `document ${rec.id}${rec.path ? ` (${rec.path})` : ''}: ${bad} of ${rec.labels.length} chunk rows missing or malformed`);
      }
    }
    let orphans = 0;
    for (const db of [this.chunksDb, this.vectorsDb] as Database<unknown, number>[]) {
      for (const key of db.getKeys()) {
        await pause();
        maxLabel = Math.max(maxLabel, key);
        if (referenced.has(key)) continue;
        orphans++;
        if (repair) db.removeSync(key);
      }
    }
    if (orphans) note('orphan_rows', `${orphans} chunk or vector rows belong to no document`, repair);
    if (this.meta.next_label <= maxLabel) {
      note('label_counter', `next chunk id ${this.meta.next_label} is not above the highest stored id ${maxLabel}`, repair);
      if (repair) {
        this.meta.next_label = maxLabel + 1;
        this.metaDb.putSync('meta', this.meta);
      }
    }
    for (const rec of broken) {
      if (!repair) continue;
      const text = this.textsDb.get(rec.id);
      const p = problems.find((x) => x.code === 'missing_chunks' && x.message.startsWith(`document ${rec.id}`))!;
      if (text === undefined) continue;
      try {
        if (!this.docs.has(rec.id)) this.trackDoc(rec);
        await this.add({ text, source: rec.source, id: rec.id, time: rec.time, force: true, ...(rec.path ? { path: rec.path } : {}), ...(rec.agent ? { agent: rec.agent } : {}) });
        p.repaired = true;
      } catch (e) {
        p.message += `; not repaired: ${(e as Error).message}`;
      }
    }
    let snap: { generation?: number } | null;
    try {
      snap = JSON.parse(fs.readFileSync(this.snapshotFiles().json, 'utf8'));
    } catch {
      snap = null;
    }
    if (this.labelDoc.size && snap?.generation !== this.meta.generation) {
      note('stale_snapshot', `index snapshot is ${snap ? `of generation ${snap.generation}, lmdb is at ${this.meta.generation}` : 'missing or unreadable'} (the next start rebuilds in the background)`, repair);
      if (repair) {
        await this.rebuildFromStore();
        await this.snapshot();
      }
    }
    for (const q of this.ledger.list()) note('quarantined', `document ${q.doc_id}${q.path ? ` (${q.path})` : ''} is quarantined: ${q.reason}; remove it with \`rustyclaw memory delete --id ${q.doc_id}\``);
    return { ok: problems.every((x) => x.repaired), docs, chunks: referenced.size, problems };
  }

  // ---------------------------------------------------------------- reads

  hasDoc(id: string): DocMeta | undefined {
    return this.docs.get(id);
  }

  docIds(): IterableIterator<string> {
    return this.docs.keys();
  }

  async search(req: SearchRequest): Promise<{ hits: Hit[]; mode: SearchMode; warnings?: string[] }> {
    if (typeof req.query !== 'string' || req.query.trim() === '') throw new MemoryError('invalid_query', 'memory.search needs a non-empty query string');
    const mode: SearchMode = req.mode ?? 'hybrid';
    if (!['hybrid', 'bm25', 'vector'].includes(mode)) throw new MemoryError('invalid_query', `unknown search mode '${mode}' (use hybrid, bm25 or vector)`);
    const k = Math.max(1, Math.min(req.k ?? 10, 1000));
    const warnings: string[] = [];
    let query = req.query;
    const words = query.split(/\s+/).filter(Boolean);
    if (words.length > this.opts.maxQueryWords) {
      query = words.slice(0, this.opts.maxQueryWords).join(' ');
      warnings.push(`query has ${words.length} words; only the first ${this.opts.maxQueryWords} (memory.max_query_words) were used`);
    }
    const accept = this.filterFn(req.filters);
    const acceptCount = accept ? this.countAccepted(accept) : undefined;
    const depth = Math.max(k, this.opts.candidates);
    const useBm25 = mode !== 'vector';
    const useVec = mode !== 'bm25';
    if (useVec && this.mismatch) throw this.mismatchError();
    if (this.rebuilding) warnings.push(`the memory index is being rebuilt (${this.rebuilding.done} of ${this.rebuilding.total} chunks done): results may be incomplete until it finishes`);
    if (this.labelDoc.size === 0) return { hits: [], mode, ...(warnings.length ? { warnings } : {}) };

    if (req.vector && this.meta.dim && req.vector.length !== this.meta.dim) {
      throw new MemoryError('invalid_query', `query vector has ${req.vector.length} dimensions; the index holds ${this.meta.dim}-dim vectors of ${this.meta.model}`);
    }
    const bm = useBm25 ? this.bm25.search(analyze(query), mode === 'bm25' ? k : depth, accept) : [];
    let vec: { label: number; score: number }[] = [];
    if (useVec && this.vectors) {
      let qv = req.vector;
      if (!qv) {
        const e = this.opts.embedder;
        if (!e && mode === 'vector') throw new MemoryError('embedder_unavailable', 'vector search needs an embedding provider and none is available; use mode bm25');
        // Hybrid without an embedder still answers, by keywords, and says so.
        if (!e) {
          warnings.push('no embedding provider is available: hybrid search fell back to bm25 only');
        } else qv = (await e.embed([query]))[0];
      }
      if (qv) vec = this.vectors.search(qv, mode === 'vector' ? k : depth, accept, acceptCount);
    }
    const bmScore = new Map(bm.map((h) => [h.label, h.score]));
    const vecScore = new Map(vec.map((h) => [h.label, h.score]));
    const ranked = rankResults(mode, bm, vec, k, { rrfK: this.opts.rrfK, bm25Weight: this.opts.bm25Weight, vectorWeight: this.opts.vectorWeight });
    const hits: Hit[] = [];
    for (const r of ranked) {
      const c = this.chunksDb.get(r.label);
      const d = this.labelDoc.get(r.label);
      if (!c || !d) continue;
      const scores: Hit['scores'] = {};
      if (bmScore.has(r.label)) scores.bm25 = bmScore.get(r.label);
      if (vecScore.has(r.label)) scores.vector = vecScore.get(r.label);
      if (r.rrf !== undefined) scores.rrf = r.rrf;
      const hit: Hit = {
        id: String(r.label),
        doc_id: d.id,
        text: c.text,
        source: d.source,
        location: { path: d.path ?? null, start_line: c.start_line, end_line: c.end_line },
        score: r.score,
        ranks: r.ranks,
        scores,
      };
      if (d.agent) hit.agent = d.agent;
      hits.push(hit);
    }
    return { hits, mode, ...(warnings.length ? { warnings } : {}) };
  }

  private filterFn(f: SearchFilters | undefined): ((label: number) => boolean) | undefined {
    try {
      return buildFilter(f, (label) => this.labelDoc.get(label));
    } catch (e) {
      throw new MemoryError('invalid_query', (e as Error).message);
    }
  }

  private countAccepted(accept: (label: number) => boolean): number {
    let n = 0;
    for (const d of this.docs.values()) if (d.labels.length && accept(d.labels[0])) n += d.labels.length;
    return n;
  }

  stats() {
    let bytes = 0;
    try {
      bytes = fs.statSync(path.join(this.dbPath, 'data.mdb')).size;
    } catch {
      /* not yet written */
    }
    return {
      docs: this.docs.size,
      chunks: this.labelDoc.size,
      not_prose: this.notProse,
      model: this.meta.model,
      dim: this.meta.dim,
      format: INDEX_FORMAT,
      deleted_pending: Math.max(this.bm25.deletedCount, this.vectors?.deletedCount ?? 0),
      vocabulary: this.bm25.vocabularySize,
      store_bytes: bytes,
      path: this.opts.dir,
      loaded_from: this.loadedFrom,
      ...(this.rebuilding ? { degraded: { reason: 'rebuilding', done: this.rebuilding.done, total: this.rebuilding.total } } : {}),
      quarantined: this.ledger.list().map(publicEntry),
      /** V8 heap in use by this thread (the index's JS structures live here; HNSW is native memory). */
      heap_bytes: v8.getHeapStatistics().used_heap_size,
      ...(this.mismatch ? { model_mismatch: this.mismatch } : {}),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.rebuilt;
    await this.snapshot();
    await this.env.close();
  }
}

/**
 * lmdb maps the file and trusts it: a damaged file can crash the whole process (SIGSEGV), which a
 * worker thread cannot contain. So check both meta pages' magic number (0xBEEFC0DE) before opening.
 * This catches garbage and truncated files, not every corruption inside data pages.
 */
function checkLmdbHeader(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return; // no file yet: a new index
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return;
    const buf = Buffer.alloc(32);
    const bad = (why: string) =>
      new MemoryError('index_unreadable', `memory index file ${file} is damaged (${why}); nothing was changed. Move its folder aside to start a new index (and re-add your files)`);
    const pageSizes = [4096, 8192, 16384, 65536];
    if (fs.readSync(fd, buf, 0, 32, 0) < 32 || buf.readUInt32LE(24) !== 0xbeefc0de) throw bad('no lmdb meta page at the start');
    // The second meta page follows at one page size (which the first page does not state plainly).
    if (!pageSizes.some((ps) => size >= ps + 32 && fs.readSync(fd, buf, 0, 32, ps) === 32 && buf.readUInt32LE(24) === 0xbeefc0de)) {
      throw bad('second lmdb meta page missing or truncated');
    }
  } finally {
    fs.closeSync(fd);
  }
}

function publicEntry(e: QuarantineEntry) {
  return { doc_id: e.doc_id, ...(e.path ? { path: e.path } : {}), ...(e.source ? { source: e.source } : {}), reason: e.reason, strikes: e.strikes, at: e.at };
}

function toF32(b: Buffer | Uint8Array): Float32Array {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

function writeAtomic(file: string, data: Buffer): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}
