import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilities } from '../../src/cli/capability.js';

const stats = {
  docs: 3, chunks: 40, model: 'all-MiniLM-L6-v2@q8', dim: 384, format: 3, deleted_pending: 0, vocabulary: 900,
  store_bytes: 1 << 20, path: '/tmp/m', loaded_from: 'snapshot', embedder: 'system/embedder',
};

test('status: memory says when its answers are partial (rebuilding, quarantined files, an unusable index)', async () => {
  const replies: unknown[] = [
    stats,
    { ...stats, degraded: { reason: 'rebuilding bm25', done: 12, total: 40 }, quarantined: [{ doc_id: 'd1', path: '/x/blob.txt', reason: 'stalled the memory thread twice', at: 1 }] },
    { ...stats, error: { code: 'index_format', message: 'index format 2, this build reads 3' } },
  ];
  const lines: string[] = [];
  for (const r of replies) {
    const out = await capabilities(async () => r, [{ path: 'system/memory', state: 'running' }]);
    lines.push(out['system/memory']!.line);
  }
  assert.equal(lines[0], '3 docs, 40 chunks, vectors by all-MiniLM-L6-v2@q8');
  assert.match(lines[1]!, /DEGRADED \(rebuilding bm25: 12\/40; searches answer from what is done\); 1 quarantined/);
  assert.match(lines[2]!, /ERROR index_format: index format 2/);
});

test('status: an actor that does not answer its probe says which message failed', async () => {
  const out = await capabilities(async () => { throw Object.assign(new Error('no reply within 5000 ms'), { code: 'timeout' }); }, [{ path: 'system/safety', state: 'running' }]);
  assert.equal(out['system/safety']!.line, 'no answer to safety.stats: timeout: no reply within 5000 ms');
});
