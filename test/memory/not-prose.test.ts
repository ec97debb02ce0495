/**
 * Non-prose chunks (base64, hex, minified code, lock-file hashes) stay out of the vector index:
 * BM25 only, counted in the add's reply and in stats, said by the CLI — through the running
 * service, across a clean restart and a kill -9. In-process: the classifier on families of text,
 * and a store of nothing but non-prose (no embedder needed, no graph file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cli, openIndex, startService, stopService, tmpDir, writeServiceConfig } from './helpers.js';
import { base64Blob, hexBlob, lockFile, minifiedJs } from './hostile-fixtures.js';
import { classifyChunk } from '../../actors/memory/prose.js';
import { analyze } from '../../actors/memory/analyzer.js';

const PROSE = [
  'The lighthouse keeper logs every passing ship in a leather-bound book, noting the weather, the hour and the flag it flies.',
  'In 1,234 patients (mean age 65.2 ± 8.1 years), HbA1c decreased by 0.5% (95% CI 0.3–0.7; P<0.001) after twelve weeks of treatment with metformin.',
  'Les enfants jouent dans le jardin pendant que leurs parents préparent le déjeuner sous les arbres.',
  '春の朝、川沿いの道を歩くと、桜の花びらが風に舞い、子どもたちの笑い声が遠くから聞こえてくる。',
  'function mergeSorted(left, right) {\n  const out = [];\n  while (left.length && right.length) out.push(left[0] <= right[0] ? left.shift() : right.shift());\n  return out.concat(left, right);\n}',
  'Install the package, then call `createServer({ port: 0 })` and read the assigned port from the returned address; see the OAuthClientProvider docs.',
];

test('the classifier keeps prose (several languages, numbers, code) and rejects blobs of every family', () => {
  for (const p of PROSE) assert.ok(classifyChunk(p).prose, `classified as not prose: ${p} ${JSON.stringify(classifyChunk(p))}`);
  const blobs = {
    base64: base64Blob(900),
    'base64 one line': base64Blob(900, true),
    hex: hexBlob(600, false),
    minified: minifiedJs(1200),
    'lock file': lockFile(6).split('\n').slice(3).join('\n'),
  };
  for (const [name, text] of Object.entries(blobs)) assert.equal(classifyChunk(text).prose, false, `${name} classified as prose: ${JSON.stringify(classifyChunk(text))}`);
  // Too little to judge: short texts are prose (a heading, a name).
  assert.ok(classifyChunk('# a3f9').prose);
});

test('a store of nothing but non-prose needs no embedder, snapshots without a graph and reopens from it', async () => {
  const dir = tmpDir();
  const lock = lockFile(300);
  let idx = await openIndex(dir, null, { chunkTokens: 200, overlapTokens: 32 });
  const r = await idx.add({ text: lock, source: 'file', id: 'lock' });
  assert.ok(r.chunks > 0 && r.not_prose === r.chunks, JSON.stringify(r));
  assert.equal(idx.stats().not_prose, r.chunks);
  await idx.close();
  assert.ok(!fs.existsSync(path.join(dir, 'hnsw.bin')));
  idx = await openIndex(dir, null, { chunkTokens: 200, overlapTokens: 32 });
  assert.equal(idx.loadedFrom, 'snapshot');
  assert.equal(idx.stats().not_prose, r.chunks);
  const hits = await idx.search({ query: 'lockfileVersion', mode: 'bm25', k: 3 });
  assert.equal(hits.hits[0]?.doc_id, 'lock');
  const doctor = await idx.doctor(false);
  assert.ok(doctor.ok, JSON.stringify(doctor.problems));
  await idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('non-prose files through the running service: fast adds, BM25-only, counted, said, kept across restarts', async () => {
  const base = tmpDir('rc-mem-np-');
  const ws = path.join(base, 'ws');
  const elsewhere = path.join(base, 'elsewhere');
  fs.mkdirSync(ws, { recursive: true });
  fs.mkdirSync(elsewhere);
  // The case: a 1.4 MB one-line base64 file (it took 655 s when embedded like prose).
  const b64 = base64Blob(1_050_000, true);
  const files: Record<string, string> = {
    'blob.b64': b64,
    'dump.hex': hexBlob(200_000, false),
    'bundle.min.js': minifiedJs(2 * 1024 * 1024),
    'package-lock.json': lockFile(2000),
    'garden.md': '# Garden\n\nTomatoes need full sun and deep watering twice a week; mulch keeps the roots cool in July.\n',
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(ws, name), text);
  // A long maintenance interval: the kill -9 below lands before any snapshot of the last add.
  const cfg = writeServiceConfig(base, `  roots: [${ws}]\n  maintenance_interval_ms: 600000`);
  let svc = await startService(cfg, elsewhere);
  try {
    const c = (args: string[]) => cli(elsewhere, ['--config', cfg, ...args]);
    const times: Record<string, number> = {};
    let notProse = 0;
    for (const name of ['blob.b64', 'dump.hex', 'bundle.min.js', 'package-lock.json']) {
      const r = await c(['memory', 'add', `../ws/${name}`, '--json']);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      times[name] = Math.round(r.ms);
      const reply = JSON.parse(r.stdout);
      const doc = reply.docs[0];
      assert.equal(reply.added, 1, r.stdout);
      // (Nearly) all of it is kept out of the vector index, and the reply says how much.
      assert.ok(doc.not_prose > 0 && doc.not_prose >= 0.9 * doc.chunks, `${name}: ${r.stdout}`);
      notProse += doc.not_prose;
      // "A few seconds" on a quiet machine; generous here because the machine is shared.
      assert.ok(r.ms < 120_000, `${name} took ${r.ms} ms`);
    }
    process.stdout.write(`# add times (ms, CLI wall time, shared machine): ${JSON.stringify(times)}\n`);
    // The CLI says so in words.
    const prose = await c(['memory', 'add', '../ws/garden.md']);
    assert.equal(prose.code, 0, prose.stderr);
    assert.doesNotMatch(prose.stdout, /not prose/);
    fs.writeFileSync(path.join(ws, 'blob2.b64'), base64Blob(50_000, true));
    const said = await c(['memory', 'add', '../ws/blob2.b64']);
    assert.equal(said.code, 0, said.stderr);
    const m = /(\d+) chunks kept out of the vector index: not prose/.exec(said.stdout);
    assert.ok(m && Number(m[1]) > 0, said.stdout);
    notProse += Number(m![1]);

    const stats = async () => {
      const s = await c(['memory', 'stats', '--json']);
      assert.equal(s.code, 0, s.stderr);
      return JSON.parse(s.stdout);
    };
    const s1 = await stats();
    assert.equal(s1.not_prose, notProse, JSON.stringify(s1));
    const human = await c(['memory', 'stats']);
    assert.match(human.stdout, new RegExp(`kept out of the vector index\\s.*${notProse} chunks: not prose`));

    // An entirely non-prose document is still found by keywords: a term of the base64 line.
    const term = analyze(b64.slice(500_000, 501_000)).find((t) => t.length >= 8)!;
    const check = async () => {
      const bm = await c(['memory', 'search', term, '--mode', 'bm25', '--json']);
      assert.equal(bm.code, 0, bm.stderr);
      assert.ok(JSON.parse(bm.stdout).hits.some((h: { location: { path: string } }) => h.location.path?.endsWith('blob.b64')), `${term}: ${bm.stdout.slice(0, 500)}`);
      const hy = await c(['memory', 'search', 'npmjs', 'registry', '--json']);
      assert.equal(hy.code, 0, hy.stderr);
      assert.ok(JSON.parse(hy.stdout).hits.some((h: { location: { path: string } }) => h.location.path?.endsWith('package-lock.json')), hy.stdout.slice(0, 500));
      // Vector search finds prose only: no blob chunk is in the vector index.
      const vec = await c(['memory', 'search', 'watering', 'tomatoes', '--mode', 'vector', '-k', '5', '--json']);
      assert.equal(vec.code, 0, vec.stderr);
      const vh = JSON.parse(vec.stdout).hits as Array<{ location: { path: string } }>;
      assert.ok(vh[0]?.location.path.endsWith('garden.md'), vec.stdout.slice(0, 500));
      assert.ok(vh.every((h) => /garden\.md|bundle\.min\.js|package-lock\.json/.test(h.location.path)), JSON.stringify(vh.map((h) => h.location.path)));
    };
    await check();

    // A clean restart loads the snapshot; a kill -9 after another add rebuilds from lmdb.
    await stopService(svc.child, 'SIGTERM');
    svc = await startService(cfg, elsewhere);
    const s2 = await stats();
    assert.equal(s2.not_prose, notProse);
    assert.equal(s2.loaded_from, 'snapshot');
    await check();
    fs.writeFileSync(path.join(ws, 'blob3.hex'), hexBlob(20_000, false));
    const late = JSON.parse((await c(['memory', 'add', '../ws/blob3.hex', '--json'])).stdout);
    notProse += late.docs[0].not_prose;
    await stopService(svc.child, 'SIGKILL');
    svc = await startService(cfg, elsewhere);
    const t0 = Date.now();
    let s3 = await stats();
    while (s3.degraded && Date.now() - t0 < 300_000) {
      await new Promise((r) => setTimeout(r, 500));
      s3 = await stats();
    }
    assert.equal(s3.loaded_from, 'rebuild');
    assert.equal(s3.not_prose, notProse);
    assert.equal(s3.docs, 7);
    assert.doesNotMatch(svc.out(), /chunk missing in lmdb/);
    await check();
    // No chunk or vector row is reported missing (the snapshot is stale until the next maintenance).
    const doctor = JSON.parse((await c(['memory', 'doctor', '--json'])).stdout);
    assert.deepEqual(doctor.problems.filter((p: { code: string }) => p.code !== 'stale_snapshot'), [], JSON.stringify(doctor));
  } finally {
    await stopService(svc.child, 'SIGTERM');
    fs.rmSync(base, { recursive: true, force: true });
  }
});
