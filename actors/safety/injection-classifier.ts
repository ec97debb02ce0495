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

/** Lower case, accents folded (ignorá → ignora), runs of non-letters reduced to one space. */
export function normalise(text: string): string {
  const lower = text.toLowerCase();
  // ASCII text (most tool output) skips Unicode normalisation and the slower Unicode-class regex.
  if (!NON_ASCII.test(lower)) return lower.replace(SEPARATORS_ASCII, ' ').trim();
  return lower.normalize('NFKD').replace(MARKS, '').replace(SEPARATORS, ' ').trim();
}

/** Padded word (" word ") as char codes, reused between calls. */
let codes = new Int32Array(256);

/**
 * Feature buckets of a text, with repeats: each word, each pair of neighbouring words, and the
 * character 3- and 4-grams of each space-padded word. Hashes are computed over char codes in
 * place (no substrings): this runs for every inbound message.
 */
export function featureIds(text: string, out: number[] = []): number[] {
  const words = normalise(text).split(' ');
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.length === 0) continue;
    out.push(fnv1a(w, 1) & MASK);
    if (i + 1 < words.length) {
      let h = fnv1a(w, 2);
      h ^= 32;
      h = Math.imul(h, 0x01000193);
      const n2 = words[i + 1];
      for (let k = 0; k < n2.length; k++) {
        h ^= n2.charCodeAt(k);
        h = Math.imul(h, 0x01000193);
      }
      out.push((h >>> 0) & MASK);
    }
    const len = w.length + 2;
    if (codes.length < len) codes = new Int32Array(len * 2);
    codes[0] = 32;
    for (let k = 0; k < w.length; k++) codes[k + 1] = w.charCodeAt(k);
    codes[len - 1] = 32;
    for (let n = 3; n <= 4; n++) {
      for (let j = 0; j + n <= len; j++) {
        let h = (0x811c9dc5 ^ 3) >>> 0;
        for (let k = j; k < j + n; k++) {
          h ^= codes[k];
          h = Math.imul(h, 0x01000193);
        }
        out.push((h >>> 0) & MASK);
      }
    }
  }
  return out;
}

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
