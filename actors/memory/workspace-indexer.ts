/**
 * Indexes a file or a folder tree. Files are read, refused with a clear reason when they can't be
 * text (see file-reader.ts), and added in batches; the index skips files whose content hash is
 * unchanged (files whose mtime is unchanged are not even read). Files that vanished from an indexed folder are deleted from the index.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readTextFile } from './file-reader.js';
import type { AddProgress, AddRequest, AddResult, MemoryIndex } from './memory-index.js';

export interface IndexPathOptions {
  include: string[];
  exclude: string[];
  maxFileBytes: number;
  agent?: string;
  source?: string;
  /** Files per addBatch call. */
  batchFiles?: number;
  /** Read and hash every file even when its mtime is unchanged. */
  rehash?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Chunk-level progress of the documents being added (analysis, then embedding). */
  onChunks?: (p: AddProgress) => void;
  /** Throws for a file that must not be read (see path-guard.ts); called with its stats. */
  verify?: (file: string, st: fs.Stats) => void;
}

export interface IndexPathResult {
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  chunks: number;
  docs: AddResult[];
  errors: Array<{ path: string; code: string; message: string }>;
}

export function listFiles(root: string, include: string[], exclude: string[]): string[] {
  const inc = new Set(include.map((e) => e.toLowerCase()));
  const exc = new Set(exclude);
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (exc.has(e.name)) continue;
      const p = path.join(dir, e.name);
      // Symlinks are not followed (loops, escaping the folder).
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (inc.size === 0 || inc.has(path.extname(e.name).toLowerCase()))) out.push(p);
    }
  };
  walk(root);
  return out;
}

export async function indexPath(index: MemoryIndex, target: string, opts: IndexPathOptions): Promise<IndexPathResult> {
  const abs = path.resolve(target);
  const res: IndexPathResult = { added: 0, updated: 0, unchanged: 0, deleted: 0, chunks: 0, docs: [], errors: [] };
  const tally = (r: AddResult) => {
    res.docs.push(r);
    res[r.status]++;
    if (r.status !== 'unchanged') res.chunks += r.chunks;
  };
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw Object.assign(new Error(`${abs} does not exist`), { code: 'file_not_found' });
  }
  if (!st.isDirectory()) {
    opts.verify?.(abs, st);
    const text = readTextFile(abs, opts.maxFileBytes);
    tally(await index.add(request(abs, text, st.mtimeMs, opts), opts.onChunks));
    return res;
  }
  const files = listFiles(abs, opts.include, opts.exclude);
  const batchFiles = opts.batchFiles ?? 32;
  let done = 0;
  opts.onProgress?.(0, files.length);
  for (let i = 0; i < files.length; i += batchFiles) {
    const reqs: AddRequest[] = [];
    for (const f of files.slice(i, i + batchFiles)) {
      try {
        const fst = fs.statSync(f);
        opts.verify?.(f, fst);
        const mtime = Math.round(fst.mtimeMs);
        // Same mtime as when indexed: skip without reading (a rescan of a big tree stays cheap);
        // otherwise the content hash decides whether anything changed.
        const known = index.hasDoc(`file:${f}`);
        if (known && known.time === mtime && !opts.rehash) {
          tally({ doc_id: known.id, status: 'unchanged', chunks: known.labels.length });
          continue;
        }
        reqs.push(request(f, readTextFile(f, opts.maxFileBytes), mtime, opts));
      } catch (e) {
        res.errors.push({ path: f, code: (e as { code?: string }).code ?? 'read_failed', message: (e as Error).message });
      }
    }
    try {
      for (const r of await index.addBatch(reqs, opts.onChunks)) tally(r);
    } catch {
      // One bad document must not sink the batch: retry one by one to name the culprit.
      for (const r of reqs) {
        try {
          tally(await index.add(r));
        } catch (e) {
          res.errors.push({ path: r.path!, code: (e as { code?: string }).code ?? 'index_failed', message: (e as Error).message });
        }
      }
    }
    done += Math.min(batchFiles, files.length - i);
    opts.onProgress?.(done, files.length);
  }
  // Files that disappeared (or are now excluded) since the last scan of this folder.
  const seen = new Set(files.map((f) => `file:${f}`));
  const gone = [...index.docIds()].filter((id) => id.startsWith(`file:${abs}${path.sep}`) && !seen.has(id));
  for (const id of gone) res.deleted += index.delete({ id }).deleted;
  return res;
}

function request(file: string, text: string, mtimeMs: number, opts: IndexPathOptions): AddRequest {
  return { text, path: file, source: opts.source ?? 'file', time: Math.round(mtimeMs), ...(opts.agent ? { agent: opts.agent } : {}) };
}
