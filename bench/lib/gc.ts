/**
 * A full garbage collection on demand, for benchmarks: each implementation's timed loop then starts
 * on a heap without the previous one's garbage (up to 128 MB of payloads per run), instead of paying
 * for it in whichever run comes next. `--expose-gc` set at run time, the function taken from a new
 * context (the documented V8 flag; no command-line flag needed by the bench's users).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

export function collectGarbage(): void {
  gc();
}
