/**
 * The embedded store: one lmdb environment in `<data_dir>/lmdb`, opened by every thread that needs it
 * (lmdb is safe across threads and processes), one named database per actor path.
 *
 * lmdb commits are atomic and copy-on-write, so a crash in the middle of a write leaves the previous
 * committed state intact. `batch` uses a synchronous transaction because an async `transaction()`
 * whose callback throws does not roll back (see REFERENCE.md).
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
    async batch(ops) {
      db.transactionSync(() => {
        for (const op of ops) {
          if (op.remove) db.removeSync(op.key);
          else db.putSync(op.key, op.value);
        }
      });
    },
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
