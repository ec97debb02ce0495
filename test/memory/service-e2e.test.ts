/**
 * Black box: the real service as a child process, driven by the CLI from another working
 * directory. Adds a workspace holding every hostile fixture (the 10 MB single line included),
 * refuses paths outside the roots and symlinks out of them, adds a stdin text larger than the
 * endpoint's frame limit, searches, reports stats, runs the doctor, deletes — then kill -9, and the
 * restarted service must reach ready on that store and answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cli, startService, tmpDir, writeServiceConfig } from './helpers.js';
import { hostileFixtures, writeFixtures, longToken } from './hostile-fixtures.js';

test('memory through the running service: hostile files, confined paths, big stdin, doctor, kill -9 and restart', async () => {
  const base = tmpDir('rc-mem-svc-');
  const ws = path.join(base, 'ws');
  const elsewhere = path.join(base, 'elsewhere');
  fs.mkdirSync(path.join(ws, 'notes'), { recursive: true });
  fs.mkdirSync(elsewhere);
  fs.writeFileSync(path.join(ws, 'notes', 'garden.md'), '# Garden\n\nTomatoes need full sun and deep watering twice a week.\n');
  fs.writeFileSync(path.join(ws, 'notes', 'server.md'), '# Server runbook\n\nIf the disk fills up, rotate the logs and restart nginx.\n');
  // Small copies of every fixture (embedding time) plus the full 10 MB single line and 70 KB token.
  writeFixtures(path.join(ws, 'hostile'), 0.03);
  for (const f of hostileFixtures(1).filter((x) => /single-line-10mb|long-token/.test(x.name))) fs.writeFileSync(path.join(ws, 'hostile', f.name), f.text);
  fs.symlinkSync('/etc/hostname', path.join(ws, 'escape.txt'));
  const cfg = writeServiceConfig(base, `  roots: [${ws}]\n  maintenance_interval_ms: 500\n  workspace:\n    include: [.md, .txt, .js, .json]`);
  let svc = await startService(cfg, elsewhere);
  try {
    const c = (args: string[], stdin?: string) => cli(elsewhere, ['--config', cfg, ...args], stdin);

    const add = await c(['memory', 'add', '../ws', '--json']);
    assert.equal(add.code, 0, add.stderr);
    // Progress lines (stderr is a pipe here) never show a made-up ETA.
    assert.ok(!/ETA -/.test(add.stderr), add.stderr);
    const r = JSON.parse(add.stdout);
    assert.ok(r.added >= 6, add.stdout);
    const err = (name: string) => r.errors.find((e: { path: string }) => path.basename(e.path) === name);
    const summary = JSON.stringify({ errors: r.errors.map((e: { path: string; code: string }) => [path.basename(e.path), e.code]), docs: r.docs.map((d: { doc_id: string; chunks: number }) => [path.basename(d.doc_id), d.chunks]) });
    assert.equal(err('single-line-10mb.txt')?.code, 'no_indexable_text', summary);
    // A 70 KB token is cut at the 64 KB segment boundary: a tail of ≤ 64 letters may stay as one
    // ordinary token (one chunk); everything else of it is skipped.
    const lt = r.docs.find((d: { doc_id: string }) => d.doc_id.endsWith('long-token.txt'));
    assert.ok(err('long-token.txt')?.code === 'no_indexable_text' || (lt && lt.chunks <= 2 && lt.skipped_chunks > 100), summary);
    assert.ok(r.docs.some((d: { skipped_tokens?: number }) => (d.skipped_tokens ?? 0) > 0), 'skipped tokens are counted');

    const outside = await c(['memory', 'add', '/etc/passwd']);
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /path_outside_roots|outside the folders memory may read/);
    assert.ok(outside.stderr.includes(ws), outside.stderr);
    const link = await c(['memory', 'add', '../ws/escape.txt']);
    assert.notEqual(link.code, 0);
    assert.match(link.stderr, /resolves to \/etc\/hostname/);
    const missing = await c(['memory', 'add', '../ws/nope.md']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nope\.md/);

    // Larger than the endpoint's 1 MiB frame: sent in parts. Mostly a blob (no embedding cost) plus prose.
    const big = `${longToken(1_300_000)}\n\nThe lighthouse keeper logs every passing ship in a leather book.\n`;
    const stdinAdd = await c(['memory', 'add', '-', '--id', 'big-stdin', '--json'], big);
    assert.equal(stdinAdd.code, 0, stdinAdd.stderr);
    assert.equal(JSON.parse(stdinAdd.stdout).added, 1);

    const search = await c(['memory', 'search', 'tomatoes', 'sun']);
    assert.equal(search.code, 0, search.stderr);
    assert.match(search.stdout, /garden\.md/);
    const lighthouse = await c(['memory', 'search', 'lighthouse', 'keeper', '--mode', 'bm25', '--json']);
    assert.equal(JSON.parse(lighthouse.stdout).hits[0].doc_id, 'big-stdin');

    const stats = JSON.parse((await c(['memory', 'stats', '--json'])).stdout);
    assert.ok(stats.docs >= 7);
    assert.deepEqual(stats.quarantined, []);

    const doctor = await c(['memory', 'doctor', '--repair', '--json']);
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.equal(JSON.parse(doctor.stdout).ok, true);

    const del = await c(['memory', 'delete', '--path', '../ws/notes']);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /deleted 2 documents/);

    // kill -9 right after writes: the snapshot may be stale; the restart must still reach ready.
    await c(['memory', 'add', '../ws/notes']);
    svc.child.kill('SIGKILL');
    await new Promise((r) => svc.child.once('exit', r));
    svc = await startService(cfg, elsewhere);
    const after = JSON.parse((await c(['memory', 'stats', '--json'])).stdout);
    assert.equal(after.docs, stats.docs);
    const again = await c(['memory', 'search', 'tomatoes', '--mode', 'bm25']);
    assert.match(again.stdout, /garden\.md/);
    const check = await c(['memory', 'doctor', '--json']);
    assert.ok(!JSON.parse(check.stdout).problems.some((p: { code: string }) => p.code !== 'stale_snapshot'), check.stdout);
    const stop = await cli(elsewhere, ['--config', cfg, 'stop']);
    assert.equal(stop.code, 0, stop.stderr);
  } finally {
    if (svc.child.exitCode === null) svc.child.kill('SIGKILL');
    fs.rmSync(base, { recursive: true, force: true });
  }
});
