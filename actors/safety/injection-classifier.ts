/**
 * Learned second opinion for the injection detector: a logistic-regression model over hashed
 * character n-grams (3–4, inside word boundaries, accents folded) and word uni/bigrams. Character
 * n-grams carry over to typos ("igmre what I said before") and related languages where a keyword
 * list does not. Trained by `bench/train/injection-classifier.ts` (seeded, training split of the
 * development set plus generated multilingual examples); the weights ship as `injection-model.json`.
 */
import { readFileSync } from 'node:fs';

/** Hash space of the features (a power of two). */
export const FEATURE_BITS = 18;
const MASK = (1 << FEATURE_BITS) - 1;

/** Longest text classified as a whole; longer texts are classified in overlapping chunks. */
export const CHUNK_CHARS = 2048;
const CHUNK_STEP = 1536;

function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Anything but printable ASCII, tab and newlines takes the Unicode path (same result, slower). */
const NON_ASCII = /[^\t\n\r -~]/;
const MARKS = /[\u0300-\u036f]/g;
const SEPARATORS_ASCII = /[^a-z0-9?!]+/g;
const SEPARATORS = /[^\p{L}\p{N}?!]+/gu;

/**
 * Lower case, accents folded (ignorá → ignora), runs of non-letters reduced to one space: the
 * definition of the classifier's words, which featureIds finds without building this string.
 */
export function normalise(text: string): string {
  const lower = text.toLowerCase();
  // ASCII text (most tool output) skips Unicode normalisation and the slower Unicode-class regex.
  if (!NON_ASCII.test(lower)) return lower.replace(SEPARATORS_ASCII, ' ').trim();
  return lower.normalize('NFKD').replace(MARKS, '').replace(SEPARATORS, ' ').trim();
}

/** The words of the text being featurised: their char codes back to back, and each word's [start, end). Reused between calls. */
let wordCodes = new Int32Array(4096);
let wordStart = new Int32Array(1024);
let wordEnd = new Int32Array(1024);
let wordCount = 0;

function addWord(start: number, end: number): void {
  if (wordCount === wordStart.length) {
    const s2 = new Int32Array(wordCount * 2);
    s2.set(wordStart);
    wordStart = s2;
    const e2 = new Int32Array(wordCount * 2);
    e2.set(wordEnd);
    wordEnd = e2;
  }
  wordStart[wordCount] = start;
  wordEnd[wordCount++] = end;
}

/**
 * The words of normalise(text) without building it, for printable-ASCII text (the common case):
 * lower-cased runs of [a-z0-9?!]. False (and no words) when the text holds anything else; the
 * Unicode path then decides, as normalise does on its lower-cased text.
 */
function asciiWords(text: string): boolean {
  if (wordCodes.length < text.length) wordCodes = new Int32Array(text.length * 2);
  wordCount = 0;
  let n = 0;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c > 126 || (c < 32 && c !== 9 && c !== 10 && c !== 13)) {
      wordCount = 0;
      return false;
    }
    if (c >= 65 && c <= 90) c += 32;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 63 || c === 33) {
      if (start < 0) start = n;
      wordCodes[n++] = c;
    } else if (start >= 0) {
      addWord(start, n);
      start = -1;
    }
  }
  if (start >= 0) addWord(start, n);
  return true;
}

const WORD_CP = /^[\p{L}\p{N}]$/u;

/**
 * The words of normalise(text) for text that is not printable ASCII: its lower-cased, NFKD-folded,
 * mark-stripped form split into maximal runs of letters, numbers, `?` and `!` (by code point, as the
 * `u`-flag separator pattern splits it) — without that pattern's replace, which cost ~45 ms per MB of
 * such text against ~5 for the rest of normalise.
 */
function unicodeWords(text: string): void {
  const lower = text.toLowerCase();
  if (!NON_ASCII.test(lower)) {
    asciiWords(lower);
    return;
  }
  const norm = lower.normalize('NFKD').replace(MARKS, '');
  if (wordCodes.length < norm.length) wordCodes = new Int32Array(norm.length * 2);
  wordCount = 0;
  let n = 0;
  let start = -1;
  for (let i = 0; i < norm.length; i++) {
    const c = norm.charCodeAt(i);
    let units = 1;
    let word: boolean;
    if (c < 128) word = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 63 || c === 33;
    else {
      const d = i + 1 < norm.length ? norm.charCodeAt(i + 1) : 0;
      if (c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) units = 2;
      word = WORD_CP.test(norm.slice(i, i + units));
    }
    if (word) {
      if (start < 0) start = n;
      wordCodes[n++] = c;
      if (units === 2) wordCodes[n++] = norm.charCodeAt(i + 1);
    } else if (start >= 0) {
      addWord(start, n);
      start = -1;
    }
    i += units - 1;
  }
  if (start >= 0) addWord(start, n);
}

/** Padded word's code at q (0 and len + 1 are the padding spaces). */
function padded(start: number, len: number, q: number): number {
  return q === 0 || q === len + 1 ? 32 : wordCodes[start + q - 1];
}

/**
 * Feature buckets of a text, with repeats: each word, each pair of neighbouring words, and the
 * character 3- and 4-grams of each space-padded word (in that order, word by word). Hashes are
 * computed over char codes in place (no substrings), and printable-ASCII text is split into words
 * without building its normalised copy: this runs for every inbound message.
 */
export function featureIds(text: string, out: number[] = []): number[] {
  if (!asciiWords(text)) unicodeWords(text);
  const P = 0x01000193;
  for (let wi = 0; wi < wordCount; wi++) {
    const a = wordStart[wi];
    const b = wordEnd[wi];
    let h = 0x811c9dc5 ^ 1;
    for (let k = a; k < b; k++) h = Math.imul(h ^ wordCodes[k], P);
    out.push(h & MASK);
    if (wi + 1 < wordCount) {
      let g = 0x811c9dc5 ^ 2;
      for (let k = a; k < b; k++) g = Math.imul(g ^ wordCodes[k], P);
      g = Math.imul(g ^ 32, P);
      for (let k = wordStart[wi + 1]; k < wordEnd[wi + 1]; k++) g = Math.imul(g ^ wordCodes[k], P);
      out.push(g & MASK);
    }
    // The padded word's 3-grams, then its 4-grams: a 4-gram's hash is its 3-gram's taken one code further.
    const len = b - a;
    if (tri.length < len) tri = new Int32Array(len * 2);
    for (let j = 0; j < len; j++) {
      let g = 0x811c9dc5 ^ 3;
      for (let q = j; q < j + 3; q++) g = Math.imul(g ^ padded(a, len, q), P);
      tri[j] = g;
      out.push(g & MASK);
    }
    for (let j = 0; j + 1 < len; j++) out.push(Math.imul(tri[j] ^ padded(a, len, j + 3), P) & MASK);
  }
  return out;
}
/** 3-gram hashes of the current word (reused). */
let tri = new Int32Array(256);

/** Sparse feature vector: bucket → sqrt(count), scaled to unit length (for training). */
export function features(text: string): Map<number, number> {
  const f = new Map<number, number>();
  for (const k of featureIds(text)) f.set(k, (f.get(k) ?? 0) + 1);
  let norm = 0;
  for (const [k, v] of f) {
    f.set(k, Math.sqrt(v));
    norm += v;
  }
  norm = Math.sqrt(norm) || 1;
  for (const [k, v] of f) f.set(k, v / norm);
  return f;
}

/** Reused count table for the fast path (one thread, one call at a time). */
const counts = new Uint16Array(1 << FEATURE_BITS);
const ids: number[] = [];

/** probability(m, features(text)) without building a Map. */
export function probabilityOf(m: ClassifierModel, text: string): number {
  ids.length = 0;
  featureIds(text, ids);
  let norm = 0;
  let dot = 0;
  // First pass: counts; second: Σ w·sqrt(count) over distinct buckets, and Σ count for the norm.
  for (const k of ids) counts[k] = Math.min(65535, counts[k] + 1);
  for (const k of ids) {
    const c = counts[k];
    if (c === 0) continue;
    dot += m.weights[k] * Math.sqrt(c);
    norm += c;
    counts[k] = 0;
  }
  const z = m.bias + (dot * (m.scale ?? 1)) / (Math.sqrt(norm) || 1);
  return 1 / (1 + Math.exp(-z));
}

export interface ClassifierModel { bits: number; bias: number; /** weight = weights[k] × scale */ weights: Float32Array | Int8Array; scale?: number; /** probability from which the model says "injection" */ threshold?: number }

/**
 * The development-set split shared by training and evaluation: one row in five is held back, by a
 * hash of the row's group — a document and its injected twin share their closing question (BIPIA,
 * garak contexts), so they fall on the same side.
 */
export function heldBack(row: { text: string; type?: string; source?: string }): boolean {
  const doc = row.type === 'indirect' || row.type === 'document';
  const key = `${row.source ?? ''}\u0000${doc ? row.text.slice(-60) : row.text}`;
  return fnv1a(key, 16) % 5 === 0;
}

/** Shipped form: int8 weights × scale, base64. */
export interface ModelFile { format: 'rustyclaw-injection-lr/1'; bits: number; bias: number; scale: number; weights_int8_base64: string; trained: Record<string, unknown> }

export function encodeModel(m: ClassifierModel, trained: Record<string, unknown>): ModelFile {
  let max = 0;
  for (const w of m.weights) max = Math.max(max, Math.abs(w * (m.scale ?? 1)));
  const scale = max / 127 || 1;
  const q = new Int8Array(m.weights.length);
  for (let i = 0; i < q.length; i++) q[i] = Math.round((m.weights[i] * (m.scale ?? 1)) / scale);
  return { format: 'rustyclaw-injection-lr/1', bits: m.bits, bias: m.bias, scale, weights_int8_base64: Buffer.from(q.buffer).toString('base64'), trained };
}

export function decodeModel(f: ModelFile): ClassifierModel {
  if (f.format !== 'rustyclaw-injection-lr/1' || f.bits !== FEATURE_BITS) throw new Error(`injection model: unsupported format ${f.format}/${f.bits} bits`);
  // Kept as int8 with a scale: no conversion loop at actor start (setup time counts against the
  // liveness deadline on a restart).
  const buf = Buffer.from(f.weights_int8_base64, 'base64');
  const q = new Int8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (q.length !== 1 << f.bits) throw new Error(`injection model: ${q.length} weights, expected ${1 << f.bits}`);
  const threshold = typeof f.trained.threshold === 'number' ? f.trained.threshold : 0.5;
  return { bits: f.bits, bias: f.bias, weights: q, scale: f.scale, threshold };
}

export function probability(m: ClassifierModel, f: Map<number, number>): number {
  let z = 0;
  for (const [k, v] of f) z += m.weights[k] * v;
  z = m.bias + z * (m.scale ?? 1);
  return 1 / (1 + Math.exp(-z));
}

let shipped: ClassifierModel | null | undefined;
/** The model shipped next to this module (dist/ or the source tree); null when it is missing. */
export function shippedModel(): ClassifierModel | null {
  if (shipped !== undefined) return shipped;
  for (const rel of ['./injection-model.json', '../../../actors/safety/injection-model.json']) {
    try {
      shipped = decodeModel(JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as ModelFile);
      return shipped;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  shipped = null;
  return shipped;
}

/**
 * Probability that `text` is an injection: the whole text when short, else the highest of its
 * overlapping chunks (an instruction buried in a long document is not averaged away).
 */
export function classify(m: ClassifierModel, text: string): { p: number; start: number; end: number } {
  if (text.length <= CHUNK_CHARS) return { p: probabilityOf(m, text), start: 0, end: text.length };
  let best = { p: 0, start: 0, end: 0 };
  for (let at = 0; at < text.length; at += CHUNK_STEP) {
    const end = Math.min(text.length, at + CHUNK_CHARS);
    const p = probabilityOf(m, text.slice(at, end));
    if (p > best.p) best = { p, start: at, end };
    if (end === text.length) break;
  }
  return best;
}
