/**
 * The local model run in the embedder actor's own thread (`embedder.in_thread`): the same vectors
 * as the pool, batches one at a time, the session released after the idle period and loaded again
 * on the next text; and when `auto` chooses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { Value } from '@sinclair/typebox/value';
import { LocalProvider } from '../../actors/embedder/providers/local.js';
import { IN_THREAD_MAX_BATCH_TOKENS, runsInThread } from '../../actors/embedder/service.js';
import { EmbedderConfigSchema, type EmbedderConfig } from '../../protocol/embedder.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MODEL = path.resolve(repoRoot, '../shared/models/all-MiniLM-L6-v2');
const TEXTS = ['This is an example sentence', 'a much longer sentence about cats sitting on warm mats in the sun', 'x', 'Each sentence is converted', 'proteins in cells'];
const opts = { dir: MODEL, name: 'all-MiniLM-L6-v2', precision: 'q8' as const, threads: 1, intraOpThreads: 1, batchSize: 2, batchTokens: 512, maxTokens: 256, expectedDim: 384 };

test('in-thread batches give exactly the pool’s vectors, in order', async () => {
  const pool = await LocalProvider.create(opts);
  const inThread = await LocalProvider.create({ ...opts, inThread: true });
  try {
    const [a, b] = [await pool.embed(TEXTS), await inThread.embed(TEXTS)];
    assert.equal(b.length, TEXTS.length);
    a.forEach((v, i) => assert.deepEqual(b[i], v, `text ${i}`));
    // Concurrent calls share the one session, one batch at a time, each getting its own vectors
    // (q8 vectors depend on the batch's other texts, so compared with the same calls made in turn).
    const parts = [TEXTS.slice(0, 2), TEXTS.slice(2)];
    const alone = [await inThread.embed(parts[0]), await inThread.embed(parts[1])];
    const together = await Promise.all(parts.map((t) => inThread.embed(t)));
    assert.deepEqual(together, alone);
  } finally {
    await pool.close();
    await inThread.close();
  }
  assert.equal(inThread.loaded, false, 'close releases the session');
});

test('in-thread: the session is released after idleUnloadMs and loaded again by the next text', async () => {
  const p = await LocalProvider.create({ ...opts, inThread: true, idleUnloadMs: 300 });
  try {
    assert.equal(p.loaded, false, 'nothing loaded before the first text');
    const first = await p.embed(['proteins in cells']);
    assert.equal(p.loaded, true);
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(p.loaded, false, 'released after the idle period');
    const again = await p.embed(['proteins in cells']);
    assert.equal(p.loaded, true);
    assert.deepEqual(again, first);
  } finally {
    await p.close();
  }
  assert.ok(threadId === 0, 'ran in this (main) thread');
});

test('in_thread auto: only with a thread of its own, one pool thread and bounded batches', () => {
  const cfg = (over: Partial<EmbedderConfig> = {}) => ({ ...(Value.Default(EmbedderConfigSchema, {}) as EmbedderConfig), ...over });
  assert.equal(cfg().in_thread, 'auto');
  assert.equal(runsInThread(cfg(), 1, []), true, 'dedicated placement');
  assert.equal(runsInThread(cfg(), 1, ['system/memory']), false, 'a shared thread keeps the pool');
  assert.equal(runsInThread(cfg(), 1, undefined), false, 'unknown thread (main thread): pool');
  assert.equal(runsInThread(cfg(), 2, []), false, 'two pool threads');
  assert.equal(runsInThread(cfg({ batch_tokens: 0 }), 1, []), false, 'unbounded batches');
  assert.equal(runsInThread(cfg({ batch_tokens: IN_THREAD_MAX_BATCH_TOKENS * 2 }), 1, []), false, 'large batches');
  assert.equal(runsInThread(cfg({ in_thread: true }), 2, ['system/memory']), true, 'asked for');
  assert.equal(runsInThread(cfg({ in_thread: false }), 1, []), false, 'refused');
});
