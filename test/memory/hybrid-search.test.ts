import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFilter, rankResults, type FilterableDoc } from '../../actors/memory/hybrid-search.js';

const docs = new Map<number, FilterableDoc>([
  [1, { source: 'file', path: '/w/notes/a.md', agent: 'main', time: 1000 }],
  [2, { source: 'file', path: '/w/notes-old/b.md', agent: 'main', time: 2000 }],
  [3, { source: 'conversation', agent: 'ops', time: 3000 }],
]);
const docOf = (l: number) => docs.get(l);
const pass = (f: Parameters<typeof buildFilter>[0]) => [1, 2, 3].filter((l) => buildFilter(f, docOf)!(l));

test('filters: source, agent, time window, path prefix on folder boundaries', () => {
  assert.equal(buildFilter({}, docOf), undefined);
  assert.deepEqual(pass({ source: 'file' }), [1, 2]);
  assert.deepEqual(pass({ source: ['conversation', 'x'] }), [3]);
  assert.deepEqual(pass({ agent: 'main' }), [1, 2]);
  assert.deepEqual(pass({ since: 2000 }), [2, 3]);
  assert.deepEqual(pass({ until: '1970-01-01T00:00:02.500Z' }), [1, 2]);
  assert.deepEqual(pass({ path_prefix: '/w/notes' }), [1], '/w/notes must not match /w/notes-old');
  assert.throws(() => buildFilter({ since: 'last tuesday' }, docOf), /not a date/);
});

test('ranking per mode: plain lists keep their scores, hybrid fuses with weights', () => {
  const bm = [
    { label: 1, score: 9 },
    { label: 2, score: 5 },
  ];
  const vec = [
    { label: 2, score: 0.8 },
    { label: 3, score: 0.7 },
  ];
  assert.deepEqual(rankResults('bm25', bm, vec, 1, { rrfK: 60, bm25Weight: 1, vectorWeight: 1 }), [{ label: 1, score: 9, ranks: { bm25: 1 } }]);
  assert.deepEqual(rankResults('vector', bm, vec, 5, { rrfK: 60, bm25Weight: 1, vectorWeight: 1 }).map((r) => r.label), [2, 3]);
  const h = rankResults('hybrid', bm, vec, 3, { rrfK: 60, bm25Weight: 1, vectorWeight: 1 });
  assert.equal(h[0].label, 2, 'in both lists wins');
  assert.deepEqual(h[0].ranks, { bm25: 2, vector: 1 });
  assert.equal(h[0].rrf, h[0].score);
  const bmOnly = rankResults('hybrid', bm, vec, 3, { rrfK: 60, bm25Weight: 1, vectorWeight: 0 });
  assert.deepEqual(bmOnly.slice(0, 2).map((r) => r.label), [1, 2]);
});
