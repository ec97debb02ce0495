import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readTextFile, decodeText } from '../../actors/memory/file-reader.js';
import { indexPath } from '../../actors/memory/workspace-indexer.js';
import { closeEmbedders, openIndex, realEmbedder, tmpDir } from './helpers.js';
import { after } from 'node:test';

after(closeEmbedders);

const MAX = 10 * 1024 * 1024;

test('a 100 MB file is refused from its size, naming the file and the limit', () => {
  const dir = tmpDir();
  const big = path.join(dir, 'huge.log');
  const fd = fs.openSync(big, 'w');
  fs.ftruncateSync(fd, 100 * 1024 * 1024); // sparse: costs no disk
  fs.closeSync(fd);
  assert.throws(() => readTextFile(big, MAX), (e: any) => e.code === 'input_too_large' && e.message.includes(big) && e.message.includes('max_file_bytes'));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('empty, binary and non-UTF-8 files get their own codes; UTF-16 with a BOM is read', () => {
  assert.throws(() => decodeText(Buffer.alloc(0), 'a.txt', MAX), (e: any) => e.code === 'empty_input' && /a\.txt/.test(e.message));
  assert.throws(() => decodeText(Buffer.from(' \n\t '), 'w.txt', MAX), (e: any) => e.code === 'empty_input');
  assert.throws(() => decodeText(Buffer.from([1, 2, 0, 3]), 'b.bin', MAX), (e: any) => e.code === 'binary_input' && /b\.bin/.test(e.message));
  assert.throws(() => decodeText(Buffer.from('caf\xe9', 'latin1'), 'l.txt', MAX), (e: any) => e.code === 'unsupported_encoding' && /UTF-8/.test(e.message));
  const ctrl = Buffer.from('abc\x01\x02\x03\x04\x05\x06\x07'.repeat(20));
  assert.throws(() => decodeText(ctrl, 'c.txt', MAX), (e: any) => e.code === 'binary_input');
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('héllo wörld', 'utf16le')]);
  assert.equal(decodeText(le, 'u.txt', MAX), 'héllo wörld');
  assert.equal(decodeText(Buffer.from('\ufeffbom text'), 'bom.txt', MAX), 'bom text');
});

test('folder indexing: bad files are reported, good ones indexed, the index stays usable and nothing stored is lost', async () => {
  const ws = tmpDir('rc-ws-');
  const data = tmpDir();
  fs.writeFileSync(path.join(ws, 'good.md'), '# Title\n\nThe quarterly report is due on the first Monday of April.\n');
  fs.writeFileSync(path.join(ws, 'empty.md'), '');
  fs.writeFileSync(path.join(ws, 'bin.txt'), Buffer.from([0, 1, 2, 3]));
  fs.writeFileSync(path.join(ws, 'skip.png'), Buffer.from([0x89, 0x50]));
  const idx = await openIndex(data, await realEmbedder());
  const opts = { include: ['.md', '.txt'], exclude: ['node_modules'], maxFileBytes: MAX };
  const r = await indexPath(idx, ws, opts);
  assert.equal(r.added, 1);
  assert.deepEqual(r.errors.map((e) => [path.basename(e.path), e.code]).sort(), [
    ['bin.txt', 'binary_input'],
    ['empty.md', 'empty_input'],
  ]);
  // The good file later becomes unreadable (binary): the stored version is kept, not deleted.
  fs.writeFileSync(path.join(ws, 'good.md'), Buffer.from([0, 0, 0]));
  const r2 = await indexPath(idx, ws, opts);
  assert.equal(r2.deleted, 0);
  assert.ok(r2.errors.some((e) => path.basename(e.path) === 'good.md'));
  const hits = await idx.search({ query: 'quarterly report', mode: 'bm25' });
  assert.equal(path.basename(hits.hits[0].location.path!), 'good.md');
  // Removing the file removes it from the index.
  fs.rmSync(path.join(ws, 'good.md'));
  const r3 = await indexPath(idx, ws, opts);
  assert.equal(r3.deleted, 1);
  assert.equal(idx.stats().docs, 0);
  await idx.close();
  fs.rmSync(ws, { recursive: true, force: true });
  fs.rmSync(data, { recursive: true, force: true });
});
