/**
 * Long synchronous loops (index rebuilds, compaction) must let the thread breathe: the kernel
 * declares an actor stuck when its thread misses liveness pings (2 s by default).
 */
export function yielder(sliceMs = 50): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        last = performance.now();
        resolve();
      }),
    );
  };
}
