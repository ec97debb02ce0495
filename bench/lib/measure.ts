/**
 * Round-trip latency and pipelined throughput of any request/reply function.
 *
 * Every call sends a fresh payload, built before the timed loop: structured clone serialises an
 * object once per postMessage however often it is referenced, so re-sending one object flatters any
 * implementation that batches (256 references to one 64 KB object cost 66 KB, 256 distinct ones 16.7 MB).
 */
import { percentile } from './stats.js';
import { collectGarbage } from './gc.js';

export interface CallMetrics extends Record<string, number> {
  rtt_p50_us: number;
  rtt_p99_us: number;
  calls_per_s: number;
  /**
   * CPU time of this whole process (every thread: callers, workers, V8's GC helpers) per pipelined
   * call. Unlike calls_per_s it does not depend on how the OS placed the threads on a busy machine;
   * it counts only threads of this process (servers in child processes are not in it).
   */
  cpu_us_per_call: number;
}

export type PayloadSize = 'small' | '4k' | '64k';
export const PAYLOAD_BYTES: Record<PayloadSize, number> = { small: 0, '4k': 4096, '64k': 65536 };

export function payloadSize(v: string | undefined): PayloadSize {
  const s = (v ?? 'small') as PayloadSize;
  if (!(s in PAYLOAD_BYTES)) throw new Error(`--set payload: expected small, 4k or 64k, got '${v}'`);
  return s;
}

/** One distinct payload: a small object, or an object carrying a string of the given size. */
export function makePayload(size: PayloadSize, i: number): unknown {
  const bytes = PAYLOAD_BYTES[size];
  if (bytes === 0) return { n: i, s: 'hello' };
  return { n: i, s: String(i).padEnd(bytes, 'x') };
}

/** `n` distinct payloads, kept under ~128 MB: large payloads get fewer calls. */
export function payloads(size: PayloadSize, n: number): unknown[] {
  const bytes = Math.max(64, PAYLOAD_BYTES[size]);
  const count = Math.max(500, Math.min(n, Math.floor((128 << 20) / bytes)));
  return Array.from({ length: count }, (_, i) => makePayload(size, i));
}

export async function measureCalls(
  call: (p: unknown) => Promise<unknown>,
  opts: { rtt: number; calls: number; window: number; payload?: PayloadSize },
): Promise<CallMetrics> {
  const size = opts.payload ?? 'small';
  const warm = payloads(size, 3000);
  for (const p of warm) await call(p); // warm-up: JIT and thread scheduling settle
  const seq = payloads(size, opts.rtt);
  collectGarbage();
  const rtts: number[] = [];
  for (const p of seq) {
    const t0 = performance.now();
    await call(p);
    rtts.push((performance.now() - t0) * 1000);
  }
  const batch = payloads(size, opts.calls);
  const calls = batch.length;
  collectGarbage(); // the timed loop does not pay for garbage left by an earlier run
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let done = 0;
    const pump = () => {
      while (sent < calls && sent - done < opts.window) {
        call(batch[sent++]).then(() => {
          done++;
          if (done === calls) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rtt_p50_us: percentile(rtts, 50), rtt_p99_us: percentile(rtts, 99), calls_per_s: calls / secs, cpu_us_per_call: (cpu.user + cpu.system) / calls };
}
