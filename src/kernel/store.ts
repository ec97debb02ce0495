/**
 * The embedded store: one lmdb environment in `<data_dir>/lmdb`, opened by every thread that needs it
 * (lmdb is safe across threads and processes), one named database per actor path.
 *
 * lmdb commits are atomic and copy-on-write, so a crash in the middle of a write leaves the previous
 * committed state intact. `batch` is lmdb's async batch (see the comment there for why not a
 * synchronous transaction).
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RootDatabase, Database } from 'lmdb';

// lmdb is loaded on first use: it costs ~28 ms and several MB per thread, and most actors never
// open the store.
const require = createRequire(import.meta.url);
let lmdbOpen: typeof import('lmdb').open | null = null;
import type { ActorStore } from './actor.js';

let root: RootDatabase | null = null;
let rootPath = '';

export function openEnv(dataDir: string): RootDatabase {
  const p = path.join(dataDir, 'lmdb');
  if (root && rootPath === p) return root;
  mkdirSync(p, { recursive: true });
  lmdbOpen ??= (require('lmdb') as typeof import('lmdb')).open;
  root = lmdbOpen({ path: p, maxDbs: 512, compression: false });
  rootPath = p;
  return root;
}

export async function closeEnv(): Promise<void> {
  const r = root;
  root = null;
  rootPath = '';
  if (r) await r.close();
}

export function actorStore(dataDir: string, name: string): ActorStore {
  const db: Database<any, string> = openEnv(dataDir).openDB({ name, encoding: 'msgpack' });
  return {
    get: (key) => db.get(key),
    put: (key, value) => db.put(key, value),
    remove: (key) => db.remove(key),
    batch(ops) {
      // lmdb-js's async batch: the operations are queued here and committed as one transaction by
      // lmdb's own write thread. A synchronous transaction would hold the environment's write lock in
      // this thread, and an actor thread terminated inside it (crash, stuck, memory limit) would leave
      // every writer in the process blocked forever. The callback only enqueues, so it cannot throw
      // half-way (an async transaction does not roll back on a throw).
      return db.batch(() => {
        for (const op of ops) {
          if (op.remove) void db.remove(op.key);
          else void db.put(op.key, op.value);
        }
      }).then(() => undefined);
    },
    flushed: () => Promise.resolve(db.flushed).then(() => undefined),
    *entries<T>(opts: { prefix?: string; limit?: number } = {}) {
      const range: { start?: string; end?: string; limit?: number } = {};
      if (opts.prefix !== undefined) {
        range.start = opts.prefix;
        range.end = opts.prefix + '\uffff';
      }
      if (opts.limit !== undefined) range.limit = opts.limit;
      for (const { key, value } of db.getRange(range)) yield { key, value: value as T };
    },
  };
}
