/**
 * Learned second opinion for the injection detector: a logistic-regression model over hashed
 * character n-grams (2–4, inside word boundaries, accents folded) and word uni/bigrams. Character
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

/** Lower case, accents folded (ignorá → ignora), runs of non-letters reduced to one space. */
export function normalise(text: string): string {
  return text.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^\p{L}\p{N}?!]+/gu, ' ').trim();
}

/** Sparse feature vector: bucket → value (counts, then scaled to unit length). */
export function features(text: string): Map<number, number> {
  const f = new Map<number, number>();
  const add = (key: string, seed: number) => {
    const k = fnv1a(key, seed) & MASK;
    f.set(k, (f.get(k) ?? 0) + 1);
  };
  const words = normalise(text).split(' ').filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    add(w, 1);
    if (i + 1 < words.length) add(w + ' ' + words[i + 1], 2);
    const p = ` ${w} `;
    for (let n = 2; n <= 4; n++) for (let j = 0; j + n <= p.length; j++) add(p.slice(j, j + n), 3);
  }
  let norm = 0;
  for (const [k, v] of f) {
    const x = Math.sqrt(v);
    f.set(k, x);
    norm += x * x;
  }
  norm = Math.sqrt(norm) || 1;
  for (const [k, v] of f) f.set(k, v / norm);
  return f;
}

export interface ClassifierModel { bits: number; bias: number; weights: Float32Array; /** probability from which the model says "injection" */ threshold?: number }

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
  for (const w of m.weights) max = Math.max(max, Math.abs(w));
  const scale = max / 127 || 1;
  const q = new Int8Array(m.weights.length);
  for (let i = 0; i < q.length; i++) q[i] = Math.round(m.weights[i] / scale);
  return { format: 'rustyclaw-injection-lr/1', bits: m.bits, bias: m.bias, scale, weights_int8_base64: Buffer.from(q.buffer).toString('base64'), trained };
}

export function decodeModel(f: ModelFile): ClassifierModel {
  if (f.format !== 'rustyclaw-injection-lr/1' || f.bits !== FEATURE_BITS) throw new Error(`injection model: unsupported format ${f.format}/${f.bits} bits`);
  const q = new Int8Array(Buffer.from(f.weights_int8_base64, 'base64').buffer.slice(0));
  if (q.length !== 1 << f.bits) throw new Error(`injection model: ${q.length} weights, expected ${1 << f.bits}`);
  const weights = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) weights[i] = q[i] * f.scale;
  const threshold = typeof f.trained.threshold === 'number' ? f.trained.threshold : 0.5;
  return { bits: f.bits, bias: f.bias, weights, threshold };
}

export function probability(m: ClassifierModel, f: Map<number, number>): number {
  let z = m.bias;
  for (const [k, v] of f) z += m.weights[k] * v;
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
  if (text.length <= CHUNK_CHARS) return { p: probability(m, features(text)), start: 0, end: text.length };
  let best = { p: 0, start: 0, end: 0 };
  for (let at = 0; at < text.length; at += CHUNK_STEP) {
    const end = Math.min(text.length, at + CHUNK_CHARS);
    const p = probability(m, features(text.slice(at, end)));
    if (p > best.p) best = { p, start: at, end };
    if (end === text.length) break;
  }
  return best;
}
