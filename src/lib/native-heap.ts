/**
 * Gives the native heap's free pages back to the OS (glibc `malloc_trim(0)`).
 *
 * onnxruntime allocates and frees ~100 MB per inference batch through malloc; glibc keeps what was
 * freed in its per-thread arenas, so after a burst of embedding an idle service stayed 150 MB above
 * what it uses (docs/decisions.md, "Native heap trimmed when the embedder goes idle"). Node has no
 * binding for malloc_trim; koffi (prebuilt FFI binaries in its npm package) calls it. Elsewhere
 * (musl, macOS, Windows, koffi missing) trimming is a no-op: `trimNativeHeap` returns false.
 */
import { createRequire } from 'node:module';

type Trim = (pad: number) => number;
let trim: Trim | null | undefined;

function load(): Trim | null {
  if (process.platform !== 'linux') return null;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as { load(lib: string): { func(sig: string): Trim } };
    return koffi.load('libc.so.6').func('int malloc_trim(size_t)');
  } catch {
    return null; // not glibc (no libc.so.6 with malloc_trim), or koffi not installed
  }
}

/** Whether this process can trim its native heap (Linux with glibc, koffi installed). */
export function nativeHeapTrimAvailable(): boolean {
  if (trim === undefined) trim = load();
  return trim !== null;
}

/** Trims every malloc arena of the process; true if memory could be returned (glibc only). */
export function trimNativeHeap(): boolean {
  if (trim === undefined) trim = load();
  if (!trim) return false;
  try {
    return trim(0) === 1;
  } catch {
    trim = null;
    return false;
  }
}
