/** Manifests (schema, errors naming the field), BLAKE3 pinning of module and manifest, the registry, the filesystem sandbox. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { service, SHIPPED, tmp, wat, writeTool, writerWat } from './helpers.js';

const { svc, data } = await service();
after(() => svc.close());
const dir = tmp();

test('shipped tools are listed with their hashes and limits', async () => {
  const names = (await svc.list()).map((t) => t.name).sort();
  for (const n of ['files', 'grep', 'http_fetch', 'json']) assert.ok(names.includes(n), names.join(','));
});

test('malformed manifests: errors name the field (and line)', async () => {
  const bad = path.join(dir, 'bad');
  mkdirSync(bad, { recursive: true });
  const cases: Array<[string, RegExp]> = [
    ['name: Bad Name\ndescription: x\nmodule: x.wasm\nblake3: "' + '0'.repeat(64) + '"\n', /line 1: name: Expected string to match/],
    ['name: ok\ndescription: x\nmodule: x.wasm\nblake3: "' + '0'.repeat(64) + '"\nlimits:\n  fuel: 5\n  memroy_mb: 3\n', /line 7: limits\.memroy_mb: unknown field \(allowed here: fuel, memory_mb, timeout_ms, output_bytes\)/],
    ['name: ok\ndescription: x\nmodule: x.wasm\nblake3: nothex\n', /blake3/],
    ['name: ok\ndescription: x\nmodule: x.wasm\nblake3: "' + '0'.repeat(64) + '"\nsurprise: 1\n', /surprise: unknown field/],
    ['name: ok\ndescription: x\nmodule: x.wasm\nblake3: "' + '0'.repeat(64) + '"\npreopens: [{guest: /w, host: /etc}]\n', /preopens\.0\.host: must be 'workspace'/],
    ['name: ok\ndescription: x\nmodule: x.wasm\nblake3: "' + '0'.repeat(64) + '"\nsecrets: [{name: T, host: a.com, header: X}]\n', /secrets\.0\.host: 'a\.com' is not in network\.allow/],
    ['{name: [unclosed', /not valid YAML/],
    ['- a list', /must be a mapping/],
  ];
  for (const [i, [text, re]] of cases.entries()) {
    const f = path.join(bad, `m${i}.yaml`);
    writeFileSync(f, text);
    const r = await svc.run({ manifest: f, args: {} });
    assert.equal(r.code, 'invalid_manifest', `${text}: ${JSON.stringify(r)}`);
    assert.match(r.message!, re);
    assert.ok(r.message!.includes(f), 'names the file');
  }
});

test('a manifest whose hash is wrong refuses to load, naming the file and both hashes', async () => {
  const manifest = await writeTool(dir, 'wronghash', await wat(writerWat('hi')));
  const text = readFileSync(manifest, 'utf8').replace(/blake3: \w+/, `blake3: ${'ab'.repeat(32)}`);
  writeFileSync(manifest, text);
  const r = await svc.run({ manifest, args: {} });
  assert.equal(r.code, 'hash_mismatch');
  assert.match(r.message!, /wronghash\.wasm: BLAKE3 of the module is [0-9a-f]{64}, the manifest .*tool\.yaml pins (ab){32}/);
});

test('tool add copies and pins; a tampered module or manifest is refused afterwards; verify says why', async () => {
  const manifest = await writeTool(dir, 'pinned', await wat(writerWat('pinned output')));
  const added = await svc.add(manifest);
  assert.equal(added.tool.name, 'pinned');
  assert.equal((await svc.run({ name: 'pinned', args: {} })).output, 'pinned output');
  const copy = path.join(svc.dir, 'pinned');
  // Tamper with the registered module: one byte appended (a custom section would still be valid wasm).
  const wasmFile = path.join(copy, 'pinned.wasm');
  const orig = readFileSync(wasmFile);
  appendFileSync(wasmFile, Buffer.from([0, 2, 1, 0x61]));
  const r = await svc.run({ name: 'pinned', args: {} });
  assert.equal(r.code, 'hash_mismatch');
  const v = await svc.verify({ name: 'pinned' });
  assert.equal(v.ok, false);
  assert.notEqual(v.module_blake3, v.expected_blake3);
  writeFileSync(wasmFile, orig);
  assert.equal((await svc.verify({ name: 'pinned' })).ok, true);
  // Widen the manifest's grants after registration: the pin catches it.
  const yamlFile = path.join(copy, 'tool.yaml');
  writeFileSync(yamlFile, readFileSync(yamlFile, 'utf8').replace('description: fixture pinned', 'description: fixture pinned, now with more'));
  const m = await svc.run({ name: 'pinned', args: {} });
  assert.equal(m.code, 'hash_mismatch');
  assert.match(m.message!, /manifest changed since it was registered/);
  // Registering again (the user's decision) re-pins.
  await svc.add(path.join(copy, 'tool.yaml'));
  assert.equal((await svc.run({ name: 'pinned', args: {} })).ok, true);
  assert.equal(await svc.remove('pinned'), true);
  assert.equal((await svc.run({ name: 'pinned', args: {} })).code, 'unknown_tool');
});

test('arguments are checked against parameters before the module runs', async () => {
  const r = await svc.run({ name: 'grep', args: { pattern: 5 } });
  assert.equal(r.code, 'invalid_arguments');
  assert.match(r.message!, /pattern/);
  assert.equal(r.fuel_used, undefined, 'the module never ran');
  const extra = await svc.run({ name: 'json', args: { input: 1, path: '.', evil: true } });
  assert.equal(extra.code, 'invalid_arguments');
  const notObj = await svc.run({ name: 'json', args: [1, 2] });
  assert.equal(notObj.code, 'invalid_arguments');
});

test('shipped json tool: jq-like paths', async () => {
  const q = async (input: unknown, p: string, raw = false) => (await svc.run({ name: 'json', args: { input, path: p, raw } }));
  assert.equal((await q({ a: { b: [1, 2, { c: 'x' }] } }, '.a.b[2].c')).output, '"x"\n');
  assert.equal((await q('{"items":[{"name":"a"},{"name":"b"}]}', '.items[].name', true)).output, 'a\nb\n');
  assert.equal((await q({ k: 1, j: 2 }, '. | keys')).output, '["j","k"]\n');
  assert.equal((await q([1, 2, 3], '[-1]')).output, '3\n');
  assert.equal((await q({ 'a b': 'q"u\nx' }, '."a b"')).output, '"q\\"u\\nx"\n');
  const bad = await q('{"a": [1, 2', '.a');
  assert.equal(bad.code, 'tool_failed');
  assert.match(bad.log!, /invalid JSON at offset/);
});

test('filesystem sandbox: .., absolute paths and symlinks out are refused; read-only preopens refuse writes', async () => {
  const ws = path.join(data, 'workspaces', 'default');
  mkdirSync(path.join(ws, 'notes'), { recursive: true });
  writeFileSync(path.join(ws, 'notes', 'a.md'), 'hello world\nanother Hello\n');
  const outside = path.join(tmp(), 'secret.txt');
  writeFileSync(outside, 'OUTSIDE-SECRET');
  symlinkSync(outside, path.join(ws, 'link-file'));
  symlinkSync(path.dirname(outside), path.join(ws, 'link-dir'));
  const files = (args: Record<string, unknown>, name = 'files') => svc.run({ name, args });
  assert.equal((await files({ op: 'read', path: 'notes/a.md' })).output, 'hello world\nanother Hello\n');
  for (const p of ['../../../../etc/passwd', '/etc/passwd', outside, 'link-file', 'link-dir/secret.txt', 'notes/../../x']) {
    const r = await files({ op: 'read', path: p });
    assert.equal(r.ok, false, p);
    assert.ok(!r.output.includes('OUTSIDE-SECRET') && !r.output.includes('root:'), p);
    assert.match(r.message!, /notcapable|noent/, `${p}: ${r.message}`);
  }
  const grep = await svc.run({ name: 'grep', args: { pattern: 'SECRET' } });
  assert.equal(grep.ok, true);
  assert.match(grep.output, /no matches/);
  const w = await files({ op: 'write', path: 'new.txt', content: 'x' });
  assert.equal(w.ok, false);
  assert.match(w.message!, /read-only/);
  // The same module with a rw preopen may write: the refusal above is the manifest's doing.
  const rwDir = path.join(dir, 'files_rw');
  mkdirSync(rwDir, { recursive: true });
  cpSync(path.join(SHIPPED, 'files', 'files.wasm'), path.join(rwDir, 'files.wasm'));
  const rwManifest = readFileSync(path.join(SHIPPED, 'files', 'tool.yaml'), 'utf8').replace('name: files', 'name: files_rw').replace('mode: ro', 'mode: rw');
  writeFileSync(path.join(rwDir, 'tool.yaml'), rwManifest);
  const ok = await svc.run({ manifest: path.join(rwDir, 'tool.yaml'), args: { op: 'write', path: 'new.txt', content: 'written' } });
  assert.equal(ok.ok, true, JSON.stringify(ok));
  assert.equal(readFileSync(path.join(ws, 'new.txt'), 'utf8'), 'written');
  const esc = await svc.run({ manifest: path.join(rwDir, 'tool.yaml'), args: { op: 'write', path: 'link-dir/planted.txt', content: 'x' } });
  assert.equal(esc.ok, false);
});

test('a module calling path_open on its own: absolute and .. paths, and symlink creation, are refused', async () => {
  const ws = path.join(data, 'workspaces', 'default');
  mkdirSync(ws, { recursive: true });
  // Writes the errno of path_open(3, <path>) as one byte.
  const probe = (p: string) => `(module
    (import "wasi_snapshot_preview1" "path_open" (func $po (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_symlink" (func $sl (param i32 i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $fw (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 100) "${p}") (data (i32.const 400) "/etc") (data (i32.const 420) "ln")
    (func (export "_start")
      (i32.store8 (i32.const 300) (call $po (i32.const 3) (i32.const 1) (i32.const 100) (i32.const ${p.length}) (i32.const 0) (i64.const 2) (i64.const 2) (i32.const 0) (i32.const 200)))
      (i32.store8 (i32.const 301) (call $sl (i32.const 400) (i32.const 4) (i32.const 3) (i32.const 420) (i32.const 2)))
      (i32.store (i32.const 0) (i32.const 300)) (i32.store (i32.const 4) (i32.const 2))
      (drop (call $fw (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
  const pre = { preopens: [{ guest: '/workspace', host: 'workspace', mode: 'rw' }] };
  for (const p of ['/etc/passwd', '../../etc/passwd']) {
    const r = await svc.run({ manifest: await writeTool(dir, 'probe', await wat(probe(p)), pre), args: {} });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.output.charCodeAt(0), 76, `${p}: errno ${r.output.charCodeAt(0)} (76 = notcapable)`);
    assert.equal(r.output.charCodeAt(1), 76, 'symlink creation refused');
  }
});
