/**
 * Load-time rewriting of a tool module's binary (no library does this cheaply: binaryen has no gas
 * pass and `wasm-metering` costs ~12×, see docs/decisions.md):
 *
 *  - **fuel**: a new mutable i64 global (exported as `__rc_fuel`) is decremented at every function
 *    entry and loop head; below zero the module executes `unreachable`. The host reads the global
 *    after a trap, so running out of fuel is never mistaken for another trap.
 *  - **memory cap**: the memory section's maximum becomes min(declared, cap) pages, so
 *    `memory.grow` past it returns -1. Every `memory.grow` is routed through an appended helper
 *    function that raises a second exported global (`__rc_oom`) when a grow fails; a trap after
 *    that is reported as `memory_limit`.
 *
 * Appending (a type, a function, globals, exports) never shifts an existing index, so the rest of
 * the module is copied byte for byte; only function bodies are re-encoded.
 */

export class WasmRewriteError extends Error {
  constructor(readonly code: 'invalid_module' | 'memory_limit', message: string) {
    super(message);
    this.name = 'WasmRewriteError';
  }
}

export const FUEL_EXPORT = '__rc_fuel';
export const OOM_EXPORT = '__rc_oom';
/** A start section becomes this export, called by the runner once the fuel is set (a trap in a start section would leave no instance to read the fuel from). */
export const START_EXPORT = '__rc_start';
export const PAGE_BYTES = 65536;
/** Where a rewritten module with `importMemory` expects its memory. */
export const MEMORY_IMPORT = { module: 'rustyclaw', name: 'memory' } as const;

export interface RewriteOptions {
  /** Initial fuel (also covers a start function, which runs during instantiation). */
  fuel: number;
  /** Memory cap in 64 KiB pages. */
  maxPages: number;
  /** false: leave out the fuel charges (the bench's baseline for the metering overhead). */
  meter?: boolean;
  /**
   * The module's memory becomes an import (`rustyclaw.memory`, same limits), so a runner can hand
   * each call a zeroed memory it keeps instead of allocating (and later collecting) a fresh one.
   */
  importMemory?: boolean;
}

export interface RewriteResult {
  bytes: Uint8Array;
  /** Pages the module's memory starts with. */
  initialPages: number;
  maxPages: number;
}

class Reader {
  pos: number;
  constructor(readonly b: Uint8Array, pos = 0, readonly end = b.length) {
    this.pos = pos;
  }
  fail(what: string): never {
    throw new WasmRewriteError('invalid_module', `malformed module at byte ${this.pos}: ${what}`);
  }
  byte(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.b[this.pos++];
  }
  u32(): number {
    let result = 0, shift = 0, byte: number;
    do {
      byte = this.byte();
      if (shift > 28 && (byte & 0x70) !== 0) this.fail('LEB128 too long');
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  }
  /** Skip a signed LEB128 (any width). */
  sleb(): void {
    let n = 0;
    while (this.byte() & 0x80) if (++n > 10) this.fail('LEB128 too long');
  }
  skip(n: number): void {
    if (this.pos + n > this.end) this.fail('unexpected end');
    this.pos += n;
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function sleb64(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function str(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
}

interface Section { id: number; start: number; end: number }

/** Value type: one byte, or a reference type with a heap type (function references). */
function skipValType(r: Reader): void {
  const t = r.byte();
  if (t === 0x63 || t === 0x64) r.sleb();
}

function skipBlockType(r: Reader): void {
  const t = r.b[r.pos];
  if (t === 0x40 || (t >= 0x6f && t <= 0x7f)) r.pos++;
  else if (t === 0x63 || t === 0x64) { r.pos++; r.sleb(); }
  else r.sleb();
}

function skipMemarg(r: Reader): void {
  const align = r.u32();
  if (align & 0x40) r.u32();
  r.u32();
}

const SIMD_LANE = new Set([21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34]);

/**
 * Re-encode one function body's instructions, inserting `charge` after every loop head and
 * replacing `memory.grow 0` by `call growFn`.
 */
function rewriteBody(r: Reader, out: number[], charge: number[], growCall: number[]): void {
  let start = r.pos;
  const flush = (to: number) => { for (let i = start; i < to; i++) out.push(r.b[i]); start = to; };
  while (r.pos < r.end) {
    const op = r.byte();
    switch (op) {
      case 0x03: // loop bt: charge once per iteration (the loop's branch target is its head)
        skipBlockType(r);
        flush(r.pos);
        out.push(...charge);
        break;
      case 0x02: case 0x04: case 0x06:
        skipBlockType(r); break;
      case 0x07: case 0x08: case 0x09: case 0x18:
      case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x14: case 0x15:
      case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26:
      case 0xd2: case 0xd5: case 0xd6:
        r.u32(); break;
      case 0x0e: { const n = r.u32(); for (let i = 0; i <= n; i++) r.u32(); break; }
      case 0x11: case 0x13: r.u32(); r.u32(); break;
      case 0x1c: { const n = r.u32(); for (let i = 0; i < n; i++) skipValType(r); break; }
      case 0x3f: r.u32(); break;
      case 0x40: {
        const at = r.pos - 1;
        const mem = r.u32();
        if (mem !== 0) r.fail('multiple memories are not supported');
        flush(at);
        out.push(...growCall);
        start = r.pos;
        break;
      }
      case 0x41: case 0x42: r.sleb(); break;
      case 0x43: r.skip(4); break;
      case 0x44: r.skip(8); break;
      case 0xd0: { const t = r.b[r.pos]; if (t >= 0x69 && t <= 0x74) r.pos++; else r.sleb(); break; }
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) break;
        if (sub === 8 || sub === 10 || sub === 12 || sub === 14) { r.u32(); r.u32(); }
        else if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) r.u32();
        else r.fail(`unknown instruction 0xfc ${sub}`);
        break;
      }
      case 0xfd: {
        const sub = r.u32();
        if (sub <= 11 || sub === 92 || sub === 93) skipMemarg(r);
        else if (sub === 12 || sub === 13) r.skip(16);
        else if (SIMD_LANE.has(sub)) r.skip(1);
        else if (sub >= 84 && sub <= 91) { skipMemarg(r); r.skip(1); }
        break;
      }
      case 0xfe: {
        const sub = r.u32();
        if (sub === 3) r.skip(1);
        else skipMemarg(r);
        break;
      }
      case 0xfb: case 0x1f:
        r.fail(`instruction 0x${op.toString(16)} (GC / exception-table proposals) is not supported`);
        break;
      default:
        if ((op >= 0x00 && op <= 0x01) || op === 0x05 || op === 0x0a || op === 0x0b || op === 0x0f || op === 0x19 || op === 0x1a || op === 0x1b
          || (op >= 0x45 && op <= 0xc4) || op === 0xd1 || op === 0xd3 || op === 0xd4) break;
        if (op >= 0x28 && op <= 0x3e) { skipMemarg(r); break; }
        r.fail(`unknown instruction 0x${op.toString(16)}`);
    }
  }
  flush(r.pos);
}

const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

/** Rewrite `bytes` (a WebAssembly binary) for metering and the memory cap. */
export function rewriteModule(bytes: Uint8Array, opts: RewriteOptions): RewriteResult {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmRewriteError('invalid_module', 'not a WebAssembly module (no \\0asm magic)');
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) throw new WasmRewriteError('invalid_module', 'unsupported WebAssembly version (a component?); a core module is required');
  const r = new Reader(bytes, 8);
  const sections: Section[] = [];
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    sections.push({ id, start, end: r.pos });
  }
  const get = (id: number) => sections.find((s) => s.id === id);

  // Types: count them, check they are plain function types.
  let typeCount = 0;
  const typeSec = get(1);
  if (typeSec) {
    const t = new Reader(bytes, typeSec.start, typeSec.end);
    typeCount = t.u32();
    for (let i = 0; i < typeCount; i++) {
      if (t.byte() !== 0x60) t.fail('only function types are supported (GC type groups are not)');
      for (let k = 0; k < 2; k++) { const n = t.u32(); for (let j = 0; j < n; j++) skipValType(t); }
    }
  }
  // Imports: imported functions and globals come first in their index spaces.
  let importedFuncs = 0, importedGlobals = 0;
  const impSec = get(2);
  if (impSec) {
    const t = new Reader(bytes, impSec.start, impSec.end);
    const n = t.u32();
    for (let i = 0; i < n; i++) {
      const ml = t.u32(); const mod = new TextDecoder().decode(bytes.subarray(t.pos, t.pos + ml)); t.skip(ml);
      const nl = t.u32(); const name = new TextDecoder().decode(bytes.subarray(t.pos, t.pos + nl)); t.skip(nl);
      const kind = t.byte();
      if (kind === 0) { t.u32(); importedFuncs++; }
      else if (kind === 1) { t.byte(); const f = t.byte(); t.u32(); if (f & 1) t.u32(); }
      else if (kind === 2) throw new WasmRewriteError('invalid_module', `the module imports a memory (${mod}.${name}); the runner offers none: define and export "memory"`);
      else if (kind === 3) { skipValType(t); t.byte(); importedGlobals++; }
      else if (kind === 4) { t.byte(); t.u32(); }
      else t.fail(`unknown import kind ${kind}`);
    }
  }
  let definedFuncs = 0;
  const funcSec = get(3);
  if (funcSec) definedFuncs = new Reader(bytes, funcSec.start, funcSec.end).u32();

  // Memory: exactly one, capped.
  const memSec = get(5);
  if (!memSec) throw new WasmRewriteError('invalid_module', 'the module defines no memory (a WASI command must export "memory")');
  const m = new Reader(bytes, memSec.start, memSec.end);
  if (m.u32() !== 1) throw new WasmRewriteError('invalid_module', 'multiple memories are not supported');
  const flags = m.byte();
  if (flags & ~1) throw new WasmRewriteError('invalid_module', flags & 2 ? 'shared memories are not supported' : 'memory64 is not supported');
  const initialPages = m.u32();
  const declaredMax = flags & 1 ? m.u32() : Infinity;
  const maxPages = Math.min(declaredMax, opts.maxPages);
  if (initialPages > maxPages) {
    throw new WasmRewriteError('memory_limit', `the module starts with ${initialPages} pages (${(initialPages * PAGE_BYTES / 1048576).toFixed(2)} MiB), more than the cap of ${maxPages} pages`);
  }
  const newMem = [1, 1, ...uleb(initialPages), ...uleb(maxPages)];

  // Globals: append fuel (i64) and the failed-grow flag (i32).
  const globSec = get(6);
  let definedGlobals = 0;
  if (globSec) definedGlobals = new Reader(bytes, globSec.start, globSec.end).u32();
  const fuelIdx = importedGlobals + definedGlobals;
  const oomIdx = fuelIdx + 1;
  const newGlobals = [0x7e, 1, 0x42, ...sleb64(BigInt(Math.floor(opts.fuel))), 0x0b, 0x7f, 1, 0x41, 0, 0x0b];

  const growType = typeCount;
  const growFn = importedFuncs + definedFuncs;

  // Exports: must include _start and memory; add the two globals.
  const expSec = get(7);
  const names = new Set<string>();
  if (expSec) {
    const t = new Reader(bytes, expSec.start, expSec.end);
    const exportCount = t.u32();
    for (let i = 0; i < exportCount; i++) {
      const nl = t.u32(); names.add(new TextDecoder().decode(bytes.subarray(t.pos, t.pos + nl))); t.skip(nl);
      t.byte(); t.u32();
    }
  }
  if (!names.has('_start')) throw new WasmRewriteError('invalid_module', 'not a WASI command: the module exports no "_start" function');
  if (!names.has('memory')) throw new WasmRewriteError('invalid_module', 'the module does not export its memory as "memory"');
  if (names.has(FUEL_EXPORT) || names.has(OOM_EXPORT) || names.has(START_EXPORT)) throw new WasmRewriteError('invalid_module', `export names ${FUEL_EXPORT} / ${OOM_EXPORT} / ${START_EXPORT} are reserved for the runner`);
  const newExports = [...str(FUEL_EXPORT), 0x03, ...uleb(fuelIdx), ...str(OOM_EXPORT), 0x03, ...uleb(oomIdx)];
  const startSec = get(8);
  let extraExports = 2;
  if (startSec) {
    newExports.push(...str(START_EXPORT), 0x00, ...uleb(new Reader(bytes, startSec.start, startSec.end).u32()));
    extraExports++;
  }

  // Code: charge at entry and loop heads; memory.grow through the helper.
  const charge = opts.meter === false ? [] : [0x23, ...uleb(fuelIdx), 0x42, 1, 0x7d, 0x24, ...uleb(fuelIdx), 0x23, ...uleb(fuelIdx), 0x50, 0x04, 0x40, 0x00, 0x0b];
  const growCall = [0x10, ...uleb(growFn)];
  const codeSec = get(10);
  const code: number[] = [];
  let bodies = 0;
  if (codeSec) {
    const t = new Reader(bytes, codeSec.start, codeSec.end);
    bodies = t.u32();
    if (bodies !== definedFuncs) t.fail('function and code section counts differ');
    for (let i = 0; i < bodies; i++) {
      const size = t.u32();
      const bodyEnd = t.pos + size;
      const br = new Reader(bytes, t.pos, bodyEnd);
      const nLocals = br.u32();
      for (let j = 0; j < nLocals; j++) { br.u32(); skipValType(br); }
      const body: number[] = [];
      for (let k = t.pos; k < br.pos; k++) body.push(bytes[k]);
      body.push(...charge);
      rewriteBody(br, body, charge, growCall);
      code.push(...uleb(body.length), ...body);
      t.pos = bodyEnd;
    }
  }
  // helper (param $delta i32) (result i32) (local $r i32):
  //   local.get 0; memory.grow 0; local.tee 1; i32.const -1; i32.eq; if; i32.const 1; global.set oom; end; local.get 1
  const helper = [1, 1, 0x7f, 0x20, 0, 0x40, 0, 0x22, 1, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x41, 1, 0x24, ...uleb(oomIdx), 0x0b, 0x20, 1, 0x0b];
  code.push(...uleb(helper.length), ...helper);

  const replaced = new Map<number, number[]>();
  const withCount = (s: Section | undefined, extra: number, tail: number[]) => {
    if (!s) return [...uleb(extra), ...tail];
    const t = new Reader(bytes, s.start, s.end);
    const n = t.u32();
    return [...uleb(n + extra), ...Array.from(bytes.subarray(t.pos, s.end)), ...tail];
  };
  replaced.set(1, withCount(typeSec, 1, [0x60, 1, 0x7f, 1, 0x7f]));
  replaced.set(3, withCount(funcSec, 1, uleb(growType)));
  // Memory index 0 either way: imported memories precede defined ones in the index space.
  if (opts.importMemory) replaced.set(2, withCount(impSec, 1, [...str(MEMORY_IMPORT.module), ...str(MEMORY_IMPORT.name), 0x02, ...newMem.slice(1)]));
  else replaced.set(5, newMem);
  replaced.set(6, withCount(globSec, 2, newGlobals));
  replaced.set(7, withCount(expSec, extraExports, newExports));
  replaced.set(10, [...uleb(bodies + 1), ...code]);

  // Emit: known sections in canonical order (creating missing ones), custom sections kept in place.
  const out: number[] = Array.from(bytes.subarray(0, 8));
  const emitted = new Set<number>();
  const emit = (id: number, content: number[]) => { out.push(id, ...uleb(content.length)); for (const b of content) out.push(b); emitted.add(id); };
  const emitMissingBefore = (id: number) => {
    const rank = SECTION_ORDER.indexOf(id);
    for (const want of SECTION_ORDER.slice(0, rank < 0 ? 0 : rank)) {
      if (!emitted.has(want) && replaced.has(want) && !get(want)) emit(want, replaced.get(want)!);
    }
  };
  for (const s of sections) {
    if (s.id === 8) continue; // became START_EXPORT
    if (s.id === 5 && opts.importMemory) continue; // became an import
    if (s.id !== 0) emitMissingBefore(s.id);
    if (replaced.has(s.id)) emit(s.id, replaced.get(s.id)!);
    else {
      out.push(s.id, ...uleb(s.end - s.start));
      for (let i = s.start; i < s.end; i++) out.push(bytes[i]);
      if (s.id !== 0) emitted.add(s.id);
    }
  }
  for (const id of SECTION_ORDER) if (!emitted.has(id) && replaced.has(id)) emit(id, replaced.get(id)!);
  return { bytes: Uint8Array.from(out), initialPages, maxPages };
}
