/**
 * Incremental Okapi BM25 inverted index over analyzed tokens.
 *
 * Why not wink-bm25-text-search directly: it must be `consolidate()`d before searching and
 * cannot learn new documents afterwards, so every add would re-index everything; it also keeps
 * no way to delete. This index keeps the same scoring (k1 = 1.2, b = 0.75, Lucene's idf
 * `ln(1 + (N - df + 0.5)/(df + 0.5))`) and supports add/delete at any time. Deleted documents
 * still count in df/N until `compact()` (as in Lucene until a merge) — a small, bounded skew.
 * Documents are identified by a numeric label (the chunk id).
 */

export interface Bm25Options {
  k1?: number;
  b?: number;
}

export interface ScoredLabel {
  label: number;
  score: number;
}

/** Loaded postings stay typed-array views of the snapshot until the first change (fast reload). */
interface Posting {
  labels: number[] | Uint32Array;
  tfs: number[] | Uint32Array;
}

function mutable(p: Posting): { labels: number[]; tfs: number[] } {
  if (!Array.isArray(p.labels)) p.labels = Array.from(p.labels);
  if (!Array.isArray(p.tfs)) p.tfs = Array.from(p.tfs);
  return p as { labels: number[]; tfs: number[] };
}

export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  private termIds = new Map<string, number>();
  private postings: Posting[] = [];
  /** Token count per label; -1 for deleted or absent. */
  private lengths: number[] = [];
  private indexed = 0; // documents counted in N (includes deleted until compaction)
  private totalLen = 0; // sum of lengths counted in avgdl (includes deleted until compaction)
  private live = 0;
  private deletedSinceCompact = 0;

  constructor(opts: Bm25Options = {}) {
    this.k1 = opts.k1 ?? 1.2;
    this.b = opts.b ?? 0.75;
  }

  get size(): number {
    return this.live;
  }
  get deletedCount(): number {
    return this.deletedSinceCompact;
  }
  get vocabularySize(): number {
    return this.termIds.size;
  }

  has(label: number): boolean {
    return (this.lengths[label] ?? -1) >= 0;
  }

  add(label: number, tokens: string[]): void {
    if (this.has(label)) throw new Error(`BM25: label ${label} is already indexed`);
    const tf = new Map<number, number>();
    for (const t of tokens) {
      let id = this.termIds.get(t);
      if (id === undefined) {
        id = this.postings.length;
        this.termIds.set(t, id);
        this.postings.push({ labels: [], tfs: [] });
      }
      tf.set(id, (tf.get(id) ?? 0) + 1);
    }
    for (const [id, n] of tf) {
      const p = mutable(this.postings[id]);
      p.labels.push(label);
      p.tfs.push(n);
    }
    while (this.lengths.length <= label) this.lengths.push(-1);
    this.lengths[label] = tokens.length;
    this.indexed++;
    this.totalLen += tokens.length;
    this.live++;
  }

  /** Mark deleted; postings are dropped by the next `compact()`. */
  remove(label: number): boolean {
    if (!this.has(label)) return false;
    this.lengths[label] = -1;
    this.live--;
    this.deletedSinceCompact++;
    return true;
  }

  /** Rewrite postings without deleted labels and recount N/avgdl exactly. */
  compact(): void {
    for (const posting of this.postings) {
      let dead = false;
      for (let i = 0; i < posting.labels.length && !dead; i++) dead = this.lengths[posting.labels[i]] < 0;
      if (!dead) continue;
      const p = mutable(posting);
      let w = 0;
      for (let i = 0; i < p.labels.length; i++) {
        if (this.lengths[p.labels[i]] >= 0) {
          p.labels[w] = p.labels[i];
          p.tfs[w] = p.tfs[i];
          w++;
        }
      }
      p.labels.length = w;
      p.tfs.length = w;
    }
    this.indexed = this.live;
    this.totalLen = 0;
    for (const l of this.lengths) if (l > 0) this.totalLen += l;
    this.deletedSinceCompact = 0;
  }

  /**
   * Top-k labels for analyzed query tokens. `accept` filters labels (metadata filters).
   * Repeated query terms count once, like a bag-of-words `should` query.
   */
  search(queryTokens: string[], k: number, accept?: (label: number) => boolean): ScoredLabel[] {
    if (this.live === 0 || k <= 0) return [];
    const N = this.indexed;
    const avgdl = this.totalLen / Math.max(1, N) || 1;
    const scores = new Map<number, number>();
    for (const t of new Set(queryTokens)) {
      const id = this.termIds.get(t);
      if (id === undefined) continue;
      const p = this.postings[id];
      const df = p.labels.length;
      const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
      for (let i = 0; i < df; i++) {
        const label = p.labels[i];
        const len = this.lengths[label];
        if (len < 0) continue;
        const f = p.tfs[i];
        const s = (idf * f * (this.k1 + 1)) / (f + this.k1 * (1 - this.b + (this.b * len) / avgdl));
        scores.set(label, (scores.get(label) ?? 0) + s);
      }
    }
    const out: ScoredLabel[] = [];
    for (const [label, score] of scores) if (!accept || accept(label)) out.push({ label, score });
    return topK(out, k);
  }

  /** Compact binary snapshot (terms as JSON, numbers as typed arrays) for a fast reload. */
  serialize(): Buffer {
    if (this.deletedSinceCompact) this.compact();
    const terms = [...this.termIds.keys()];
    let nPost = 0;
    for (const p of this.postings) nPost += p.labels.length;
    const counts = new Uint32Array(this.postings.length);
    const labels = new Uint32Array(nPost);
    const tfs = new Uint32Array(nPost);
    let o = 0;
    this.postings.forEach((p, i) => {
      counts[i] = p.labels.length;
      labels.set(p.labels, o);
      tfs.set(p.tfs, o);
      o += p.labels.length;
    });
    const lengths = Int32Array.from(this.lengths);
    const head = Buffer.from(JSON.stringify({ v: 1, k1: this.k1, b: this.b, terms, nPost, nLen: lengths.length }));
    const hl = Buffer.alloc(4);
    hl.writeUInt32LE(head.length);
    const pad = Buffer.alloc((4 - ((4 + head.length) % 4)) % 4);
    return Buffer.concat([hl, head, pad, u8(counts), u8(labels), u8(tfs), u8(lengths)]);
  }

  static deserialize(buf: Buffer): Bm25Index {
    const hl = buf.readUInt32LE(0);
    const head = JSON.parse(buf.subarray(4, 4 + hl).toString('utf8'));
    if (head.v !== 1) throw new Error(`BM25 snapshot version ${head.v} is not supported`);
    let o = 4 + hl;
    o += (4 - (o % 4)) % 4;
    const copy = new Uint8Array(buf.subarray(o)); // aligned copy
    const u32 = new Uint32Array(copy.buffer, 0, (copy.byteLength / 4) | 0);
    const nTerms = head.terms.length as number;
    const counts = u32.subarray(0, nTerms);
    const labels = u32.subarray(nTerms, nTerms + head.nPost);
    const tfs = u32.subarray(nTerms + head.nPost, nTerms + 2 * head.nPost);
    const lengths = new Int32Array(copy.buffer, (nTerms + 2 * head.nPost) * 4, head.nLen);
    const idx = new Bm25Index({ k1: head.k1, b: head.b });
    let p = 0;
    for (let i = 0; i < nTerms; i++) {
      idx.termIds.set(head.terms[i], i);
      const n = counts[i];
      idx.postings.push({ labels: labels.subarray(p, p + n), tfs: tfs.subarray(p, p + n) });
      p += n;
    }
    idx.lengths = Array.from(lengths);
    for (const l of idx.lengths) {
      if (l >= 0) {
        idx.live++;
        idx.totalLen += l;
      }
    }
    idx.indexed = idx.live;
    return idx;
  }
}

function u8(a: Uint32Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Highest scores first; ties broken by label for deterministic output. */
export function topK(items: ScoredLabel[], k: number): ScoredLabel[] {
  items.sort((a, b) => b.score - a.score || a.label - b.label);
  return items.length > k ? items.slice(0, k) : items;
}
