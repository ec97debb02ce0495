/**
 * The main thread's logger until pino is needed. Importing pino costs ~20 ms of CPU (29 CommonJS
 * modules); the boot does not need it, and on a small device that CPU is better left to the
 * booting threads. pino loads on `load()` (startSystem calls it once the tree is ready), on the
 * first warning or error (written promptly), or on a flush. Calls made meanwhile are kept, in
 * order, and replayed on pino (same arguments: formatted, serialized and redacted as any other);
 * later calls go straight to it.
 */
import type { Logger } from 'pino';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type Level = keyof typeof LEVELS;

export type DeferredLogger = Logger & { load(): Promise<void> };

export function deferredLogger(level: string, file?: string): DeferredLogger {
  let real: Logger | null = null;
  const queue: Array<() => void> = [];
  let loading: Promise<void> | null = null;
  const load = () =>
    (loading ??= import('./log.js').then(
      ({ createLogger }) => {
        real = createLogger(level, file);
        for (const call of queue.splice(0)) call();
      },
      (err: Error) => {
        process.stderr.write(`rustyclaw: cannot load the logger (pino): ${err.message}\n`);
      },
    ));
  const threshold = (LEVELS as Record<string, number>)[level] ?? (level === 'silent' ? Infinity : 30);

  /** `resolve()` gives the pino logger this facade stands for (the root, or a child of its parent's). */
  const make = (resolve: () => Logger, bindings: Record<string, unknown>): Logger => {
    let target: Logger | null = null;
    const get = () => (target ??= resolve());
    const method = (l: Level) =>
      (...args: unknown[]) => {
        if (LEVELS[l] < threshold) return;
        const call = () => (get()[l] as (...a: unknown[]) => void)(...args);
        if (real) return call();
        queue.push(call);
        if (LEVELS[l] >= LEVELS.warn) void load();
      };
    const facade = {
      level,
      trace: method('trace'),
      debug: method('debug'),
      info: method('info'),
      warn: method('warn'),
      error: method('error'),
      fatal: method('fatal'),
      silent: () => {},
      child: (more: Record<string, unknown>) => make(() => get().child(more), { ...bindings, ...more }),
      isLevelEnabled: (l: string) => ((LEVELS as Record<string, number>)[l] ?? 0) >= threshold,
      bindings: () => ({ ...bindings }),
      // Waits for pino, then for its buffered writes (retrying while a file destination still opens).
      flush: (cb?: (err?: Error) => void) => {
        const attempt = (n: number) => {
          if (!real) return cb?.();
          try {
            real.flush(cb);
          } catch (err) {
            if (n >= 200 || !/not ready/.test((err as Error).message)) cb?.(err as Error);
            else setTimeout(() => attempt(n + 1), 5);
          }
        };
        void load().then(() => attempt(0));
      },
    };
    return facade as unknown as Logger;
  };
  return Object.assign(make(() => real!, {}), { load });
}
