/**
 * Sliding-window rate limits (a log of request times per key): a caller may make `limit` requests
 * in any `window_ms`; the refusal says when the oldest one leaves the window (Retry-After). Exact
 * at the window's edges, unlike fixed windows that allow a double burst across a boundary.
 */
export class SlidingWindow {
  private readonly logs = new Map<string, number[]>();

  constructor(private readonly windowMs: number, private readonly clock: () => number = Date.now) {}

  /** Counts the request and returns 0, or (not counted) the ms until one is allowed. */
  take(key: string, limit: number): number {
    const now = this.clock();
    let log = this.logs.get(key);
    if (!log) {
      log = [];
      this.logs.set(key, log);
      if (this.logs.size > 50_000) this.sweep(now);
    }
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < log.length && log[drop]! <= from) drop++;
    if (drop) log.splice(0, drop);
    if (log.length >= limit) return Math.max(1, log[log.length - limit]! + this.windowMs - now);
    log.push(now);
    return 0;
  }

  private sweep(now: number): void {
    for (const [k, log] of this.logs) if (!log.length || log[log.length - 1]! <= now - this.windowMs) this.logs.delete(k);
  }
}
