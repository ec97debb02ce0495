/** Small statistics helpers for benchmarks: percentiles and medians of repeated runs. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export const median = (values: number[]): number => percentile(values, 50);

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Run `fn` `runs` times and return the median of each metric. */
export async function medianOf<T extends Record<string, number>>(runs: number, fn: () => Promise<T>): Promise<T> {
  const all: T[] = [];
  for (let i = 0; i < runs; i++) all.push(await fn());
  const out: Record<string, number> = {};
  for (const k of Object.keys(all[0])) out[k] = median(all.map((r) => r[k]));
  return out as T;
}
