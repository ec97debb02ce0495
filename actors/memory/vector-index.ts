/**
 * Approximate nearest-neighbour index over L2-normalised vectors (inner product = cosine),
 * backed by hnswlib-node (decision and measurements: docs/decisions.md, "memory").
 * Labels are chunk ids. Deletes are `markDelete`d; `rebuild()` compacts them away.
 * Filtered searches use hnswlib's label filter, and an exact scan when few labels pass the filter
 * (an ANN graph walk degrades when most nodes are filtered out).
 */
import fs from 'node:fs';
import hnswlib from 'hnswlib-node';
import type { ScoredLabel } from './bm25-index.js';
import { yielder } from './yielder.js';

export interface VectorIndexOptions {
  m?: number;
  efConstruction?: number;
  efSearch?: number;
}

export class VectorIndex {
  private index: hnswlib.HierarchicalNSW;
  private labels = new Set<number>();
  private deleted = 0;
  readonly m: number;
  readonly efConstruction: number;
  efSearch: number;

  constructor(
    readonly dim: number,
    opts: VectorIndexOptions = {},
  ) {
    this.m = opts.m ?? 16;
    this.efConstruction = opts.efConstruction ?? 40;
    this.efSearch = opts.efSearch ?? 200;
    this.index = this.fresh(1024);
  }

  private fresh(capacity: number): hnswlib.HierarchicalNSW {
    const idx = new hnswlib.HierarchicalNSW('ip', this.dim);
    idx.initIndex(capacity, this.m, this.efConstruction, 100);
    idx.setEf(this.efSearch);
    return idx;
  }

  get size(): number {
    return this.labels.size;
  }
  get deletedCount(): number {
    return this.deleted;
  }
  has(label: number): boolean {
    return this.labels.has(label);
  }

  add(label: number, vec: Float32Array | number[]): void {
    if (vec.length !== this.dim) throw new Error(`vector for chunk ${label} has ${vec.length} dimensions, index has ${this.dim}`);
    if (this.labels.has(label)) throw new Error(`vector index: chunk ${label} is already indexed`);
    const cap = this.index.getMaxElements();
    if (this.index.getCurrentCount() >= cap) this.index.resizeIndex(cap * 2);
    this.index.addPoint(Array.from(vec), label);
    this.labels.add(label);
  }

  remove(label: number): boolean {
    if (!this.labels.delete(label)) return false;
    this.index.markDelete(label);
    this.deleted++;
    return true;
  }

  search(vec: Float32Array | number[], k: number, accept?: (label: number) => boolean, acceptCount?: number): ScoredLabel[] {
    if (vec.length !== this.dim) throw new Error(`query vector has ${vec.length} dimensions, index has ${this.dim}`);
    const live = this.labels.size;
    if (live === 0 || k <= 0) return [];
    const q = Array.from(vec);
    // Few candidates pass the filter: an exact scan over them is faster and exact.
    if (accept && (acceptCount ?? live) <= 2000) return this.exact(q, k, accept);
    const n = Math.min(k, live);
    this.index.setEf(Math.max(this.efSearch, n));
    const r = this.index.searchKnn(q, n, accept);
    return r.neighbors.map((label, i) => ({ label, score: 1 - r.distances[i] }));
  }

  private exact(q: number[], k: number, accept: (label: number) => boolean): ScoredLabel[] {
    const out: ScoredLabel[] = [];
    for (const label of this.labels) {
      if (!accept(label)) continue;
      const v = this.index.getPoint(label);
      let s = 0;
      for (let d = 0; d < v.length; d++) s += v[d] * q[d];
      out.push({ label, score: s });
    }
    out.sort((a, b) => b.score - a.score || a.label - b.label);
    return out.slice(0, k);
  }

  /** Rebuild the graph without deleted points (compaction). */
  async rebuild(): Promise<void> {
    const next = this.fresh(Math.max(1024, this.labels.size * 2));
    const pause = yielder();
    // Searches keep using the old graph until the swap; callers serialise writes around this.
    for (const label of this.labels) {
      await pause();
      next.addPoint(this.index.getPoint(label), label);
    }
    this.index = next;
    this.deleted = 0;
  }

  /**
   * Graph files run to ~1.7 KB per vector (170 MB at 100k): read and write them with hnswlib's async
   * calls (libuv pool), never the sync ones — a thread blocked past the kernel's liveness deadline
   * is terminated, and terminating a thread inside a native call can abort the whole process.
   */
  async save(file: string): Promise<void> {
    const tmp = `${file}.tmp`;
    await this.index.writeIndex(tmp);
    fs.renameSync(tmp, file);
  }

  /** Load a graph file written by `save`; `labels` are the live chunk ids (from lmdb) it must hold. */
  static async load(file: string, dim: number, labels: Iterable<number>, opts: VectorIndexOptions = {}): Promise<VectorIndex> {
    const vi = new VectorIndex(dim, opts);
    const idx = new hnswlib.HierarchicalNSW('ip', dim);
    await idx.readIndex(file, false);
    if (idx.getNumDimensions() !== dim) throw new Error(`vector index file ${file} has ${idx.getNumDimensions()} dimensions, expected ${dim}`);
    idx.setEf(vi.efSearch);
    vi.index = idx;
    const present = new Set(idx.getIdsList());
    for (const l of labels) {
      if (!present.has(l)) throw new Error(`vector index file ${file} lacks chunk ${l}`);
      vi.labels.add(l);
    }
    // Points in the file but not live (deleted before the snapshot) are marked deleted.
    for (const l of present) {
      if (!vi.labels.has(l)) {
        try {
          idx.markDelete(l);
        } catch {
          /* already marked in the file */
        }
        vi.deleted++;
      }
    }
    return vi;
  }
}
