/**
 * `rustyclaw memory add PATH|- | search QUERY | stats | reindex | delete`: the memory index from
 * the shell. Results go to stdout (table or --json); progress bars go to stderr.
 */
import path from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { CliRuntime } from '../runtime.js';
import { table } from '../table.js';
import { Value } from '@sinclair/typebox/value';
import { MEMORY_PROGRESS_TOPIC, SearchModeSchema } from '../../../protocol/memory.js';
import { EMBEDDER_PROGRESS_TOPIC } from '../../../protocol/embedder.js';

const LONG = { timeoutMs: 24 * 3600_000 };

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function bar(label: string) {
  return new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total}`, hideCursor: true, clearOnComplete: false, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
}

/** Show a bar for `memory.progress` events of one operation while `work` runs. */
async function withProgress<T>(rt: CliRuntime, op: string, label: string, work: () => Promise<T>): Promise<T> {
  const b = bar(label);
  let started = false;
  let unsub: (() => void) | null = null;
  if (process.stderr.isTTY) {
    unsub = await rt.subscribe(MEMORY_PROGRESS_TOPIC, (p: { op: string; done: number; total: number }) => {
      if (p.op !== op) return;
      if (!started) {
        b.start(p.total, p.done);
        started = true;
      } else b.update(p.done);
    });
  }
  try {
    return await work();
  } finally {
    unsub?.();
    if (started) b.stop();
  }
}

/**
 * Shows the embedder's first-use model download as a progress bar: the embedder (in the running
 * service, or in the tree this command booted) publishes its progress on a topic.
 */
async function ensureModel(rt: CliRuntime): Promise<void> {
  const b = bar('downloading model');
  let started = false;
  const off = await rt.subscribe(EMBEDDER_PROGRESS_TOPIC, (p: { op?: string; received?: number; total?: number | null }) => {
    if (p.op !== 'download' || !p.total) return;
    if (!started) {
      b.start(p.total, 0);
      started = true;
    }
    b.update(p.received ?? 0);
  });
  // Wait for the embedder to be ready (or to have given up) before the command goes on.
  await rt.ask('system/embedder', 'embedder.info', { wait: true }, LONG).catch(() => undefined);
  off();
  if (started) b.stop();
}

function short(text: string, n = 100): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

export function register(program: Command, rt: CliRuntime): void {
  const memory = program.command('memory').description('index files and notes, and search them (hybrid BM25 + vectors)');

  memory
    .command('add')
    .argument('<path>', "a file or folder to index, or '-' to read text from stdin")
    .option('--source <name>', 'source label (default: file, or stdin)')
    .option('--agent <id>', 'the agent this memory belongs to')
    .option('--id <id>', 'document id for stdin text (re-adding the same id replaces it)')
    .option('--json', 'print the reply as JSON')
    .description('add or update documents (unchanged files are skipped by content hash)')
    .action(async (target: string, o: { source?: string; agent?: string; id?: string; json?: boolean }) => {
      await ensureModel(rt);
      const payload: Record<string, unknown> = {};
      if (target === '-') {
        payload.text = await readStdin();
        payload.source = o.source ?? 'stdin';
      } else {
        payload.path = path.resolve(target);
        if (o.source) payload.source = o.source;
      }
      if (o.agent) payload.agent = o.agent;
      if (o.id) payload.id = o.id;
      const r = await withProgress(rt, 'add', 'indexing', () => rt.ask('system/memory', 'memory.add', payload, LONG));
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        process.stdout.write(`added ${r.added}, updated ${r.updated}, unchanged ${r.unchanged}, removed ${r.deleted}; ${r.chunks} new chunks\n`);
        for (const e of r.errors) process.stdout.write(`skipped ${e.path}: ${e.message}\n`);
      }
      if (r.errors.length && r.added + r.updated + r.unchanged === 0) process.exitCode = 1;
      await rt.close();
    });

  memory
    .command('search')
    .argument('<query...>', 'what to look for')
    .option('--mode <mode>', 'hybrid | bm25 | vector', 'hybrid')
    .option('-k, --k <n>', 'number of hits', '10')
    .option('--source <name>', 'only documents of this source')
    .option('--agent <id>', "only this agent's memories")
    .option('--since <date>', 'only documents dated at or after (ISO date or epoch ms)')
    .option('--json', 'print the reply as JSON')
    .description('search the memory')
    .action(async (words: string[], o: { mode: string; k: string; source?: string; agent?: string; since?: string; json?: boolean }) => {
      if (!Value.Check(SearchModeSchema, o.mode)) throw new Error(`--mode must be hybrid, bm25 or vector (got '${o.mode}')`);
      const k = Number(o.k);
      if (!Number.isInteger(k) || k < 1) throw new Error(`-k must be a positive integer (got '${o.k}')`);
      if (o.mode !== 'bm25') await ensureModel(rt);
      const filters: Record<string, unknown> = {};
      if (o.source) filters.source = o.source;
      if (o.agent) filters.agent = o.agent;
      if (o.since) filters.since = /^\d+$/.test(o.since) ? Number(o.since) : o.since;
      const r = await rt.ask('system/memory', 'memory.search', { query: words.join(' '), mode: o.mode, k, ...(Object.keys(filters).length ? { filters } : {}) });
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        for (const w of r.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
        if (!r.hits.length) process.stdout.write('no hits\n');
        else {
          const rows = r.hits.map((h, i) => [
            i + 1,
            h.score.toFixed(4),
            `${h.ranks.bm25 ?? '-'}/${h.ranks.vector ?? '-'}`,
            h.location.path ? `${path.relative(process.cwd(), h.location.path) || h.location.path}:${h.location.start_line}-${h.location.end_line}` : h.source,
            short(h.text),
          ]);
          process.stdout.write(table(['#', 'score', 'bm25/vec rank', 'where', 'text'], rows) + '\n');
        }
      }
      await rt.close();
    });

  memory
    .command('stats')
    .option('--json', 'print the reply as JSON')
    .description('documents, chunks, model and index state')
    .action(async (o: { json?: boolean }) => {
      const s = await rt.ask('system/memory', 'memory.stats', {});
      if (o.json) process.stdout.write(JSON.stringify(s) + '\n');
      else {
        const rows: Array<[string, string | number]> = [
          ['documents', s.docs],
          ['chunks', s.chunks],
          ['index model', s.model ? `${s.model} (${s.dim}-dim)` : '-'],
          ['embedder serves', s.embedder ?? 'unavailable'],
          ['vocabulary', s.vocabulary],
          ['deleted, not yet compacted', s.deleted_pending],
          ['store', `${(s.store_bytes / 1e6).toFixed(1)} MB in ${s.path}`],
          ['loaded from', s.loaded_from],
        ];
        process.stdout.write(table(['', ''], rows).split('\n').slice(1).join('\n') + '\n');
        if (s.model_mismatch) process.stdout.write(`! index holds ${s.model_mismatch.stored} but the embedder serves ${s.model_mismatch.current}: run \`rustyclaw memory reindex\`\n`);
        if (s.error) process.stdout.write(`! ${s.error.code}: ${s.error.message}\n`);
      }
      await rt.close();
    });

  memory
    .command('reindex')
    .option('--json', 'print the reply as JSON')
    .description('re-chunk and re-embed every stored document with the current model and settings')
    .action(async (o: { json?: boolean }) => {
      await ensureModel(rt);
      const r = await withProgress(rt, 'reindex', 'reindexing', () => rt.ask('system/memory', 'memory.reindex', {}, LONG));
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else process.stdout.write(`reindexed ${r.docs} documents into ${r.chunks} chunks with ${r.model}\n`);
      await rt.close();
    });

  memory
    .command('delete')
    .option('--id <id>', 'a document id')
    .option('--path <path>', 'a file, or every file under a folder')
    .option('--source <name>', 'every document of a source')
    .description('remove documents from the memory')
    .action(async (o: { id?: string; path?: string; source?: string }) => {
      const payload: Record<string, unknown> = {};
      if (o.id) payload.id = o.id;
      if (o.path) payload.path = path.resolve(o.path);
      if (o.source) payload.source = o.source;
      if (!Object.keys(payload).length) throw new Error('memory delete needs --id, --path or --source');
      const r = await rt.ask('system/memory', 'memory.delete', payload);
      process.stdout.write(`deleted ${r.deleted} documents (${r.chunks} chunks)\n`);
      await rt.close();
    });
}
