import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Embedder } from '../../actors/memory/memory-index.js';
import { closeEmbedders, openIndex, realEmbedder, tmpDir } from './helpers.js';

after(closeEmbedders);

const NOTES = {
  cats: 'Cats are small carnivorous mammals. Domestic cats sleep for most of the day and purr when content.',
  rust: 'The borrow checker in Rust enforces ownership rules at compile time, preventing data races.',
  bread: 'To bake sourdough bread, feed the starter, mix flour and water, let the dough rise overnight, then bake at 250 degrees.',
  code: 'Error code ZX-4417 means the flux capacitor lost calibration; recalibrate with the service tool.',
};

/** Counts how many texts really reach the model, to prove a reload does not re-embed. */
function counting(e: Embedder) {
  const c = { n: 0 };
  const wrapped: Embedder = { model: e.model, dim: e.dim, embed: (t) => ((c.n += t.length), e.embed(t)) };
  return { wrapped, c };
}

test('add, search in three modes with ranks, scores and locations', async () => {
  const dir = tmpDir();
  const idx = await openIndex(dir, await realEmbedder());
  for (const [name, text] of Object.entries(NOTES)) await idx.add({ text, source: 'notes', id: name, agent: name === 'code' ? 'ops' : 'main' });
  // exact keyword: bm25 finds the code
  const kw = await idx.search({ query: 'ZX-4417', mode: 'bm25', k: 3 });
  assert.equal(kw.hits[0].doc_id, 'code');
  assert.equal(kw.hits[0].ranks.bm25, 1);
  assert.ok(kw.hits[0].scores.bm25! > 0);
  // meaning: vector finds the bread note without shared words
  const sem = await idx.search({ query: 'how do I make a loaf at home', mode: 'vector', k: 2 });
  assert.equal(sem.hits[0].doc_id, 'bread');
  assert.ok(sem.hits[0].scores.vector! > 0.2);
  // hybrid carries both ranks and the rrf score
  const hy = await idx.search({ query: 'feline sleeping habits purr', k: 4 });
  assert.equal(hy.hits[0].doc_id, 'cats');
  assert.ok(hy.hits[0].ranks.vector && hy.hits[0].ranks.bm25);
  assert.ok(Math.abs(hy.hits[0].score - (1 / (60 + hy.hits[0].ranks.vector!) + 1 / (60 + hy.hits[0].ranks.bm25!))) < 1e-12);
  assert.deepEqual(hy.hits[0].location, { path: null, start_line: 1, end_line: 1 });
  // filters
  const onlyOps = await idx.search({ query: 'cats', k: 4, filters: { agent: 'ops' } });
  assert.deepEqual(onlyOps.hits.map((h) => h.doc_id), ['code']);
  const none = await idx.search({ query: 'cats', k: 4, filters: { source: 'other' } });
  assert.equal(none.hits.length, 0);
  const future = await idx.search({ query: 'cats', filters: { since: Date.now() + 60_000 } });
  assert.equal(future.hits.length, 0);
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('update and delete are incremental; unchanged content is skipped', async () => {
  const dir = tmpDir();
  const { wrapped, c } = counting(await realEmbedder());
  const idx = await openIndex(dir, wrapped);
  assert.equal((await idx.add({ text: NOTES.cats, source: 's', id: 'a' })).status, 'added');
  await idx.add({ text: NOTES.rust, source: 's', id: 'b' });
  const before = c.n;
  assert.equal((await idx.add({ text: NOTES.cats, source: 's', id: 'a' })).status, 'unchanged');
  assert.equal(c.n, before, 'unchanged content is not re-embedded');
  assert.equal((await idx.add({ text: NOTES.bread, source: 's', id: 'a' })).status, 'updated');
  let r = await idx.search({ query: 'purr', mode: 'bm25' });
  assert.equal(r.hits.length, 0, 'old content of an updated doc is gone');
  r = await idx.search({ query: 'sourdough', mode: 'bm25' });
  assert.equal(r.hits[0].doc_id, 'a');
  assert.deepEqual(idx.delete({ id: 'b' }), { deleted: 1, chunks: 1 });
  r = await idx.search({ query: 'borrow checker ownership', k: 5 });
  assert.ok(!r.hits.some((h) => h.doc_id === 'b'));
  assert.equal(idx.stats().docs, 1);
  assert.ok(await idx.compact(true));
  assert.equal(idx.stats().deleted_pending, 0);
  r = await idx.search({ query: 'bread', k: 5 });
  assert.equal(r.hits[0].doc_id, 'a');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('reload from snapshot and after a crash (stale snapshot) without re-embedding', async () => {
  const dir = tmpDir();
  const { wrapped, c } = counting(await realEmbedder());
  let idx = await openIndex(dir, wrapped);
  for (const [name, text] of Object.entries(NOTES)) await idx.add({ text, source: 'notes', id: name });
  const expect = await idx.search({ query: 'compile time safety', k: 4 });
  await idx.close();
  const embedded = c.n;
  idx = await openIndex(dir, wrapped);
  assert.equal(idx.loadedFrom, 'snapshot');
  const again = await idx.search({ query: 'compile time safety', k: 4 });
  assert.deepEqual(again.hits.map((h) => [h.id, h.ranks]), expect.hits.map((h) => [h.id, h.ranks]));
  assert.equal(c.n, embedded + 1, 'only the query was embedded');
  // A write after the snapshot without a new snapshot (as after a crash): lmdb wins, indexes rebuilt.
  await idx.add({ text: 'Penguins live in the southern hemisphere and cannot fly.', source: 'notes', id: 'penguin' });
  fs.copyFileSync(path.join(dir, 'snapshot.json'), path.join(dir, 'snapshot.keep'));
  await idx.close();
  fs.copyFileSync(path.join(dir, 'snapshot.keep'), path.join(dir, 'snapshot.json'));
  fs.writeFileSync(path.join(dir, 'snapshot.json'), JSON.stringify({ format: 1, generation: 1 }));
  const n = c.n;
  idx = await openIndex(dir, wrapped);
  assert.equal(idx.loadedFrom, 'rebuild');
  assert.equal(c.n, n, 'rebuild uses stored vectors');
  assert.equal((await idx.search({ query: 'penguins', mode: 'bm25' })).hits[0].doc_id, 'penguin');
  assert.equal((await idx.search({ query: 'flightless antarctic birds', mode: 'vector', k: 1 })).hits[0].doc_id, 'penguin');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a different model is refused with a reindex hint; bm25 keeps working; reindex fixes it', async () => {
  const dir = tmpDir();
  let idx = await openIndex(dir, await realEmbedder('q8'));
  await idx.add({ text: NOTES.rust, source: 's', id: 'rust' });
  await idx.add({ text: NOTES.cats, source: 's', id: 'cats' });
  await idx.close();
  idx = await openIndex(dir, await realEmbedder('fp32'));
  await assert.rejects(() => idx.search({ query: 'ownership' }), (e: any) => e.code === 'model_mismatch' && /all-MiniLM-L6-v2@q8/.test(e.message) && /memory reindex/.test(e.message));
  await assert.rejects(() => idx.add({ text: NOTES.bread, source: 's' }), (e: any) => e.code === 'model_mismatch');
  assert.equal((await idx.search({ query: 'ownership', mode: 'bm25' })).hits[0].doc_id, 'rust');
  const seen: number[] = [];
  const r = await idx.reindex((done) => seen.push(done));
  assert.deepEqual(r, { docs: 2, chunks: 2, model: 'all-MiniLM-L6-v2@fp32' });
  assert.deepEqual(seen, [0, 2]);
  assert.equal((await idx.search({ query: 'purring pets', mode: 'vector', k: 1 })).hits[0].doc_id, 'cats');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an index written by another format version is refused and left untouched', async () => {
  const dir = tmpDir();
  const idx = await openIndex(dir, await realEmbedder());
  await idx.add({ text: NOTES.rust, source: 's', id: 'rust' });
  await idx.close();
  // Rewrite the meta record as a future version would.
  const { open } = await import('lmdb');
  const env = open({ path: path.join(dir, 'index.lmdb'), maxDbs: 8, noSubdir: false });
  const meta = env.openDB({ name: 'meta' });
  const m: any = meta.get('meta');
  await meta.put('meta', { ...m, format: 99 });
  await env.close();
  const size = fs.statSync(path.join(dir, 'index.lmdb', 'data.mdb')).size;
  const emb = await realEmbedder();
  await assert.rejects(() => openIndex(dir, emb), (e: any) => e.code === 'index_version_mismatch' && e.message.includes(path.join(dir, 'index.lmdb')) && /format 99/.test(e.message));
  assert.equal(fs.statSync(path.join(dir, 'index.lmdb', 'data.mdb')).size, size);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('bad queries: empty is refused, 10,000 words is cut with a warning, unknown mode named', async () => {
  const dir = tmpDir();
  const idx = await openIndex(dir, await realEmbedder());
  await idx.add({ text: NOTES.code, source: 's', id: 'code' });
  await assert.rejects(() => idx.search({ query: '   ' }), (e: any) => e.code === 'invalid_query');
  await assert.rejects(() => idx.search({ query: 'x', mode: 'fuzzy' as any }), (e: any) => /fuzzy/.test(e.message));
  const long = Array.from({ length: 10_000 }, (_, i) => (i % 7 === 0 ? 'calibration' : `w${i}`)).join(' ');
  const r = await idx.search({ query: long });
  assert.match(r.warnings![0], /10000 words/);
  assert.equal(r.hits[0].doc_id, 'code');
  await assert.rejects(() => idx.add({ text: '', source: 's' }), (e: any) => e.code === 'empty_input');
  assert.equal(idx.stats().docs, 1, 'nothing lost');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('without an embedder: hybrid answers by bm25 with a warning, vector mode is a clear error, adds are refused', async () => {
  const dir = tmpDir();
  let idx = await openIndex(dir, await realEmbedder());
  await idx.add({ text: NOTES.code, source: 's', id: 'code' });
  await idx.close();
  idx = await openIndex(dir, null);
  const r = await idx.search({ query: 'ZX-4417 calibration' });
  assert.equal(r.hits[0].doc_id, 'code');
  assert.match(r.warnings![0], /bm25 only/);
  await assert.rejects(() => idx.search({ query: 'x', mode: 'vector' }), (e: any) => e.code === 'embedder_unavailable');
  await assert.rejects(() => idx.add({ text: NOTES.cats, source: 's' }), (e: any) => e.code === 'embedder_unavailable');
  await assert.rejects(() => idx.search({ query: 'x', vector: [1, 2, 3] }), (e: any) => e.code === 'invalid_query' && /3 dimensions/.test(e.message));
  assert.equal(idx.stats().docs, 1);
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a corrupted index file is a clear error naming it, and is left as it was', async () => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'index.lmdb'));
  const junk = Buffer.alloc(64 * 1024, 0x5a);
  fs.writeFileSync(path.join(dir, 'index.lmdb', 'data.mdb'), junk);
  await assert.rejects(() => openIndex(dir, null), (e: any) => e.code === 'index_unreadable' && e.message.includes(path.join(dir, 'index.lmdb')));
  assert.deepEqual(fs.readFileSync(path.join(dir, 'index.lmdb', 'data.mdb')), junk);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a truncated index file is refused before lmdb maps it', async () => {
  const dir = tmpDir();
  const idx = await openIndex(dir, await realEmbedder());
  await idx.add({ text: NOTES.cats, source: 's', id: 'cats' });
  await idx.close();
  const file = path.join(dir, 'index.lmdb', 'data.mdb');
  fs.truncateSync(file, 4096);
  await assert.rejects(() => openIndex(dir, null), (e: any) => e.code === 'index_unreadable' && e.message.includes(file) && /second lmdb meta page/.test(e.message));
  assert.equal(fs.statSync(file).size, 4096);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('damaged snapshot files are ignored: indexes are rebuilt from lmdb', async () => {
  const dir = tmpDir();
  let idx = await openIndex(dir, await realEmbedder());
  for (const [name, text] of Object.entries(NOTES)) await idx.add({ text, source: 'notes', id: name });
  await idx.close();
  fs.writeFileSync(path.join(dir, 'hnsw.bin'), Buffer.alloc(5000, 0x7f));
  fs.writeFileSync(path.join(dir, 'bm25.bin'), Buffer.from('garbage'));
  const warnings: string[] = [];
  idx = await openIndex(dir, await realEmbedder(), { log: { info: () => undefined, warn: (_o, m) => void warnings.push(String(m)) } });
  assert.equal(idx.loadedFrom, 'rebuild');
  assert.match(warnings[0], /snapshot unusable/);
  assert.equal((await idx.search({ query: 'sourdough', mode: 'bm25' })).hits[0].doc_id, 'bread');
  assert.equal((await idx.search({ query: 'kitten naps', mode: 'vector', k: 1 })).hits[0].doc_id, 'cats');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('reindex never drops a document: a missing stored text is rebuilt from its chunks', async () => {
  const dir = tmpDir();
  let idx = await openIndex(dir, await realEmbedder());
  await idx.add({ text: NOTES.rust, source: 's', id: 'rust' });
  await idx.add({ text: NOTES.bread, source: 's', id: 'bread' });
  await idx.close();
  const { open } = await import('lmdb');
  const env = open({ path: path.join(dir, 'index.lmdb'), maxDbs: 8, noSubdir: false });
  await env.openDB({ name: 'texts', encoding: 'string' }).remove('rust');
  await env.close();
  idx = await openIndex(dir, await realEmbedder());
  const r = await idx.reindex();
  assert.equal(r.docs, 2);
  assert.equal((await idx.search({ query: 'borrow checker', mode: 'bm25' })).hits[0].doc_id, 'rust');
  assert.equal((await idx.search({ query: 'sourdough', mode: 'bm25' })).hits[0].doc_id, 'bread');
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
