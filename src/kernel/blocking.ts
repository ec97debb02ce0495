/**
 * A declared long synchronous section in a worker thread — loading a large library or table on first
 * use (gpt-tokenizer's merge tables, a native addon) — during which the liveness judge allows the
 * setup grace (`kernel.liveness.setup_grace_ms`) instead of the running deadline: such a load blocks
 * the event loop for hundreds of ms (seconds on a starved machine) and is not a hang.
 *
 * The host installs the flag setter on `globalThis` (slot 2 of the thread's shared liveness array),
 * so shared code (`src/lib`) can declare a section without importing the kernel; outside a worker
 * host it is a plain call.
 */
const KEY = Symbol.for('rustyclaw.kernel.blocking');

type Setter = (on: boolean) => void;

export function installBlockingFlag(set: Setter): void {
  (globalThis as Record<symbol, unknown>)[KEY] = set;
}

export function duringBlockingLoad<T>(fn: () => T): T {
  const set = (globalThis as Record<symbol, unknown>)[KEY] as Setter | undefined;
  set?.(true);
  try {
    return fn();
  } finally {
    set?.(false);
  }
}
