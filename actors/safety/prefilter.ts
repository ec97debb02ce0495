/**
 * Prefilter: the one pass over a text that finds every literal anchor of every rule family at once —
 * the leak detector's anchors (token prefixes, key words, `://`, `-u`, …) and the injection
 * families' triggers — with one Aho–Corasick automaton. The expensive per-rule regexes, entropy and
 * shape checks then run only where an anchor occurs: each detector takes the hits of its window
 * (`view`) instead of scanning the text again.
 *
 * Long texts are scanned in windows with a yield between them (the caller's thread stays
 * responsive); the hits are the same as one pass.
 */
import { LiteralMatcher, type MatcherOptions } from './literal-matcher.js';

/** Hits in a detector's own literal numbering: starts ascending, longest literal first at one start. */
export interface AnchorHits { starts: Int32Array; lits: Int32Array; count: number }

/** One detector's literals: the prefilter maps its combined hits back to these indices. */
export interface LiteralSource { literals: readonly string[]; options?: MatcherOptions }

export class Prefilter {
  private readonly matcher: LiteralMatcher;
  /** Combined literal index → index in each source (−1: not one of its literals). */
  private readonly local: Int32Array[];
  private readonly lengths: Int32Array;

  constructor(sources: readonly LiteralSource[]) {
    const index = new Map<string, number>();
    for (const s of sources) for (const l of s.literals) if (!index.has(l.toLowerCase())) index.set(l.toLowerCase(), index.size);
    const all = [...index.keys()];
    this.matcher = new LiteralMatcher(all, {
      aliases: sources.flatMap((s) => s.options?.aliases ?? []),
      sparse: sources.flatMap((s) => s.options?.sparse ?? []),
    });
    this.lengths = Int32Array.from(all, (l) => l.length);
    this.local = sources.map((s) => {
      const m = new Int32Array(all.length).fill(-1);
      s.literals.forEach((l, i) => { m[index.get(l.toLowerCase())!] = i; });
      return m;
    });
  }

  /** Every hit in the text (combined numbering), scanned in windows of `window` with a yield between them. */
  *scanSteps(text: string, window = 1_000_000): Generator<void, AnchorHits> {
    if (text.length <= window) return this.matcher.findAll(text);
    const parts: AnchorHits[] = [];
    for (let off = 0; off < text.length; off += window) {
      // Hits starting in this window, wherever they end (up to the text's end).
      parts.push(this.matcher.findAll(text, off, Math.min(text.length, off + window), text.length));
      yield;
    }
    const count = parts.reduce((n, p) => n + p.count, 0);
    const starts = new Int32Array(count);
    const lits = new Int32Array(count);
    let k = 0;
    for (const p of parts) {
      starts.set(p.starts.subarray(0, p.count), k);
      lits.set(p.lits.subarray(0, p.count), k);
      k += p.count;
    }
    return { starts, lits, count };
  }

  /** Starts of the hits of `source`'s literal `lit` in text[from, to), ascending (whole-text offsets). */
  positions(all: AnchorHits, source: number, lit: number, from: number, to: number): number[] {
    const map = this.local[source];
    const out: number[] = [];
    for (let i = lowerBound(all, from); i < all.count && all.starts[i] < to; i++) if (map[all.lits[i]] === lit) out.push(all.starts[i]);
    return out;
  }

  /**
   * The hits of source `source` lying wholly inside text[from, to), with offsets relative to `from`:
   * exactly what that detector's own scan of `text.slice(from, to)` would find.
   */
  view(all: AnchorHits, source: number, from: number, to: number): AnchorHits {
    const map = this.local[source];
    const lo = lowerBound(all, from);
    let n = 0;
    for (let i = lo; i < all.count && all.starts[i] < to; i++) if (map[all.lits[i]] >= 0) n++;
    const starts = new Int32Array(n);
    const lits = new Int32Array(n);
    let k = 0;
    for (let i = lo; i < all.count && all.starts[i] < to; i++) {
      const li = map[all.lits[i]];
      if (li < 0 || all.starts[i] + this.lengths[all.lits[i]] > to) continue;
      starts[k] = all.starts[i] - from;
      lits[k++] = li;
    }
    return { starts, lits, count: k };
  }
}

/** First hit index whose start is at or after `from`. */
export function lowerBound(all: AnchorHits, from: number): number {
  let lo = 0;
  let hi = all.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (all.starts[mid] < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
