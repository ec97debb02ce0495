/**
 * The run-gated phone and card scans (pii-numbers.ts) give exactly the whole-text scans' hits: the
 * whole text as one run is the plain global scan of each pattern.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phones, cards, numberRuns, type NumberHit } from '../../actors/safety/pii-numbers.js';
import { mixedText } from '../../bench/scenarios/safety.js';
import { rng } from '../../bench/lib/rng.js';

function gated(text: string): NumberHit[] {
  const out: NumberHit[] = [];
  const runs = numberRuns(text);
  phones(text, runs, out);
  cards(text, runs, out);
  return out;
}
function whole(text: string): NumberHit[] {
  const out: NumberHit[] = [];
  phones(text, [0, text.length], out);
  cards(text, [0, text.length], out);
  return out;
}

// Pieces that sit at the gate's edges: separators, brackets, 9–19 digit runs, word characters and
// dots right before or after a number, real card and phone shapes, and their near misses.
const PIECES = [
  '0', '1', '4', '5', '9', '12', '123', '1234', '4111', '0000', ' ', '  ', '-', '--', '.', '..', '(', ')', '+', '+1', '+44', '(555)', '_', 'a', 'Z', 'x1', '\n', '/', ':', ',',
  '4111 1111 1111 1111', '4111-1111-1111-1111', '4111111111111111', '5500005555555559', '378282246310005', '6011111111111117', '4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1',
  '+1 415-555-0132', '(415) 555-0132', '415.555.0132', '415-555-0132', '+44 20 7946 0958', '+49 (30) 1234 5678', '+1 (2) 34', '555-01', '2024-01-02T03:04:05Z',
];

test('phones and cards inside number runs equal the whole-text scans (seeded fuzz)', () => {
  const r = rng(16);
  for (let n = 0; n < 20_000; n++) {
    let t = '';
    const k = 1 + Math.floor(r() * 24);
    for (let i = 0; i < k; i++) t += PIECES[Math.floor(r() * PIECES.length)];
    assert.deepEqual(gated(t), whole(t), JSON.stringify(t));
  }
});

test('phones and cards inside number runs equal the whole-text scans on mixed text and digit runs', () => {
  const r = rng(17);
  const digits = Array.from({ length: 200_000 }, () => '0123456789 -.()+'[Math.floor(r() * (r() < 0.8 ? 10 : 16))]).join('');
  const texts = [mixedText(400_000, 5), digits, '1 '.repeat(50_000), '4111 1111 1111 1111 '.repeat(5_000), '1234567890'.repeat(20_000), 'a1234567890'.repeat(10_000)];
  for (const t of texts) {
    const w = whole(t);
    assert.deepEqual(gated(t), w, JSON.stringify(t.slice(0, 20)));
  }
  assert.ok(whole(texts[3]).length > 1000, 'the card text yields cards: the comparison is not vacuous');
});

test('number runs: maximal, in order, each holding ten digits', () => {
  const t = 'id 12345 and 415-555-0132 x (555) 123-4567, 1.2.3.4.5.6.7.8.9.0';
  const runs = numberRuns(t);
  const got: string[] = [];
  for (let i = 0; i < runs.length; i += 2) got.push(t.slice(runs[i], runs[i + 1]));
  assert.deepEqual(got, [' 415-555-0132 ', ' (555) 123-4567', ' 1.2.3.4.5.6.7.8.9.0']);
});
