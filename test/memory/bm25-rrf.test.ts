import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../actors/memory/analyzer.js';
import { Bm25Index } from '../../actors/memory/bm25-index.js';
import { rrfFuse } from '../../actors/memory/rrf.js';

const docs = [
  'The cat sat on the mat.',
  'Dogs are running in the park with other dogs.',
  'A quick brown fox jumps over the lazy dog.',
  'Cats and dogs living together.',
  'Quantum chromodynamics of gluons.',
];

function build(): Bm25Index {
  const idx = new Bm25Index();
  docs.forEach((d, i) => idx.add(i + 1, analyze(d)));
  return idx;
}

test('analyzer lower-cases, drops stop words and stems', () => {
  assert.deepEqual(analyze('The Dogs are RUNNING'), ['dog', 'run']);
});

test('bm25 ranks by term rarity and frequency with the Lucene formula', () => {
  const idx = build();
  const r = idx.search(analyze('dogs'), 10);
  assert.deepEqual(r.map((x) => x.label).sort(), [2, 3, 4]);
  assert.equal(r[0].label, 2, 'doc with two "dogs" ranks first');
  // check one score by hand: N=5, df=3, idf=ln(1+(5-3+0.5)/(3+0.5))
  const idf = Math.log(1 + 2.5 / 3.5);
  const lens = docs.map((d) => analyze(d).length);
  const avg = lens.reduce((a, b) => a + b) / lens.length;
  const f = 2;
  const expected = (idf * f * 2.2) / (f + 1.2 * (1 - 0.75 + (0.75 * lens[1]) / avg));
  assert.ok(Math.abs(r[0].score - expected) < 1e-9);
  assert.deepEqual(idx.search(analyze('gluons'), 3).map((x) => x.label), [5]);
  assert.deepEqual(idx.search(analyze('nothing matches this'), 3), []);
});

test('delete hides a document at once, compaction removes it for good, filters apply', () => {
  const idx = build();
  assert.ok(idx.remove(2));
  assert.ok(!idx.search(analyze('dogs'), 10).some((x) => x.label === 2));
  assert.equal(idx.size, 4);
  idx.compact();
  assert.equal(idx.deletedCount, 0);
  assert.deepEqual(idx.search(analyze('dogs'), 10, (l) => l !== 3).map((x) => x.label), [4]);
  idx.add(2, analyze('dogs again'));
  assert.ok(idx.search(analyze('dogs'), 10).some((x) => x.label === 2));
});

test('serialize/deserialize gives identical results', () => {
  const idx = build();
  idx.remove(5);
  const copy = Bm25Index.deserialize(idx.serialize());
  for (const q of ['dogs', 'cat mat', 'fox lazy', 'gluons']) {
    assert.deepEqual(copy.search(analyze(q), 10), idx.search(analyze(q), 10));
  }
  assert.equal(copy.size, 4);
});

test('rrf fuses with weights and reports per-list ranks', () => {
  const f = rrfFuse(
    [
      { name: 'bm25', weight: 1, labels: [1, 2, 3] },
      { name: 'vector', weight: 1, labels: [3, 1, 4] },
    ],
    60,
  );
  assert.equal(f[0].label, 1); // 1/61 + 1/62
  assert.ok(Math.abs(f[0].score - (1 / 61 + 1 / 62)) < 1e-12);
  assert.deepEqual(f[0].ranks, { bm25: 1, vector: 2 });
  assert.equal(f[1].label, 3);
  assert.deepEqual(f.find((x) => x.label === 4)!.ranks, { vector: 3 });
  const vecHeavy = rrfFuse(
    [
      { name: 'bm25', weight: 0.1, labels: [1, 2] },
      { name: 'vector', weight: 1, labels: [2, 1] },
    ],
    60,
  );
  assert.equal(vecHeavy[0].label, 2);
});
