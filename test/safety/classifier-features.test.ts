/**
 * featureIds (one pass over char codes, no normalised copy for ASCII text) gives exactly the buckets,
 * in the same order, of the straightforward form it replaced: normalise, split on spaces, hash each
 * word, pair and padded n-gram. The order matters: the classifier sums weights in first-seen order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { featureIds, normalise, FEATURE_BITS } from '../../actors/safety/injection-classifier.js';
import { mixedText } from '../../bench/scenarios/safety.js';
import { rng } from '../../bench/lib/rng.js';

const MASK = (1 << FEATURE_BITS) - 1;
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
/** The former featureIds, as it was written. */
function reference(text: string): number[] {
  const out: number[] = [];
  const words = normalise(text).split(' ');
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.length === 0) continue;
    out.push(fnv1a(w, 1) & MASK);
    if (i + 1 < words.length) out.push(fnv1a(`${w} ${words[i + 1]}`, 2) & MASK);
    const p = ` ${w} `;
    for (let n = 3; n <= 4; n++) for (let j = 0; j + n <= p.length; j++) out.push(fnv1a(p.slice(j, j + n), 3) & MASK);
  }
  return out;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
function rows(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.jsonl')).flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => String((JSON.parse(l) as { text?: unknown }).text ?? '')));
}

test('featureIds equals the normalise-split-hash reference on the development set, fixtures and fuzz', () => {
  const r = rng(29);
  const units = ['a', 'Z', '9', '?', '!', ' ', '  ', '\t', '\n', '\r', '-', '_', '.', "'", 'é', 'É', 'ß', 'İ', 'ı', 'K', 'ſ', 'ﬁ', '\u0301', '\u200b', '\u0000', '\u007f', 'Ä', 'ø', '中', '😀', 'Ignore', 'PREVIOUS', 'instructions', '𝐀', '𠀀', '\ud800', '\udc00', '㎂', '٣', '½', 'Ǆ', 'ﬀ', 'Ⅻ', '①', '\u00a0', '\u3000', '\u2028', '\ufeff', '?!', 'Ω', 'µ'];
  const fuzz = Array.from({ length: 5000 }, () => Array.from({ length: Math.floor(r() * 30) }, () => units[Math.floor(r() * units.length)]).join(''));
  const texts = [...rows(path.join(repoRoot, '../shared/data/safety')), ...rows(path.join(repoRoot, 'test/fixtures/safety')), ...fuzz, mixedText(50_000, 3), '', ' ', 'a'];
  for (const t of texts) assert.deepEqual(featureIds(t), reference(t), JSON.stringify(t.slice(0, 60)));
});
