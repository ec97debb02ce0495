/** Round-trip latency and pipelined throughput of any request/reply function. */
import { percentile } from './stats.js';

export interface CallMetrics extends Record<string, number> {
  rtt_p50_us: number;
  rtt_p99_us: number;
  calls_per_s: number;
}

export async function measureCalls(call: (p: unknown) => Promise<unknown>, opts: { rtt: number; calls: number; window: number }): Promise<CallMetrics> {
  const payload = { n: 1, s: 'hello' };
  for (let i = 0; i < 3000; i++) await call(payload); // warm-up: JIT and thread scheduling settle
  const rtts: number[] = [];
  for (let i = 0; i < opts.rtt; i++) {
    const t0 = performance.now();
    await call(payload);
    rtts.push((performance.now() - t0) * 1000);
  }
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let done = 0;
    const pump = () => {
      while (sent < opts.calls && sent - done < opts.window) {
        sent++;
        call(payload).then(() => {
          done++;
          if (done === opts.calls) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  const secs = (performance.now() - t0) / 1000;
  return { rtt_p50_us: percentile(rtts, 50), rtt_p99_us: percentile(rtts, 99), calls_per_s: opts.calls / secs };
}
