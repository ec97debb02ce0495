/**
 * One sandboxed call of a (rewritten, compiled) WASI command module, synchronously, on the
 * current thread (a runner thread in the service). A fresh instance and a fresh WASI context per
 * call; stdin/stdout/stderr never touch a real descriptor: the WASI imports for fds 0-2 are
 * replaced by in-memory ones (arguments in, output capped at `outputBytes`, log cut to
 * `logBytes`). Preopens marked read-only refuse every write at the import boundary.
 */
import { closeSync, openSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { WASI as WasiClass } from 'node:wasi';
import { FUEL_EXPORT, OOM_EXPORT, START_EXPORT } from './wasm-rewrite.js';

export interface SandboxPreopen { guest: string; host: string; ro: boolean }

export interface SandboxSpec {
  name: string;
  module: WebAssembly.Module;
  stdin: Uint8Array;
  env: Record<string, string>;
  preopens: SandboxPreopen[];
  fuel: number;
  outputBytes: number;
  logBytes: number;
  /** Host side of `rustyclaw.http_request` (blocking); absent = no network for this tool. */
  http?: (request: Uint8Array) => Uint8Array;
  /** The cap the module was rewritten with (for the memory_limit message). */
  memoryCapBytes?: number;
  /** Tests: keep the instance's memory for inspection. */
  keepMemory?: boolean;
  /** Limits of the memory a module rewritten with `importMemory` imports (pages). */
  memoryPages?: { initial: number; maximum: number };
  /**
   * The memory to lend such a module: zeroed, exactly `memoryPages.initial` pages (a runner's pool,
   * see takeMemory/returnMemory); absent = a fresh one.
   */
  memory?: WebAssembly.Memory;
}

/** Whether the (rewritten) module imports its memory from the runner. */
export function importsMemory(module: WebAssembly.Module): boolean {
  return importsOf(module).some((i) => i.kind === 'memory');
}

const importsCache = new WeakMap<WebAssembly.Module, WebAssembly.ModuleImportDescriptor[]>();
function importsOf(module: WebAssembly.Module): WebAssembly.ModuleImportDescriptor[] {
  let list = importsCache.get(module);
  if (!list) importsCache.set(module, (list = WebAssembly.Module.imports(module)));
  return list;
}

/**
 * Memories kept between calls of one module (keyed by the caller): allocating a wasm memory costs
 * a large virtual reservation and GC pressure per call. One is only reused when it did not grow,
 * and is zeroed before it is kept, so nothing of one call is visible to the next.
 */
export class MemoryPool {
  static readonly KEEP_BYTES = 1 << 20;
  private readonly free = new Map<string, WebAssembly.Memory>();
  constructor(private readonly maxKeys = 64) {}

  take(key: string, pages: { initial: number; maximum: number }): WebAssembly.Memory {
    const m = this.free.get(key);
    if (m) {
      this.free.delete(key);
      return m;
    }
    return new WebAssembly.Memory({ initial: pages.initial, maximum: pages.maximum });
  }

  give(key: string, m: WebAssembly.Memory, pages: { initial: number }): void {
    // A memory that grew a little is kept (a module may start with more than it declared, within its
    // maximum); a large one is let go so an idle runner does not hold it.
    if (m.buffer.byteLength > Math.max(pages.initial * 65536, MemoryPool.KEEP_BYTES)) return;
    new Uint8Array(m.buffer).fill(0);
    if (this.free.size >= this.maxKeys) this.free.delete(this.free.keys().next().value!);
    this.free.set(key, m);
  }
}

export interface SandboxOutcome {
  ok: boolean;
  code?: 'fuel_exhausted' | 'memory_limit' | 'output_limit' | 'trap' | 'invalid_module' | 'invalid_output' | 'tool_failed';
  message?: string;
  output: string;
  log: string;
  exitCode?: number;
  fuelUsed: number;
  memoryPeakBytes: number;
  memory?: ArrayBuffer;
}

/** Import module of the runner's host functions. */
export const HOST_MODULE = 'rustyclaw';
const HOST_FUNCTIONS = new Set(['http_request', 'http_response']);

const ERRNO_SUCCESS = 0, ERRNO_BADF = 8, ERRNO_FAULT = 21, ERRNO_INVAL = 28, ERRNO_ROFS = 69, ERRNO_NOTCAPABLE = 76;
const O_CREAT = 1, O_TRUNC = 8;
const FDFLAG_APPEND = 1;
/** Every WASI right that modifies a file or directory. */
const WRITE_RIGHTS = [0, 3, 4, 6, 8, 9, 10, 11, 12, 16, 17, 19, 20, 22, 23, 24, 25, 26].reduce((m, b) => m | (1n << BigInt(b)), 0n);

class OutputLimit extends Error {}

let devNull = -1;
/** node:wasi prints an ExperimentalWarning on first use; the runner is the only user, keep stderr clean. */
let warningMuted = false;
let WASI: typeof WasiClass;
/** Loads node:wasi (whose import emits the warning) once the warning is muted. */
function muteWasiWarning(): void {
  if (warningMuted) return;
  warningMuted = true;
  const orig = process.emitWarning.bind(process);
  process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
    const text = typeof w === 'string' ? w : w?.message;
    if (typeof text === 'string' && text.includes('WASI')) return;
    (orig as (...a: unknown[]) => void)(w, ...rest);
  }) as typeof process.emitWarning;
  WASI = (createRequire(import.meta.url)('node:wasi') as { WASI: typeof WasiClass }).WASI;
}

/** Imports a module needs that the runner does not offer (checked before instantiation). */
export function unsupportedImports(module: WebAssembly.Module, wasiNames: Set<string>): string[] {
  const bad: string[] = [];
  for (const imp of importsOf(module)) {
    const ok = (imp.module === 'wasi_snapshot_preview1' && imp.kind === 'function' && wasiNames.has(imp.name))
      || (imp.module === HOST_MODULE && imp.kind === 'function' && HOST_FUNCTIONS.has(imp.name))
      || (imp.module === HOST_MODULE && imp.kind === 'memory' && imp.name === 'memory');
    if (!ok) bad.push(`${imp.module}.${imp.name} (${imp.kind})`);
  }
  return bad;
}

let wasiNamesCache: Set<string> | undefined;
export function wasiFunctionNames(): Set<string> {
  if (!wasiNamesCache) {
    muteWasiWarning();
    const w = new WASI({ version: 'preview1', returnOnExit: true });
    wasiNamesCache = new Set(Object.keys((w.getImportObject() as Record<string, Record<string, unknown>>).wasi_snapshot_preview1));
  }
  return wasiNamesCache;
}

export function runSandboxed(spec: SandboxSpec): SandboxOutcome {
  muteWasiWarning();
  const bad = unsupportedImports(spec.module, wasiFunctionNames());
  if (bad.length) return { ok: false, code: 'invalid_module', message: `the module imports what the runner does not offer: ${bad.slice(0, 8).join(', ')}${bad.length > 8 ? ', …' : ''}`, output: '', log: '', fuelUsed: 0, memoryPeakBytes: 0 };
  if (devNull < 0) devNull = openSync('/dev/null', 'r+');
  const preopens: Record<string, string> = {};
  for (const p of spec.preopens) preopens[p.guest] = p.host;
  const wasi = new WASI({
    version: 'preview1', args: [spec.name], env: spec.env, preopens, returnOnExit: true,
    stdin: devNull, stdout: devNull, stderr: devNull,
  });
  const base = (wasi.getImportObject() as Record<string, Record<string, (...a: any[]) => any>>).wasi_snapshot_preview1;
  let memory: WebAssembly.Memory | undefined;
  const view = () => new DataView(memory!.buffer);
  const bytes = () => new Uint8Array(memory!.buffer);

  // Read-only preopens: fds 3.. are the preopens in order; descendants inherit the flag.
  const roFds = new Map<number, boolean>();
  spec.preopens.forEach((p, i) => roFds.set(3 + i, p.ro));
  const ro = (fd: number) => roFds.get(fd) === true;

  // Confinement on top of uvwasi's (which follows a final symlink out of the preopen): every path
  // is resolved on the host, symlinks included, and must stay under its preopen's directory.
  const fdDirs = new Map<number, { root: string; dir: string }>();
  spec.preopens.forEach((p, i) => fdDirs.set(3 + i, { root: p.host, dir: p.host }));
  const inside = (p: string, root: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
  const realOf = (p: string, followLast: boolean): string => {
    let head = followLast ? p : path.dirname(p);
    const tail: string[] = followLast ? [] : [path.basename(p)];
    for (;;) {
      try {
        return path.join(realpathSync.native(head), ...tail);
      } catch {
        const up = path.dirname(head);
        if (up === head) return p;
        tail.unshift(path.basename(head));
        head = up;
      }
    }
  };
  /** 0 when the path (relative to fd) stays inside; else the errno. Sets `lastReal`. */
  let lastReal = '';
  const confine = (fd: number, ptr: number, len: number, followLast = true): number => {
    const base = fdDirs.get(fd);
    if (!base) return ERRNO_SUCCESS; // not a directory we opened: uvwasi answers (EBADF/ENOTDIR)
    const rel = new TextDecoder().decode(bytes().subarray(ptr, ptr + len));
    if (rel.includes('\0')) return ERRNO_INVAL;
    if (path.isAbsolute(rel)) return ERRNO_NOTCAPABLE;
    const joined = path.resolve(base.dir, rel);
    if (!inside(joined, base.root)) return ERRNO_NOTCAPABLE;
    lastReal = realOf(joined, followLast);
    return inside(lastReal, base.root) ? ERRNO_SUCCESS : ERRNO_NOTCAPABLE;
  };

  let stdinPos = 0;
  const out: Uint8Array[] = [];
  let outBytes = 0;
  const log: Uint8Array[] = [];
  let logBytes = 0;
  let logDropped = 0;

  const iovecs = (ptr: number, n: number): Array<[number, number]> => {
    const v = view();
    const list: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) list.push([v.getUint32(ptr + i * 8, true), v.getUint32(ptr + i * 8 + 4, true)]);
    return list;
  };

  const imports: Record<string, (...a: any[]) => any> = {
    ...base,
    fd_read(fd: number, iovs: number, n: number, nread: number) {
      if (fd !== 0) return base.fd_read(fd, iovs, n, nread);
      let total = 0;
      for (const [p, len] of iovecs(iovs, n)) {
        const take = Math.min(len, spec.stdin.length - stdinPos);
        if (take <= 0) break;
        bytes().set(spec.stdin.subarray(stdinPos, stdinPos + take), p);
        stdinPos += take;
        total += take;
      }
      view().setUint32(nread, total, true);
      return ERRNO_SUCCESS;
    },
    fd_write(fd: number, iovs: number, n: number, nwritten: number) {
      if (fd !== 1 && fd !== 2) {
        if (fd === 0) return ERRNO_BADF;
        return base.fd_write(fd, iovs, n, nwritten);
      }
      let total = 0;
      for (const [p, len] of iovecs(iovs, n)) {
        if (p + len > memory!.buffer.byteLength) return ERRNO_FAULT;
        total += len;
        if (fd === 1) {
          if (outBytes + len > spec.outputBytes) throw new OutputLimit();
          out.push(bytes().slice(p, p + len));
          outBytes += len;
        } else {
          const keep = Math.max(0, Math.min(len, spec.logBytes - logBytes));
          if (keep) log.push(bytes().slice(p, p + keep));
          logBytes += keep;
          logDropped += len - keep;
        }
      }
      view().setUint32(nwritten, total, true);
      return ERRNO_SUCCESS;
    },
    fd_close(fd: number) {
      if (fd <= 2) return ERRNO_SUCCESS;
      roFds.delete(fd);
      fdDirs.delete(fd);
      return base.fd_close(fd);
    },
    fd_renumber(from: number, to: number) {
      if (from <= 2 || to <= 2) return ERRNO_BADF;
      const r = base.fd_renumber(from, to);
      if (r === ERRNO_SUCCESS) {
        roFds.set(to, ro(from)); roFds.delete(from);
        const d = fdDirs.get(from);
        fdDirs.delete(to); fdDirs.delete(from);
        if (d) fdDirs.set(to, d);
      }
      return r;
    },
    path_open(dirfd: number, dirflags: number, p: number, l: number, oflags: number, rightsBase: bigint, rightsInh: bigint, fdflags: number, fdOut: number) {
      // uvwasi follows a final symlink even without LOOKUPFLAGS_SYMLINK_FOLLOW: always check the target.
      const c = confine(dirfd, p, l, true);
      if (c) return c;
      const real = lastReal;
      const readOnly = ro(dirfd);
      if (readOnly) {
        if (oflags & (O_CREAT | O_TRUNC) || fdflags & FDFLAG_APPEND) return ERRNO_ROFS;
        rightsBase &= ~WRITE_RIGHTS;
        rightsInh &= ~WRITE_RIGHTS;
      }
      const r = base.path_open(dirfd, dirflags, p, l, oflags, rightsBase, rightsInh, fdflags, fdOut);
      if (r === ERRNO_SUCCESS) {
        const fd = view().getUint32(fdOut, true);
        roFds.set(fd, readOnly);
        const base = fdDirs.get(dirfd);
        if (base) fdDirs.set(fd, { root: base.root, dir: real });
      }
      return r;
    },
  };
  /** fdArgs: descriptor argument positions; paths: [fd position, ptr position, follow last symlink]. */
  const guarded = (name: string, fdArgs: number[], paths: Array<[number, number, boolean]>) => {
    const orig = base[name];
    if (!orig) return;
    imports[name] = (...a: any[]) => {
      for (const [f, p, follow] of paths) {
        const c = confine(a[f], a[p], a[p + 1], follow);
        if (c) return c;
      }
      return fdArgs.some((i) => ro(a[i])) ? ERRNO_ROFS : orig(...a);
    };
  };
  const refuseOnRo = (name: string, fdArgs: number[], paths: Array<[number, number, boolean]> = []) => guarded(name, fdArgs, paths);
  guarded('path_filestat_get', [], [[0, 2, true]]);
  guarded('path_readlink', [], [[0, 1, false]]);
  // New symlinks could point anywhere for the next reader: tools may not create them.
  imports.path_symlink = () => ERRNO_NOTCAPABLE;
  refuseOnRo('path_create_directory', [0], [[0, 1, false]]);
  refuseOnRo('path_remove_directory', [0], [[0, 1, false]]);
  refuseOnRo('path_unlink_file', [0], [[0, 1, false]]);
  refuseOnRo('path_filestat_set_times', [0], [[0, 2, true]]);
  refuseOnRo('path_link', [0, 4], [[0, 2, true], [4, 5, false]]);
  refuseOnRo('path_rename', [0, 3], [[0, 1, false], [3, 4, false]]);
  refuseOnRo('fd_filestat_set_size', [0]);
  refuseOnRo('fd_filestat_set_times', [0]);
  refuseOnRo('fd_allocate', [0]);
  refuseOnRo('fd_pwrite', [0]);

  let pending: Uint8Array | undefined;
  const host = {
    http_request(ptr: number, len: number): number {
      const req = bytes().slice(ptr, ptr + len);
      pending = spec.http
        ? spec.http(req)
        : new TextEncoder().encode(JSON.stringify({ error: { code: 'network_denied', message: `tool ${spec.name} has no network access (manifest network.allow is empty)` } }));
      return pending.length;
    },
    http_response(ptr: number, cap: number): number {
      if (!pending) return -1;
      const n = Math.min(cap, pending.length);
      bytes().set(pending.subarray(0, n), ptr);
      pending = undefined;
      return n;
    },
  };

  let instance: WebAssembly.Instance | undefined;
  let exitCode: number | undefined;
  let failure: { code: SandboxOutcome['code']; message: string } | undefined;
  try {
    let lent: WebAssembly.Memory | undefined;
    if (importsMemory(spec.module)) {
      if (!spec.memoryPages) throw new WebAssembly.LinkError('the module imports its memory but the runner was given no memory limits');
      lent = spec.memory ?? new WebAssembly.Memory({ initial: spec.memoryPages.initial, maximum: spec.memoryPages.maximum });
    }
    instance = new WebAssembly.Instance(spec.module, { wasi_snapshot_preview1: imports, [HOST_MODULE]: lent ? { ...host, memory: lent } : host });
    memory = instance.exports.memory as WebAssembly.Memory;
    (instance.exports[FUEL_EXPORT] as WebAssembly.Global).value = BigInt(Math.floor(spec.fuel));
    (instance.exports[START_EXPORT] as (() => void) | undefined)?.();
    exitCode = wasi.start(instance);
  } catch (e) {
    const fuel = instance?.exports[FUEL_EXPORT] as WebAssembly.Global | undefined;
    const oom = instance?.exports[OOM_EXPORT] as WebAssembly.Global | undefined;
    if (e instanceof OutputLimit) failure = { code: 'output_limit', message: `the tool wrote more than ${spec.outputBytes} bytes to stdout (limits.output_bytes)` };
    else if (fuel && (fuel.value as bigint) <= 0n) failure = { code: 'fuel_exhausted', message: `the tool used up its fuel (${spec.fuel} units, limits.fuel)` };
    else if (oom && oom.value === 1) failure = { code: 'memory_limit', message: `the tool needed more than its memory cap${spec.memoryCapBytes ? ` of ${spec.memoryCapBytes} bytes` : ''} (limits.memory_mb): a memory.grow failed at ${memory ? memory.buffer.byteLength : 0} bytes and the module trapped (${(e as Error).message})` };
    else if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) failure = { code: 'trap', message: `the tool trapped: ${(e as Error).message}` };
    else if (e instanceof WebAssembly.LinkError || e instanceof WebAssembly.CompileError) failure = { code: 'invalid_module', message: (e as Error).message };
    else failure = { code: 'trap', message: `the tool failed: ${(e as Error)?.message ?? String(e)}` };
  }
  const fuelGlobal = instance?.exports[FUEL_EXPORT] as WebAssembly.Global | undefined;
  const remaining = fuelGlobal ? Number(fuelGlobal.value as bigint) : spec.fuel;
  const logText = new TextDecoder().decode(concat(log, logBytes)) + (logDropped ? `\n[… log cut: ${logDropped} more bytes]` : '');
  const outcome: SandboxOutcome = {
    ok: false, output: '', log: logText, fuelUsed: Math.min(spec.fuel, spec.fuel - remaining),
    memoryPeakBytes: memory ? memory.buffer.byteLength : 0,
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(spec.keepMemory && memory ? { memory: memory.buffer.slice(0) } : {}),
  };
  if (failure) return { ...outcome, ...failure };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(concat(out, outBytes));
  } catch {
    return { ...outcome, code: 'invalid_output', message: `the tool wrote ${outBytes} bytes to stdout that are not valid UTF-8` };
  }
  if (exitCode !== 0) return { ...outcome, output: text, code: 'tool_failed', message: `the tool exited with status ${exitCode}${logText ? `: ${logText.trim().slice(0, 500)}` : ''}` };
  return { ...outcome, ok: true, output: text };
}

function concat(parts: Uint8Array[], n: number): Uint8Array {
  const b = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { b.set(p, o); o += p.length; }
  return b;
}

export function closeSandboxResources(): void {
  if (devNull >= 0) { try { closeSync(devNull); } catch { /* already closed */ } devNull = -1; }
}
