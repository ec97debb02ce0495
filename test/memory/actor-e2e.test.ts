/**
 * End to end through the real kernel: system/embedder (local model, pool) and system/memory in
 * their own threads, talking by messages; restart reloads the index without re-embedding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSystem, type ActorSystem, type SupervisorNode } from '../../src/kernel/index.js';
import { Value } from '@sinclair/typebox/value';
import { MODEL, tmpDir } from './helpers.js';
import { memoryMessages } from '../../protocol/memory.js';
import { embedderMessages } from '../../protocol/embedder.js';

/** Replies must match the published schemas (the kernel validates traffic from outside with them). */
function conforms(type: string, reply: unknown): void {
  const schema = ((memoryMessages as any)[type] ?? (embedderMessages as any)[type]).reply;
  const errors = [...Value.Errors(schema, reply)].map((e) => `${e.path}: ${e.message}`);
  assert.deepEqual(errors, [], `${type} reply does not match its schema`);
}

function tree(memoryConfig: Record<string, unknown> = {}, precision = 'q8'): SupervisorNode {
  return {
    kind: 'supervisor',
    id: 'system',
    children: [
      { kind: 'worker', id: 'system/embedder', actors: [{ path: 'system/embedder', module: 'embedder', config: { threads: 1, local: { model_path: MODEL, precision } } }] },
      {
        kind: 'worker',
        id: 'system/memory',
        // As the built-in tree gives memory (tree.ts): module loading alone can pass 2 s on a loaded machine.
        livenessDeadlineMs: 30_000,
        // Fast maintenance so the test sees periodic compaction and snapshots happen.
        actors: [{ path: 'system/memory', module: 'memory', config: { chunk_tokens: 64, chunk_overlap_tokens: 8, maintenance_interval_ms: 200, compact_ratio: 0, roots: [os.tmpdir()], ...memoryConfig } }],
      },
    ],
  };
}

async function boot(dataDir: string, t: SupervisorNode): Promise<ActorSystem> {
  return startSystem({ config: { data_dir: dataDir, log: { level: 'silent' }, endpoint: { enabled: false } }, tree: t });
}

function writeWorkspace(dir: string): void {
  fs.mkdirSync(path.join(dir, 'notes'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'notes', 'garden.md'), '# Garden\n\nTomatoes need full sun and deep watering twice a week.\n\n## Pests\n\nAphids can be washed off with soapy water.\n');
  fs.writeFileSync(path.join(dir, 'notes', 'server.md'), '# Server runbook\n\nIf the disk fills up, rotate the logs in /var/log and restart nginx.\n');
  fs.writeFileSync(path.join(dir, 'empty.txt'), '');
  fs.writeFileSync(path.join(dir, 'blob.txt'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]));
  fs.writeFileSync(path.join(dir, 'latin1.txt'), Buffer.from('caf\xe9 cr\xe8me br\xfbl\xe9e', 'latin1'));
}

test('memory and embedder actors: add a folder, hybrid search, bad files reported, restart reloads', async () => {
  const data = tmpDir('rc-e2e-');
  const ws = tmpDir('rc-ws-');
  writeWorkspace(ws);
  let sys = await boot(data, tree());
  try {
    // The embedder loads its model in the background; `wait` asks for the loaded state.
    const info = await sys.ask('system/embedder', 'embedder.info', { wait: true });
    assert.equal(info.model, 'all-MiniLM-L6-v2@q8');
    conforms('embedder.info', info);
    assert.equal(info.dim, 384);
    const emb = await sys.ask('system/embedder', 'embedder.embed', { texts: ['hello world', 'second'] });
    assert.equal(emb.vectors.length, 2);
    assert.equal(emb.vectors[0].length, 384);
    conforms('embedder.embed', emb);

    const events: any[] = [];
    const unsub = sys.subscribe('memory.progress', (p) => events.push(p));
    const add = await sys.ask('system/memory', 'memory.add', { path: ws, agent: 'main' }, { timeoutMs: 60_000 });
    unsub();
    assert.equal(add.added, 2);
    conforms('memory.add', add);
    assert.deepEqual(add.errors.map((e: any) => [path.basename(e.path), e.code]).sort(), [
      ['blob.txt', 'binary_input'],
      ['empty.txt', 'empty_input'],
      ['latin1.txt', 'unsupported_encoding'],
    ]);
    assert.ok(add.errors.every((e: any) => e.message.includes(e.path)), 'errors name the file');
    assert.ok(events.some((e) => e.op === 'add' && e.done === e.total));

    const r = await sys.ask('system/memory', 'memory.search', { query: 'how to get rid of aphids', k: 3 });
    assert.equal(r.mode, 'hybrid');
    conforms('memory.search', r);
    const top = r.hits[0];
    assert.equal(path.basename(top.location.path ?? ''), 'garden.md');
    assert.ok(top.text.includes('Aphids'));
    assert.ok(top.location.start_line >= 5 && top.location.end_line <= 7, JSON.stringify(top.location));
    assert.ok(top.ranks.bm25 && top.ranks.vector);
    assert.equal(top.agent, 'main');

    // a single bad file is a clear error and changes nothing
    await assert.rejects(sys.ask('system/memory', 'memory.add', { path: path.join(ws, 'blob.txt') }), (e: any) => e.code === 'binary_input' && e.message.includes('blob.txt'));
    // text notes
    await sys.ask('system/memory', 'memory.add', { text: 'The wifi password for the guest network is on the fridge.', source: 'conversation', agent: 'main' });
    const conv = await sys.ask('system/memory', 'memory.search', { query: 'wifi password', filters: { source: 'conversation' } });
    assert.equal(conv.hits.length, 1);
    // change detection: edit one file, remove another
    fs.appendFileSync(path.join(ws, 'notes', 'garden.md'), '\nBasil grows well next to tomatoes.\n');
    fs.rmSync(path.join(ws, 'notes', 'server.md'));
    const again = await sys.ask('system/memory', 'memory.add', { path: ws }, { timeoutMs: 60_000 });
    assert.equal(again.updated, 1);
    assert.equal(again.deleted, 1);
    let stats = await sys.ask('system/memory', 'memory.stats', {});
    assert.equal(stats.docs, 2);
    assert.equal(stats.model, 'all-MiniLM-L6-v2@q8');
    // Deleted chunks are compacted away by the periodic maintenance.
    for (let i = 0; i < 100 && stats.deleted_pending > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      stats = await sys.ask('system/memory', 'memory.stats', {});
    }
    assert.equal(stats.deleted_pending, 0);
    conforms('memory.stats', stats);
    const del = await sys.ask('system/memory', 'memory.delete', { id: 'nonexistent' });
    conforms('memory.delete', del);
  } finally {
    await sys.stop();
  }

  // Restart: the index comes back from disk (snapshot), searchable at once.
  sys = await boot(data, tree());
  try {
    const stats = await sys.ask('system/memory', 'memory.stats', {});
    assert.equal(stats.docs, 2);
    assert.equal(stats.loaded_from, 'snapshot');
    const r = await sys.ask('system/memory', 'memory.search', { query: 'basil', mode: 'bm25' });
    assert.equal(path.basename(r.hits[0].location.path ?? ''), 'garden.md');
  } finally {
    await sys.stop();
  }

  // Another model (fp32 instead of q8): refused with a reindex hint, bm25 still works, reindex fixes.
  sys = await boot(data, tree({}, 'fp32'));
  try {
    await assert.rejects(sys.ask('system/memory', 'memory.search', { query: 'basil' }), (e: any) => e.code === 'model_mismatch' && /memory reindex/.test(e.message));
    const bm = await sys.ask('system/memory', 'memory.search', { query: 'basil', mode: 'bm25' });
    assert.equal(bm.hits.length, 1);
    const re = await sys.ask('system/memory', 'memory.reindex', {}, { timeoutMs: 60_000 });
    assert.equal(re.model, 'all-MiniLM-L6-v2@fp32');
    conforms('memory.reindex', re);
    const v = await sys.ask('system/memory', 'memory.search', { query: 'internet access code for visitors', mode: 'vector', k: 1 });
    assert.equal(v.hits[0].source, 'conversation');
  } finally {
    await sys.stop();
    fs.rmSync(data, { recursive: true, force: true });
    fs.rmSync(ws, { recursive: true, force: true });
  }
});
