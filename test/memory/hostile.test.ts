/**
 * Hostile input against the real index (real model): every fixture is indexed or refused with a
 * clear code without blocking the thread; budgets refuse without half-commits; a document that
 * killed the thread twice is quarantined; a stale snapshot is rebuilt in the background; the
 * doctor finds and repairs damaged rows; paths are confined to roots.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { closeEmbedders, openIndex, realEmbedder, tmpDir } from './helpers.js';
import { hostileFixtures, longToken } from './hostile-fixtures.js';
import { PathGuard } from '../../actors/memory/path-guard.js';
import { CrashLedger } from '../../actors/memory/quarantine.js';

after(closeEmbedders);

/** Longest gap between event-loop turns while `work` runs (the thread must keep answering pings). */
async function maxStall<T>(work: () => Promise<T>): Promise<{ value: T | Error; stall: number }> {
  let last = performance.now();
  let stall = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 5);
  let value: T | Error;
  try {
    value = await work();
  } catch (e) {
    value = e as Error;
  }
  clearInterval(timer);
  return { value, stall };
}

test('every hostile fixture is indexed or refused with a clear code, never blocking the thread', async () => {
  const dir = tmpDir();
  const idx = await openIndex(dir, await realEmbedder(), { chunkTokens: 200, overlapTokens: 32 });
  // Full-size 10 MB single line and long token; the others at 1/20 of their size (embedding time on a shared machine).
  const small = hostileFixtures(0.05).filter((f) => f.name !== 'single-line-10mb.txt' && f.name !== 'long-token.txt');
  const big = hostileFixtures(1).filter((f) => f.name === 'single-line-10mb.txt' || f.name === 'long-token.txt');
  for (const f of [...big, ...small]) {
    const { value, stall } = await maxStall(() => idx.add({ text: f.text, source: 'hostile', id: f.name }));
    // 2 s is the kernel's default liveness deadline; the analysis yields every 50 ms.
    assert.ok(stall < 2000, `${f.name}: the thread stalled ${Math.round(stall)} ms`);
    if (value instanceof Error) {
      assert.match((value as Error & { code: string }).code, /^(no_indexable_text)$/, `${f.name}: ${value.message}`);
      assert.ok(value.message.includes(f.name) && /64 characters/.test(value.message), value.message);
    } else {
      assert.ok(value.chunks > 0, f.name);
    }
  }
  const stats = idx.stats();
  assert.ok(!stats.quarantined.length);
  assert.ok(!idx.hasDoc('single-line-10mb.txt'), 'a blob with nothing indexable is refused, not stored');
  const minified = await idx.search({ query: 'function return null', mode: 'bm25', k: 3 });
  assert.ok(minified.hits.length > 0);
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('long tokens are skipped before stemming and counted per document', async () => {
  const dir = tmpDir();
  const idx = await openIndex(dir, await realEmbedder());
  const text = `The deploy key is ${longToken(5000)} and the build hash is ${'ab12'.repeat(10)}.\n\nKeep the runbook near the server.`;
  const r = await idx.add({ text, source: 'notes', id: 'keys' });
  // The 5,000-letter token is cut into chunk-sized pieces, each skipped (and counted).
  assert.ok((r.skipped_tokens ?? 0) >= 1);
  // A 40-character hash (≤ 64) stays searchable.
  assert.equal((await idx.search({ query: 'ab12'.repeat(10), mode: 'bm25' })).hits[0]?.doc_id, 'keys');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a document over its analysis budget is refused and nothing of it is stored', async () => {
  const dir = tmpDir();
  const idx = await openIndex(dir, await realEmbedder(), { analysisBudgetMs: 1 });
  await assert.rejects(
    () => idx.add({ text: 'words of a long note. '.repeat(200_000), source: 'notes', id: 'huge' }),
    (e: any) => e.code === 'analysis_budget_exceeded' && /analysis_budget_ms = 1 ms/.test(e.message) && /nothing of it was stored/.test(e.message),
  );
  assert.equal(idx.stats().docs, 0);
  assert.equal(fs.existsSync(path.join(dir, 'inflight.json')), false, 'no crash marker after a clean refusal');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a document that killed the thread twice is quarantined: refused, listed, skipped on rebuild, deletable', async () => {
  const dir = tmpDir();
  const emb = await realEmbedder();
  let idx = await openIndex(dir, emb);
  await idx.add({ text: 'Ordinary note about gardening and tomatoes.', source: 'notes', id: 'ok' });
  await idx.close();
  const text = 'A note that (in this test) crashes the analyzer.';
  // What a crash leaves behind: the in-flight marker of the add (written by the index before analysis).
  const crashOnce = async () => {
    const l = new CrashLedger(dir);
    const { contentHash } = await import('../../actors/memory/memory-index.js');
    l.begin({ op: 'add', doc_id: 'bad', hash: contentHash(text), started: Date.now(), source: 'notes' });
  };
  await crashOnce();
  idx = await openIndex(dir, emb);
  assert.equal(idx.stats().quarantined.length, 0, 'one strike is not quarantine');
  await idx.close();
  await crashOnce();
  idx = await openIndex(dir, emb);
  const q = idx.stats().quarantined;
  assert.equal(q.length, 1);
  assert.equal(q[0].doc_id, 'bad');
  assert.match(q[0].reason, /crashed or stalled 2 time/);
  await assert.rejects(() => idx.add({ text, source: 'notes', id: 'bad' }), (e: any) => e.code === 'quarantined' && /memory delete --id bad/.test(e.message));
  assert.equal((await idx.search({ query: 'gardening', mode: 'bm25' })).hits[0].doc_id, 'ok', 'the rest keeps working');
  assert.deepEqual(idx.delete({ id: 'bad' }), { deleted: 1, chunks: 0 });
  assert.equal(idx.stats().quarantined.length, 0);
  const r = await idx.add({ text, source: 'notes', id: 'bad' });
  assert.equal(r.status, 'added');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a committed document that kills the rebuild twice is skipped on rebuild and removable', async () => {
  const dir = tmpDir();
  const emb = await realEmbedder();
  let idx = await openIndex(dir, emb);
  await idx.add({ text: 'Ordinary note about gardening.', source: 'notes', id: 'ok' });
  await idx.add({ text: 'The stored document that the rebuild trips over.', source: 'notes', id: 'trip', path: '/srv/notes/trip.md' });
  await idx.close();
  for (let i = 0; i < 2; i++) {
    fs.rmSync(path.join(dir, 'snapshot.json'));
    new CrashLedger(dir).begin({ op: 'rebuild', doc_id: 'trip', started: Date.now(), path: '/srv/notes/trip.md' });
    idx = await openIndex(dir, emb);
    await idx.close();
  }
  idx = await openIndex(dir, emb);
  assert.deepEqual(idx.stats().quarantined.map((q) => q.doc_id), ['trip']);
  assert.equal(idx.stats().docs, 1, 'the quarantined document is out of the indexes');
  assert.equal((await idx.delete({ path: '/srv/notes' })).deleted, 1, 'delete --path removes a quarantined document');
  assert.equal(idx.stats().quarantined.length, 0);
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a stale snapshot is rebuilt in the background: open returns at once, searches say so', async () => {
  const dir = tmpDir();
  const emb = await realEmbedder();
  let idx = await openIndex(dir, emb);
  const many = Array.from({ length: 30 }, (_, i) => ({ text: `Note ${i} about item${i} and general shared words. `.repeat(8), source: 'notes', id: `n${i}` }));
  await idx.addBatch(many);
  await idx.close();
  fs.rmSync(path.join(dir, 'snapshot.json'));
  idx = await openIndex(dir, emb, { rebuild: 'background' });
  assert.equal(idx.loadedFrom, 'rebuild');
  const during = await idx.search({ query: 'shared words', mode: 'bm25' });
  const s = idx.stats();
  if (idx.rebuilding) {
    assert.ok(s.degraded && s.degraded.total > 0);
    assert.match(during.warnings?.join(' ') ?? '', /being rebuilt/);
  }
  await idx.rebuilt;
  assert.equal(idx.stats().degraded, undefined);
  assert.equal((await idx.search({ query: 'item29', mode: 'bm25' })).hits[0].doc_id, 'n29');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('doctor finds missing and orphan rows and repairs them from the stored text', async () => {
  const dir = tmpDir();
  const idx = await openIndex(dir, await realEmbedder());
  await idx.add({ text: 'Penguins live in the southern hemisphere.\n\nThey cannot fly but swim well.', source: 'notes', id: 'penguin' });
  const label = Number((await idx.search({ query: 'penguins', mode: 'bm25' })).hits[0].id);
  const db = idx as unknown as { chunksDb: { removeSync(k: number): void }; vectorsDb: { putSync(k: number, v: Buffer): void } };
  db.chunksDb.removeSync(label);
  db.vectorsDb.putSync(99_999, Buffer.alloc(16));
  const report = await idx.doctor(false);
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems.map((p) => p.code).sort(), ['missing_chunks', 'orphan_rows', 'label_counter', 'stale_snapshot'].sort());
  const fixed = await idx.doctor(true);
  assert.ok(fixed.problems.every((p) => p.repaired), JSON.stringify(fixed.problems));
  assert.equal((await idx.doctor(false)).problems.length, 0);
  assert.equal((await idx.search({ query: 'penguins swim', mode: 'bm25' })).hits[0].doc_id, 'penguin');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('paths: only under roots, symlinks resolved first, files the root owner cannot read refused', () => {
  const base = tmpDir('rc-guard-');
  const root = path.join(base, 'ws');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'note.md'), 'hello');
  fs.writeFileSync(path.join(base, 'outside.md'), 'secret');
  fs.symlinkSync(path.join(base, 'outside.md'), path.join(root, 'link.md'));
  const guard = new PathGuard({ roots: [root], ownerReadableOnly: true });
  assert.equal(guard.check(path.join(root, 'note.md')).real, fs.realpathSync(path.join(root, 'note.md')));
  assert.throws(() => guard.check(path.join(base, 'outside.md')), (e: any) => e.code === 'path_outside_roots' && e.message.includes(root));
  assert.throws(() => guard.check(path.join(root, 'link.md')), (e: any) => e.code === 'path_outside_roots' && /resolves to/.test(e.message));
  assert.throws(() => guard.check('/etc/passwd'), (e: any) => e.code === 'path_outside_roots');
  assert.throws(() => guard.check(path.join(root, 'missing.md')), (e: any) => e.code === 'file_not_found');
  if (process.getuid?.() === 0) {
    // The workspace belongs to an ordinary user; a root-only file inside it is refused although the service (root) could read it.
    fs.chownSync(root, 1000, 1000);
    const secret = path.join(root, 'shadow-copy');
    fs.writeFileSync(secret, 'root:$6$hash');
    fs.chmodSync(secret, 0o600);
    const g = new PathGuard({ roots: [root], ownerReadableOnly: true });
    assert.throws(() => g.check(secret), (e: any) => e.code === 'not_readable_by_owner' && e.message.includes(secret));
    // A client claiming another uid can only make it stricter.
    fs.chownSync(path.join(root, 'note.md'), 1000, 1000);
    fs.chmodSync(path.join(root, 'note.md'), 0o600);
    assert.doesNotThrow(() => g.check(path.join(root, 'note.md')));
    assert.throws(() => g.check(path.join(root, 'note.md'), 4242), (e: any) => e.code === 'not_readable_by_client');
    assert.doesNotThrow(() => g.check(path.join(root, 'note.md'), 0), 'claiming root gains nothing beyond the owner check');
    assert.throws(() => g.check(secret, 0), (e: any) => e.code === 'not_readable_by_owner');
  }
  fs.rmSync(base, { recursive: true, force: true });
});
