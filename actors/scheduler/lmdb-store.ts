/**
 * An `ActorStore` over a plain lmdb environment, for running the scheduler's modules outside the
 * kernel (unit tests, the bench, restart-recovery tests that reopen the same directory).
 * Same contract as the kernel's store: durable when the promise resolves, `batch` all-or-none.
 */
import { open, type RootDatabase } from 'lmdb';
import type { ActorStore } from '../../src/kernel/actor.js';

export interface ClosableStore extends ActorStore {
  close(): Promise<void>;
}

export function openLmdbStore(dir: string): ClosableStore {
  const db: RootDatabase<any, string> = open<any, string>({ path: dir, compression: false });
  return {
    get: <T>(key: string) => db.get(key) as T | undefined,
    put: (key, value) => db.put(key, value),
    remove: (key) => db.remove(key),
    async batch(ops) {
      await db.batch(() => {
        for (const op of ops) {
          if (op.remove) void db.remove(op.key);
          else void db.put(op.key, op.value);
        }
      });
    },
    *entries<T>(opts: { prefix?: string; limit?: number } = {}) {
      const p = opts.prefix ?? '';
      const range = db.getRange(p ? { start: p, end: p + '\uffff', limit: opts.limit } : { limit: opts.limit });
      for (const { key, value } of range) yield { key: String(key), value: value as T };
    },
    close: () => db.close(),
  };
}
