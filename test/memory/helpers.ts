import { execFile, spawn, type ChildProcess } from 'node:child_process';
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

// ---- the real service, as a child process driven by the CLI ----------------------------------

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A `rustyclaw` command run from `cwd`, optionally fed `stdin`. */
export function cli(cwd: string, args: string[], stdin?: string): Promise<CliRun> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn' }, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, ms: performance.now() - t0 }),
    );
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

/** `rustyclaw start` from `cwd`, resolved at its ready line; `out()` is what it printed so far. */
export async function startService(cfg: string, cwd: string): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, [CLI, '--config', cfg, 'start'], { cwd, env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const t0 = Date.now();
  // Generous: the machine is shared; the point is that it gets there, not how fast.
  while (!out.includes('ready in')) {
    if (child.exitCode !== null) throw new Error(`service exited ${child.exitCode}: ${out}`);
    if (Date.now() - t0 > 180_000) throw new Error(`no ready line: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, out: () => out };
}

export async function stopService(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

/**
 * `<base>/rustyclaw.yaml` for a service with only the embedder (the real q8 model) and memory, data
 * in `<base>/data`; `memory` is the YAML of the `memory:` section's body.
 */
export function writeServiceConfig(base: string, memory: string): string {
  const cfg = path.join(base, 'rustyclaw.yaml');
  fs.writeFileSync(
    cfg,
    [
      `data_dir: ${path.join(base, 'data')}`,
      'endpoint:\n  port: 0',
      'kernel:\n  system_actors: [embedder, memory]\n  actors:\n    agent:\n      enabled: false',
      `embedder:\n  threads: 1\n  local:\n    model_path: ${MODEL}\n    precision: q8`,
      `memory:\n${memory}`,
      '',
    ].join('\n'),
  );
  return cfg;
}
