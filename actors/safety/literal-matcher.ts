/**
 * LiteralMatcher: every occurrence of a set of literals in one pass (Aho–Corasick, compiled to a
 * dense DFA over UTF-16 code units), case-insensitive exactly like a non-Unicode `/i` RegExp, so it
 * can replace a combined `new RegExp(literals.join('|'), 'gi')` anchor pass without changing a hit.
 *
 * Why hand-written: the npm implementations measured here (docs/decisions.md, "issue 16: anchor
 * prefilter") match grapheme clusters or code points and are case-sensitive, so they need a lowered
 * copy of the text (whose offsets differ from the original's for some characters) and run at a
 * fraction of this loop's speed; this one is one table load per code unit.
 *
 * The scan is resumable (it takes and returns the automaton state), so a long text can be scanned in
 * windows with a yield between them and give the same hits as one pass.
 */

/**
 * A non-Unicode `/i` RegExp's Canonicalize (ECMA-262 22.2.2.7.3) for every code unit: its simple upper
 * case, except where that is longer than one unit or leads into ASCII from outside it. Computed once,
 * blocks of code units at a time (one native toUpperCase per block; a block whose upper case changes
 * length — ß → SS — is split until the expanding unit stands alone).
 */
let CANON: Uint16Array | undefined;
function canonTable(): Uint16Array {
  if (CANON) return CANON;
  const t = new Uint16Array(65536);
  const fill = (lo: number, hi: number) => {
    const units: number[] = [];
    for (let c = lo; c < hi; c++) units.push(c >= 0xd800 && c <= 0xdfff ? 0x20 : c); // lone surrogates: their own class below
    const up = String.fromCharCode(...units).toUpperCase();
    if (up.length !== hi - lo) {
      if (hi - lo === 1) { t[lo] = lo; return; }
      const mid = (lo + hi) >> 1;
      fill(lo, mid);
      fill(mid, hi);
      return;
    }
    for (let c = lo; c < hi; c++) {
      const u = up.charCodeAt(c - lo);
      t[c] = c >= 0xd800 && c <= 0xdfff ? c : c >= 128 && u < 128 ? c : u;
    }
  };
  for (let lo = 0; lo < 65536; lo += 4096) fill(lo, lo + 4096);
  CANON = t;
  return t;
}

/** Thinning distance of sparse literals: every occurrence lies at most this far after a reported one. */
export const SPARSE_GAP = 1024;

export interface MatcherOptions {
  /**
   * [member, representative] code-unit pairs: the member matches wherever the representative does, so
   * a one-character literal of the representative finds a whole character set in the same pass.
   */
  aliases?: ReadonlyArray<readonly [number, number]>;
  /**
   * Literals whose hits `findAll` thins to one per SPARSE_GAP code units (a presence test: a run of
   * them in hostile input cannot fill memory with hits).
   */
  sparse?: readonly string[];
}

/** The state `advance` stopped in (premultiplied by the width): its second result. */
let advancedState = 0;

/**
 * The DFA's inner loop, from position i in state s (premultiplied) up to `end`: returns the position
 * of the first code unit whose transition ends a literal (advancedState: the state it enters), or
 * `end` (advancedState: the state there). A separate small function so the hot loop holds nothing but
 * the two table loads: with the hit handling in the same loop body it ran ~40 % slower
 * (docs/decisions.md, issue 16: "prefilter inner loop").
 */
function advance(cls: Uint16Array, delta: Int32Array, text: string, i: number, end: number, s: number): number {
  for (; i < end; i++) {
    const v = delta[s + cls[text.charCodeAt(i)]];
    if (v < 0) {
      advancedState = -v - 1;
      return i;
    }
    s = v;
  }
  advancedState = s;
  return end;
}

export class LiteralMatcher {
  /** The literals as given (lower-cased), by index. */
  readonly literals: readonly string[];
  /** Length of the longest literal (a window must look this far past its end for hits that start inside it). */
  readonly maxLength: number;
  /** Code unit → character class (0: in no literal). */
  private readonly cls: Uint16Array;
  /** Classes per state; transitions are premultiplied by it. */
  private readonly width: number;
  /** Transition table: next state × width, or −(that + 1) when the next state ends a literal. */
  private readonly delta: Int32Array;
  /** Per state: its literals (its own and those of its suffix states) as ranges into outLits. */
  private readonly outStart: Int32Array;
  private readonly outEnd: Int32Array;
  private readonly outLits: Int32Array;

  /** Literal indices whose hits are thinned to one per SPARSE_GAP code units (see `MatcherOptions.sparse`). */
  private readonly sparse: Uint8Array;

  constructor(literals: readonly string[], opts: MatcherOptions = {}) {
    if (literals.some((l) => l.length === 0 || l.length > 255)) throw new RangeError('LiteralMatcher: literals must be 1–255 code units long');
    if (literals.length > 4096) throw new RangeError('LiteralMatcher: at most 4096 literals');
    this.literals = literals.map((l) => l.toLowerCase());
    this.maxLength = Math.max(0, ...literals.map((l) => l.length));
    // Classes: one per canonical code unit used by some literal; every code unit with the same
    // canonical form (A/a, Ü/ü, µ/μ) gets that class.
    const canon = canonTable();
    const classOf = new Uint16Array(65536);
    let K = 1;
    for (const l of literals) for (let i = 0; i < l.length; i++) {
      const k = canon[l.charCodeAt(i)];
      if (classOf[k] === 0) classOf[k] = K++;
    }
    const cls = new Uint16Array(65536);
    for (let c = 0; c < 65536; c++) cls[c] = classOf[canon[c]];
    // Aliases: code units that match wherever their representative does (a character set as one literal).
    for (const [member, rep] of opts.aliases ?? []) {
      if (classOf[canon[rep]] === 0) throw new RangeError('LiteralMatcher: an alias representative must occur in a literal');
      if (classOf[canon[member]] !== 0) throw new RangeError('LiteralMatcher: an alias member may not occur in a literal');
      cls[member] = classOf[canon[rep]];
    }
    this.cls = cls;
    this.sparse = new Uint8Array(literals.length);
    for (const l of opts.sparse ?? []) {
      const i = this.literals.indexOf(l.toLowerCase());
      if (i >= 0) this.sparse[i] = 1;
    }
    this.width = K;
    // Trie, directly in the transition table (-1: no edge yet).
    const maxStates = 1 + literals.reduce((n, l) => n + l.length, 0);
    const go = new Int32Array(maxStates * K).fill(-1);
    const outs: number[][] = [[]];
    let S = 1;
    this.literals.forEach((lit, li) => {
      let s = 0;
      for (let i = 0; i < lit.length; i++) {
        const c = cls[lit.charCodeAt(i)];
        let t = go[s * K + c];
        if (t < 0) {
          t = S++;
          outs.push([]);
          go[s * K + c] = t;
        }
        s = t;
      }
      outs[s].push(li);
    });
    // Breadth-first: failure links, the full transition table, outputs along the failure chain (a
    // failure state is shallower, so its outputs are complete when a state takes them over).
    const fail = new Int32Array(S);
    const queue = new Int32Array(S);
    let qn = 0;
    for (let c = 0; c < K; c++) {
      const t = go[c];
      if (t > 0) queue[qn++] = t;
      else go[c] = 0;
    }
    for (let qi = 0; qi < qn; qi++) {
      const s = queue[qi];
      if (outs[fail[s]].length > 0) outs[s] = outs[s].concat(outs[fail[s]]);
      const row = s * K;
      const frow = fail[s] * K;
      for (let c = 0; c < K; c++) {
        const t = go[row + c];
        if (t > 0) {
          fail[t] = go[frow + c];
          queue[qn++] = t;
        } else {
          go[row + c] = go[frow + c];
        }
      }
    }
    const delta = new Int32Array(S * K);
    const hasOut = new Uint8Array(S);
    for (let i = 0; i < S; i++) hasOut[i] = outs[i].length > 0 ? 1 : 0;
    for (let i = 0; i < S * K; i++) {
      const t = go[i];
      delta[i] = hasOut[t] ? -(t * K) - 1 : t * K;
    }
    this.delta = delta;
    this.outStart = new Int32Array(S);
    this.outEnd = new Int32Array(S);
    const flat: number[] = [];
    for (let s = 0; s < S; s++) {
      this.outStart[s] = flat.length;
      flat.push(...outs[s]);
      this.outEnd[s] = flat.length;
    }
    this.outLits = Int32Array.from(flat);
  }

  /**
   * Scans text[from, to) from automaton `state` (0 = fresh); calls hit(start, literalIndex) for every
   * occurrence ending inside the range, in order of its end. Returns the state to resume from at `to`.
   */
  scan(text: string, from: number, to: number, hit: (start: number, literal: number) => void, state = 0): number {
    const { cls, delta, width, outStart, outEnd, outLits, literals } = this;
    let s = state * width;
    for (let i = from; i < to; i++) {
      i = advance(cls, delta, text, i, to, s);
      s = advancedState;
      if (i >= to) break;
      const st = s / width;
      for (let k = outStart[st]; k < outEnd[st]; k++) {
        const li = outLits[k];
        hit(i + 1 - literals[li].length, li);
      }
    }
    return s / width;
  }

  /**
   * All occurrences starting in [from, to) and lying wholly inside [from, limit), sorted by start and,
   * at one start, longest first — the order a combined longest-first alternation visits them.
   * Returned as parallel arrays of starts and literal indices.
   */
  findAll(text: string, from = 0, to = text.length, limit = to): { starts: Int32Array; lits: Int32Array; count: number } {
    const end = Math.min(text.length, limit, to + this.maxLength);
    let keys = new Float64Array(1024);
    let n = 0;
    const lits = this.literals;
    const sparse = this.sparse;
    let lastSparse = -SPARSE_GAP;
    const { cls, delta, width, outStart, outEnd, outLits } = this;
    let s = 0;
    for (let i = from; i < end; i++) {
      i = advance(cls, delta, text, i, end, s);
      s = advancedState;
      if (i >= end) break;
      const st = s / width;
      for (let k = outStart[st]; k < outEnd[st]; k++) {
        const li = outLits[k];
        const start = i + 1 - lits[li].length;
        if (start >= to) continue;
        if (sparse[li] === 1) {
          if (start - lastSparse < SPARSE_GAP) continue;
          lastSparse = start;
        }
        if (n === keys.length) {
          const k2 = new Float64Array(n * 2);
          k2.set(keys);
          keys = k2;
        }
        // start, then longer first, then literal index: one sortable number (exact below 2^53: start < 2^33).
        keys[n++] = (start * 256 + (255 - lits[li].length)) * 4096 + li;
      }
    }
    const sorted = keys.subarray(0, n).sort();
    const starts = new Int32Array(n);
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const k = sorted[i];
      const li = k % 4096;
      ids[i] = li;
      starts[i] = Math.floor(k / (4096 * 256));
    }
    return { starts, lits: ids, count: n };
  }
}
