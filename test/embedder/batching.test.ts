/** Local inference batches: bounded by text count and by padded word pieces (attention memory). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { batchesOf } from '../../actors/embedder/providers/local.js';
import { EmbedderConfigSchema, type EmbedderConfig } from '../../protocol/embedder.js';

test('short texts batch up to batch_size; long ones in batches bounded by word pieces', () => {
  const short = Array.from({ length: 70 }, (_, i) => `query number ${i}`);
  assert.deepEqual(batchesOf(short, 32, 2048, 256).map((b) => b.length), [32, 32, 6]);
  const long = Array.from({ length: 20 }, () => 'word '.repeat(250)); // ~1,250 chars: capped at 256 pieces
  const b = batchesOf(long, 32, 2048, 256);
  assert.deepEqual(b.map((x) => x.length), [8, 8, 4]);
  // Every text once, in order.
  assert.deepEqual(b.flat(), long.map((_, i) => i));
  // No bound: by count only; a text longer than the bound still gets a batch of its own.
  assert.deepEqual(batchesOf(long, 32, 0, 256).map((x) => x.length), [20]);
  assert.deepEqual(batchesOf(['x'.repeat(5000)], 32, 100, 256), [[0]]);
  // Sorted by length: the bound follows the longest so far.
  const mixed = [...short.slice(0, 10), ...long.slice(0, 10)];
  const m = batchesOf(mixed, 32, 2048, 256);
  assert.ok(m.every((x) => x.length * Math.min(256, Math.ceil(mixed[x[x.length - 1]].length / 4) + 2) <= 2048 || x.length === 1));
  assert.deepEqual(m.flat(), mixed.map((_, i) => i));
});

test('by default chunks of ~200 word pieces go 2 a batch and queries still 32 (embedder.batch_tokens 512)', () => {
  const cfg = Value.Default(EmbedderConfigSchema, {}) as EmbedderConfig;
  assert.equal(cfg.batch_tokens, 512);
  // A SciFact-like chunk: ~800 characters ≈ 200 pieces.
  const chunks = Array.from({ length: 9 }, () => 'protein '.repeat(100));
  assert.deepEqual(batchesOf(chunks, cfg.batch_size, cfg.batch_tokens, 256).map((x) => x.length), [2, 2, 2, 2, 1]);
  const queries = Array.from({ length: 40 }, (_, i) => `q ${i}`);
  assert.deepEqual(batchesOf(queries, cfg.batch_size, cfg.batch_tokens, 256).map((x) => x.length), [32, 8]);
});
