/**
 * Service-level memory figures for the `memory` bench scenario (issue 14), measured on the real
 * service as a child process driven by the CLI: ingest of a 5 MB text file (wall time, chunks/s,
 * peak RSS over idle) against the embedder's own throughput on the same chunks in the same run,
 * hostile files (time to refuse or index), and the idle RSS of the default service (dedicated,
 * shared and edge placement) with the model loaded and after it was unloaded for idleness.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalProvider } from '../../actors/embedder/providers/local.js';
import { defaultThreads } from '../../actors/embedder/service.js';
import { DEFAULT_BATCH_TOKENS } from '../../protocol/embedder.js';
import { chunkText } from '../../actors/memory/chunker.js';
import { loadTokenCounter } from '../../actors/memory/token-counter.js';
import { hostileFixtures } from '../../test/memory/hostile-fixtures.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MODEL = path.resolve(repoRoot, '../shared/models/all-MiniLM-L6-v2');
const CLI = path.resolve(repoRoot, 'dist/src/cli/main.js');

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function cli(cfg: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [CLI, '--config', cfg, ...args], { timeout: 3_600_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
  );
}

async function startService(cfg: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, '--config', cfg, 'start'], { env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const t0 = Date.now();
  while (!out.includes('ready in')) {
    if (child.exitCode !== null || Date.now() - t0 > 180_000) {
      child.kill('SIGKILL');
      throw new Error(`service did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

async function stopService(cfg: string, child: ChildProcess): Promise<void> {
  await cli(cfg, ['stop']);
  if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
}

function writeConfig(dir: string, extra: string, embedderExtra = ''): string {
  const cfg = path.join(dir, 'rustyclaw.yaml');
  // Liveness deadline raised: on the shared bench machine (load ~20 on 2 cores) threads miss 2 s at start-up.
  fs.writeFileSync(cfg, [`data_dir: ${path.join(dir, 'data')}`, 'endpoint:\n  port: 0', `embedder:${embedderExtra}\n  local:\n    model_path: ${MODEL}`, `memory:\n  roots: [${dir}]`, extra.includes('kernel:') ? extra.replace('kernel:', 'kernel:\n  liveness:\n    deadline_ms: 30000') : `kernel:\n  liveness:\n    deadline_ms: 30000\n${extra}`, ''].join('\n'));
  return cfg;
}

/**
 * Load the model in the service: add one short note (it is embedded) and search it. A search of an
 * empty memory embeds nothing, so it would leave the model unloaded and the "loaded" idle RSS
 * (and the ingest's idle baseline) would be measured without the model.
 */
async function loadModel(cfg: string, dir: string): Promise<void> {
  const note = path.join(dir, 'warm-up.md');
  fs.writeFileSync(note, 'A short note about proteins and cells, added so that the embedding model loads.\n');
  const r = await cli(cfg, ['memory', 'add', note]);
  if (r.code !== 0) throw new Error(`warm-up add failed: ${r.stderr.trim()}`);
  await cli(cfg, ['memory', 'search', 'proteins in cells']);
  const st = await cli(cfg, ['status', '--json']);
  const state = st.code === 0 ? ((JSON.parse(st.stdout) as { capability?: Record<string, string> }).capability?.['system/embedder'] ?? '') : st.stderr;
  if (!/-d\) loaded\b/.test(state)) throw new Error(`the model is not loaded after the warm-up: ${state}`);
}

/** About `bytes` of real prose: SciFact abstracts, one paragraph each. */
function proseFile(bytes: number): string {
  const corpus = path.resolve(repoRoot, '../shared/data/retrieval/scifact/corpus.jsonl');
  const parts: string[] = [];
  let n = 0;
  for (const line of fs.readFileSync(corpus, 'utf8').split('\n')) {
    if (!line) continue;
    const d = JSON.parse(line) as { title: string; text: string };
    const p = `## ${d.title}\n\n${d.text}\n`;
    parts.push(p);
    n += p.length;
    if (n >= bytes) break;
  }
  return parts.join('\n');
}

/**
 * Idle RSS of the default service in each placement, with the model loaded and after it was
 * unloaded for idleness (and at ready, before any use): `runs` fresh services each, medians.
 */
export async function idleFigures(dir: string, runs: number): Promise<Record<string, number>> {
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`idle_runs must be a whole number ≥ 1, got ${runs}`);
  const samples: Record<string, number[]> = {};
  const note = (k: string, v: number) => (samples[k] ??= []).push(v);
  for (let i = 0; i < runs; i++) {
    // edge: the smallest profile (one thread for the system actors, on-demand actors).
    for (const placement of ['dedicated', 'shared', 'edge'] as const) {
      const pdir = fs.mkdtempSync(path.join(dir, `${placement}-`));
      const pcfg = writeConfig(pdir, `kernel:\n  placement: ${placement}`, '\n  idle_unload_ms: 4000');
      const child = await startService(pcfg);
      await new Promise((r) => setTimeout(r, 1000));
      note(`${placement}_ready_mb`, rssMb(child.pid!));
      await loadModel(pcfg, pdir);
      await new Promise((r) => setTimeout(r, 1000));
      note(`${placement}_loaded_mb`, rssMb(child.pid!));
      await new Promise((r) => setTimeout(r, 8000));
      note(`${placement}_unloaded_mb`, rssMb(child.pid!));
      await stopService(pcfg, child);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.round(median(v))]));
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export async function serviceFigures(opts: { mb: number; notes: string[]; idleOnly?: number }): Promise<Record<string, Record<string, number>>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-bench-memsvc-'));
  const out: Record<string, Record<string, number>> = {};
  try {
    if (opts.idleOnly !== undefined) {
      out.idle_rss = await idleFigures(dir, opts.idleOnly);
      opts.notes.push(`idle RSS only: medians of ${opts.idleOnly} fresh service(s) per placement`);
      return out;
    }
    const text = proseFile(opts.mb * 1024 * 1024);
    const file = path.join(dir, 'big.md');
    fs.writeFileSync(file, text);

    // ---- the embedder's own throughput on this file's chunks (same pool size as the service's default)
    const counter = loadTokenCounter(path.join(MODEL, 'tokenizer.json'));
    const chunks = chunkText(text.slice(0, 400_000), { maxTokens: 200, overlapTokens: 32, count: counter.count }).map((c) => c.text);
    const sample = chunks.slice(0, 512);
    // Its best batching, not the service's: 32 texts a batch (the old default), the earlier bound
    // of 2048 word pieces and the service's default (embedder.batch_tokens); the fastest is the baseline.
    const rates: Record<string, number> = {};
    for (const batchTokens of [...new Set([0, 2048, DEFAULT_BATCH_TOKENS])]) {
      const p = await LocalProvider.create({ dir: MODEL, name: 'all-MiniLM-L6-v2', precision: 'q8', threads: defaultThreads(os.availableParallelism()), intraOpThreads: 1, batchSize: 32, batchTokens, maxTokens: 256 });
      await p.embed(sample.slice(0, 8));
      const e0 = performance.now();
      await p.embed(sample);
      rates[batchTokens ? `tokens_${batchTokens}` : 'texts_32'] = sample.length / ((performance.now() - e0) / 1000);
      await p.close();
    }
    const embedRate = Math.max(...Object.values(rates));
    opts.notes.push(`embedder alone, chunks/s by batching: ${Object.entries(rates).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);

    // ---- ingest through the service
    const cfg = writeConfig(dir, '');
    const child = await startService(cfg);
    await loadModel(cfg, dir);
    const idle = rssMb(child.pid!);
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(child.pid!))), 200);
    const t0 = performance.now();
    const add = await cli(cfg, ['memory', 'add', file, '--json']);
    const wall = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    // What the service keeps once the add is over (idle again, model still loaded).
    await new Promise((res) => setTimeout(res, 2000));
    const after = rssMb(child.pid!);
    const r = add.code === 0 ? (JSON.parse(add.stdout) as { chunks: number }) : { chunks: 0 };
    if (add.code !== 0) opts.notes.push(`ingest failed: ${add.stderr.trim()}`);
    out.ingest = {
      mb: opts.mb,
      chunks: r.chunks,
      wall_s: Math.round(wall * 10) / 10,
      chunks_per_s: Math.round((r.chunks / wall) * 10) / 10,
      embedder_chunks_per_s: Math.round(embedRate * 10) / 10,
      ratio_to_embedder: Math.round((r.chunks / wall / embedRate) * 100) / 100,
      idle_rss_mb: Math.round(idle),
      peak_rss_growth_mb: Math.round(peak - idle),
      after_rss_mb: Math.round(after),
    };

    // ---- hostile files: time to refuse or index
    const hostile: Record<string, number> = {};
    for (const f of hostileFixtures(1).filter((x) => /single-line-10mb|long-token|hex-blob|base64-line|minified|package-lock/.test(x.name))) {
      const fp = path.join(dir, f.name);
      fs.writeFileSync(fp, f.text);
      const h0 = performance.now();
      const hr = await cli(cfg, ['memory', 'add', fp, '--json']);
      hostile[`${f.name.replace(/\W+/g, '_')}_s`] = Math.round((performance.now() - h0) / 100) / 10;
      if (hr.code !== 0 && !/no_indexable_text/.test(hr.stderr)) opts.notes.push(`${f.name}: ${hr.stderr.trim()}`);
    }
    out.hostile = hostile;
    await stopService(cfg, child);

    out.idle_rss = await idleFigures(dir, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
