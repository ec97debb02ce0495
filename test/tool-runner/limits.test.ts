/** Each limit has its own code: fuel, memory (exact to the page), output, trap, timeout; bad modules. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { PRE, service, tmp, wat, writeTool, writerWat } from './helpers.js';
import { rewriteModule } from '../../actors/tool-runner/wasm-rewrite.js';

const { svc } = await service({ pool_size: 1 });
after(() => svc.close());
const dir = tmp();

async function run(name: string, src: string | Uint8Array, extra: Record<string, unknown> = {}, args: unknown = {}) {
  const bytes = typeof src === 'string' ? await wat(src) : src;
  const manifest = await writeTool(dir, name, bytes, extra);
  return svc.run({ manifest, args });
}

test('an endless loop runs out of fuel (fuel_exhausted, not trap) and the pool keeps serving', async () => {
  const r = await run('spin', `(module ${PRE()} (func (export "_start") (loop $l (br $l))))`, { limits: { fuel: 2_000_000 } });
  assert.equal(r.ok, false);
  assert.equal(r.code, 'fuel_exhausted', JSON.stringify(r));
  assert.equal(r.fuel_used, 2_000_000);
  const ok = await run('hello', writerWat('hello'));
  assert.equal(ok.ok, true, JSON.stringify(ok));
  assert.equal(ok.output, 'hello');
});

test('endless recursion without loops is metered at function entries', async () => {
  const r = await run('recurse', `(module ${PRE()} (func $f (call $f)) (func (export "_start") (call $f)))`, { limits: { fuel: 1000 } });
  assert.equal(r.code, 'fuel_exhausted', JSON.stringify(r));
});

test('a start function runs under the same fuel', async () => {
  const r = await run('startloop', `(module ${PRE()} (func $s (loop $l (br $l))) (start $s) (func (export "_start")))`, { limits: { fuel: 10_000 } });
  assert.equal(r.code, 'fuel_exhausted', JSON.stringify(r));
});

test('a memory bomb stops at the cap, exact to the page, reported as memory_limit', async () => {
  // Grows one page at a time and traps when a grow fails (what allocators do).
  const bomb = `(module ${PRE()} (func (export "_start")
    (loop $l (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable)) (br $l))))`;
  const r = await run('bomb', bomb, { limits: { memory_mb: 2 } });
  assert.equal(r.code, 'memory_limit', JSON.stringify(r));
  assert.equal(r.memory_peak_bytes, 2 * 1024 * 1024);
  // A module that checks grow's result itself sees -1 at exactly the cap and goes on.
  const polite = `(module ${PRE()}
    (data (i32.const 64) "capped")
    (func (export "_start")
      (block $full (loop $l (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l)))
      (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 6))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
  const p = await run('polite', polite, { limits: { memory_mb: 1.5 } });
  assert.equal(p.ok, true, JSON.stringify(p));
  assert.equal(p.output, 'capped');
  assert.equal(p.memory_peak_bytes, 24 * 65536);
});

test('a module declaring more initial memory than the cap is refused before it runs', async () => {
  const r = await run('fat', `(module ${PRE(200)} (func (export "_start")))`, { limits: { memory_mb: 1 } });
  assert.equal(r.code, 'memory_limit');
  assert.match(r.message!, /200 pages/);
});

test('the declared maximum of a module is kept when it is below the cap', () => {
  // (memory 1 3): cap 160 pages → max stays 3
  return wat(`(module ${PRE(1, 3)} (func (export "_start")))`).then((b) => {
    const out = rewriteModule(b, { fuel: 10, maxPages: 160 });
    assert.equal(out.maxPages, 3);
  });
});

test('huge output stops at output_bytes (output_limit)', async () => {
  const r = await run('flood', writerWat('x'.repeat(4096), 1_000_000), { limits: { output_bytes: 100_000 } });
  assert.equal(r.code, 'output_limit', JSON.stringify(r).slice(0, 300));
  assert.equal(r.output, '');
});

test('a trap is reported with its message', async () => {
  const r = await run('div0', `(module ${PRE()} (func (export "_start") (drop (i32.div_s (i32.const 1) (i32.const 0)))))`);
  assert.equal(r.code, 'trap');
  assert.match(r.message!, /divi/i);
  const u = await run('unreach', `(module ${PRE()} (func (export "_start") unreachable))`);
  assert.equal(u.code, 'trap');
  assert.match(u.message!, /unreachable/);
});

test('garbage (invalid UTF-8) on stdout is invalid_output', async () => {
  const r = await run('garbage', writerWat('\xff\xfe\xc3\x28 binary'));
  assert.equal(r.code, 'invalid_output', JSON.stringify(r));
});

test('stderr is the log, cut to log_bytes', async () => {
  const src = `(module ${PRE()} (data (i32.const 64) "${'L'.repeat(1000)}")
    (func (export "_start") (local $i i32)
      (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 1000))
      (loop $l (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))))`;
  const r = await run('chatty', src);
  assert.equal(r.ok, true);
  assert.ok(r.log!.startsWith('L'.repeat(4096)));
  assert.match(r.log!, /log cut: 5904 more bytes/);
});

test('bad modules: not WASM, not a WASI command, unknown imports, imported memory', async () => {
  const notWasm = await run('notwasm', new TextEncoder().encode('#!/bin/sh\necho hi\n'));
  assert.equal(notWasm.code, 'invalid_module');
  assert.match(notWasm.message!, /not a WebAssembly module/);
  const noStart = await run('nostart', `(module ${PRE()} (func (export "main")))`);
  assert.equal(noStart.code, 'invalid_module');
  assert.match(noStart.message!, /_start/);
  const spawn = await run('spawner', `(module (import "env" "system" (func (param i32) (result i32))) ${PRE()} (func (export "_start")))`);
  assert.equal(spawn.code, 'invalid_module');
  assert.match(spawn.message!, /env\.system/);
  const badWasi = await run('badwasi', `(module (import "wasi_snapshot_preview1" "sock_open" (func (param i32) (result i32))) ${PRE()} (func (export "_start")))`);
  assert.equal(badWasi.code, 'invalid_module');
  const mem = await run('impmem', `(module (import "env" "memory" (memory 1)) (func (export "_start")) (export "memory" (memory 0)))`);
  assert.equal(mem.code, 'invalid_module');
  assert.match(mem.message!, /imports a memory/);
  const truncated = await run('trunc', (await wat(`(module ${PRE()} (func (export "_start")))`)).subarray(0, 30));
  assert.equal(truncated.code, 'invalid_module');
});

test('a runner at its time limit is replaced; the call fails with timeout; the next call works', async () => {
  // Plenty of fuel: only the wall clock can stop it.
  const r = await run('slow', `(module ${PRE()} (func (export "_start") (loop $l (br $l))))`, { limits: { fuel: 1e15, timeout_ms: 300 } });
  assert.equal(r.code, 'timeout', JSON.stringify(r));
  const t0 = Date.now();
  while (svc.pool.lastReplacementMs === undefined && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 10));
  assert.ok(svc.pool.lastReplacementMs !== undefined);
  assert.equal(svc.pool.info()[0].replaced >= 1, true);
  const ok = await run('hello2', writerWat('after'));
  assert.equal(ok.output, 'after');
});

test('fuel metering keeps results identical (a compute loop gives the same answer)', async () => {
  // Sum 0..99999 mod 2^32 printed as 4 raw bytes → compare with the JS value.
  const src = `(module ${PRE()} (func (export "_start") (local $i i32) (local $s i32)
    (loop $l (local.set $s (i32.add (local.get $s) (local.get $i))) (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))
    (i32.store (i32.const 100) (i32.and (local.get $s) (i32.const 0x7f7f7f7f)))
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 4))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
  const r = await run('sum', src);
  let s = 0;
  for (let i = 0; i < 100000; i++) s = (s + i) | 0;
  const expect = Buffer.alloc(4);
  expect.writeInt32LE(s & 0x7f7f7f7f);
  assert.equal(r.output, expect.toString('latin1'));
  assert.ok(r.fuel_used! >= 100000 && r.fuel_used! <= 100010, String(r.fuel_used));
});

test('calls beyond the pool wait in line; a timeout in front of them does not lose them', async () => {
  const spin = await writeTool(dir, 'spin2', await wat(`(module ${PRE()} (func (export "_start") (loop $l (br $l))))`), { limits: { fuel: 1e15, timeout_ms: 300 } });
  const hello = await writeTool(dir, 'hello3', await wat(writerWat('queued')));
  const calls = [svc.run({ manifest: spin, args: {} }), ...Array.from({ length: 5 }, () => svc.run({ manifest: hello, args: {} }))];
  const out = await Promise.all(calls);
  assert.equal(out[0].code, 'timeout');
  for (const r of out.slice(1)) assert.equal(r.output, 'queued', JSON.stringify(r));
});

test('hostile arguments: a huge argument object and one endless token reach the tool intact or fail cleanly', async () => {
  const r = await svc.run({ name: 'json', args: { input: { k: 'x'.repeat(1_000_000) }, path: '.k | length' } });
  assert.equal(r.ok, true, JSON.stringify(r).slice(0, 300));
  assert.equal(r.output, '1000000\n');
  // 3 MB does not fit the json tool's 16 MiB (UTF-16 strings and copies): a clean memory_limit.
  const huge = await svc.run({ name: 'json', args: { input: { k: 'x'.repeat(3_000_000) }, path: '.k | length' } });
  assert.equal(huge.code, 'memory_limit');
  assert.match(huge.message!, /cap of 16777216 bytes/);
  const deep = '['.repeat(100_000);
  const d = await svc.run({ name: 'json', args: { input: deep, path: '.' } });
  assert.equal(d.ok, false);
  assert.match(d.log ?? d.message ?? '', /nested too deeply|invalid JSON/);
});

test('a call never sees the memory of the call before it (runners reuse zeroed memories)', async () => {
  // Reports whether byte 1000 is already set, then sets it (and grows memory when asked to).
  const snoop = (grow: boolean) => `(module ${PRE()}
    (data (i32.const 64) "cleandirty")
    (func (export "_start")
      ${grow ? '(drop (memory.grow (i32.const 3)))' : ''}
      (i32.store (i32.const 0) (select (i32.const 69) (i32.const 64) (i32.load8_u (i32.const 1000))))
      (i32.store (i32.const 4) (i32.const 5))
      (i32.store8 (i32.const 1000) (i32.const 171))
      ${grow ? '(i32.store (i32.const 200000) (i32.const 171))' : ''}
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
  const bytes = await wat(snoop(false));
  const manifest = await writeTool(dir, 'snoop', bytes);
  for (let i = 0; i < 3; i++) {
    const r = await svc.run({ manifest, args: {} });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.output, 'clean', `call ${i}`);
  }
  // A call that grew its memory: its memory is not kept; the next call still starts clean.
  const grower = await writeTool(dir, 'snoopgrow', await wat(snoop(true).replace('(memory (export "memory") 1)', '(memory (export "memory") 2)')));
  for (const m of [grower, grower, manifest]) {
    const r = await svc.run({ manifest: m, args: {} });
    assert.equal(r.output, 'clean', JSON.stringify(r));
  }
});
