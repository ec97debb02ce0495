import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalProvider } from '../../actors/embedder/providers/local.js';
import type { Precision } from '../../actors/embedder/onnx-embedder.js';
import { MemoryIndex, type Embedder, type MemoryIndexOptions } from '../../actors/memory/memory-index.js';
import { loadTokenCounter } from '../../actors/memory/token-counter.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MODEL = path.resolve(repoRoot, '../shared/models/all-MiniLM-L6-v2');

const providers = new Map<Precision, Promise<LocalProvider>>();

/** The real local model (one pool per precision, shared by the tests of one file). */
export function realEmbedder(precision: Precision = 'q8'): Promise<LocalProvider> {
  let p = providers.get(precision);
  if (!p) {
    p = LocalProvider.create({ dir: MODEL, name: 'all-MiniLM-L6-v2', precision, threads: 1, intraOpThreads: 1, batchSize: 16, maxTokens: 256 });
    providers.set(precision, p);
  }
  return p;
}

export async function closeEmbedders(): Promise<void> {
  for (const p of providers.values()) await (await p).close();
  providers.clear();
}

export function tmpDir(prefix = 'rc-mem-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function openIndex(dir: string, embedder: Embedder | null, extra: Partial<MemoryIndexOptions> = {}): Promise<MemoryIndex> {
  return MemoryIndex.open({
    dir,
    chunkTokens: 64,
    overlapTokens: 8,
    countTokens: loadTokenCounter(path.join(MODEL, 'tokenizer.json')).count,
    embedder,
    ...extra,
  });
}
