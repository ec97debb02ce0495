/**
 * `rustyclaw memory add PATH|- | search QUERY | stats | reindex | delete`: the memory index from
 * the shell. Results go to stdout (table or --json); progress bars go to stderr.
 */
import path from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { CliRuntime } from '../runtime.js';
import { table } from '../table.js';
import { MEMORY_PROGRESS_TOPIC, type MemoryAddReply, type MemoryProgress } from '../../../protocol/memory.js';
import { EMBEDDER_PROGRESS_TOPIC } from '../../../protocol/embedder.js';
import { AskRequest } from '../../../protocol/envelope.js';
import { Value } from '@sinclair/typebox/value';
import { SearchModeSchema } from '../../../protocol/memory.js';
import type { BuiltinMessages, ReplyOf, RequestOf } from '../../../protocol/index.js';

/** The longest ask the endpoint accepts (the envelope's `timeout_ms` maximum, one hour). */
const ASK_MAX_MS = (AskRequest.properties.timeout_ms as unknown as { maximum: number }).maximum;
const LONG = { timeoutMs: ASK_MAX_MS };
/** Text per `memory.add` part when stdin is larger: stays under the endpoint's frame limit even if JSON escaping grows it 6×. */
const STDIN_PART_CHARS = 128 * 1024;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function bar(label: string, chunks = false) {
  const tail = chunks ? ' chunks | {rate} chunks/s | ETA {eta_s}s' : '';
  return new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total}${tail}`, hideCursor: true, clearOnComplete: false, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
}

/**
 * Show `memory.progress` events of one operation while `work` runs: a bar on a terminal, else a
 * line every 10 s on stderr (chunks, chunks/s, ETA) so long adds in scripts are not silent.
 */
async function withProgress<T>(rt: CliRuntime, op: string, label: string, work: (seen: () => number) => Promise<T>): Promise<T> {
  let b: cliProgress.SingleBar | null = null;
  let unit: string | undefined;
  let lastEvent = 0;
  let lastLine = 0;
  const unsub = await rt.subscribe(MEMORY_PROGRESS_TOPIC, (p: MemoryProgress) => {
    if (p.op !== op) return;
    lastEvent = Date.now();
    if (!process.stderr.isTTY) {
      if (p.unit === 'chunks' && (Date.now() - lastLine > 10_000 || p.done === p.total)) {
        lastLine = Date.now();
        process.stderr.write(`${label}: ${p.done}/${p.total} chunks, ${p.rate ?? 0} chunks/s, ETA ${p.eta_s ?? '?'} s\n`);
      }
      return;
    }
    if (!b || unit !== p.unit) {
      b?.stop();
      unit = p.unit;
      b = bar(label, p.unit === 'chunks');
      b.start(p.total, p.done, { rate: p.rate ?? 0, eta_s: p.eta_s ?? '?' });
    } else b.update(p.done, { rate: p.rate ?? 0, eta_s: p.eta_s ?? '?' });
  });
  try {
    return await work(() => lastEvent);
  } finally {
    unsub();
    (b as cliProgress.SingleBar | null)?.stop();
  }
}

/**
 * An ask that may outlast the endpoint's one-hour cap: memory writes are idempotent (content
 * hashes), so when the ask times out while the service is still reporting progress, ask again —
 * the repeat waits behind the running write and then answers from its result.
 */
async function longAsk<K extends 'memory.add' | 'memory.reindex'>(rt: CliRuntime, type: K, payload: RequestOf<BuiltinMessages, K>, lastProgress: () => number): Promise<ReplyOf<BuiltinMessages, K>> {
  for (;;) {
    try {
      // (one generic body for two message types: TypeScript cannot pick the overload for a generic K)
      return (await rt.ask('system/memory', type as 'memory.add', payload as RequestOf<BuiltinMessages, 'memory.add'>, LONG)) as ReplyOf<BuiltinMessages, K>;
    } catch (e) {
      const working = Date.now() - lastProgress() < 120_000;
      if ((e as { code?: string }).code !== 'timeout' || !working) throw e;
      process.stderr.write(`${type} is still running in the service after ${ASK_MAX_MS / 60_000} min; waiting for it\n`);
    }
  }
}

/** Send a large text in parts (the endpoint limits one frame), the last part triggering the add. */
async function addText(rt: CliRuntime, payload: Record<string, unknown>, lastProgress: () => number): Promise<MemoryAddReply> {
  const text = payload.text as string;
  if (text.length <= STDIN_PART_CHARS) return longAsk(rt, 'memory.add', payload, lastProgress);
  const id = `cli-${process.pid}-${Date.now()}`;
  let seq = 0;
  for (let i = 0; i < text.length; i += STDIN_PART_CHARS) {
    const last = i + STDIN_PART_CHARS >= text.length;
    const part = { ...payload, text: text.slice(i, i + STDIN_PART_CHARS), upload: { id, seq: seq++, last } };
    const r = await (last ? longAsk(rt, 'memory.add', part, lastProgress) : rt.ask('system/memory', 'memory.add', part));
    if (last) return r;
  }
  throw new Error('unreachable: the last part returns');
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
        // The service also refuses files this user could not read (it checks the root's owner too).
        if (typeof process.getuid === 'function') payload.as_uid = process.getuid();
      }
      if (o.agent) payload.agent = o.agent;
      if (o.id) payload.id = o.id;
      const r = await withProgress(rt, 'add', 'indexing', (seen) => (target === '-' ? addText(rt, payload, seen) : longAsk(rt, 'memory.add', payload, seen)));
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        process.stdout.write(`added ${r.added}, updated ${r.updated}, unchanged ${r.unchanged}, removed ${r.deleted}; ${r.chunks} new chunks\n`);
        const skipped = r.docs.reduce((n, d) => n + (d.skipped_tokens ?? 0), 0);
        if (skipped) process.stdout.write(`left out of keyword search: ${skipped} tokens longer than 64 characters (${r.docs.reduce((n, d) => n + (d.skipped_chunks ?? 0), 0)} chunks of nothing else)\n`);
        const notProse = r.docs.reduce((n, d) => n + (d.not_prose ?? 0), 0);
        if (notProse) process.stdout.write(`${notProse} chunks kept out of the vector index: not prose (base64, hex, minified code or hashes; keyword search still finds them)\n`);
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
          ['kept out of the vector index', `${s.not_prose ?? 0} chunks: not prose`],
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
        if (s.degraded) process.stdout.write(`! degraded: indexes ${s.degraded.reason} (${s.degraded.done}/${s.degraded.total} chunks); searches may miss results until it finishes\n`);
        for (const q of s.quarantined ?? []) process.stdout.write(`! quarantined ${q.doc_id}${q.path ? ` (${q.path})` : ''}: ${q.reason}\n`);
      }
      await rt.close();
    });

  memory
    .command('reindex')
    .option('--json', 'print the reply as JSON')
    .description('re-chunk and re-embed every stored document with the current model and settings')
    .action(async (o: { json?: boolean }) => {
      await ensureModel(rt);
      const r = await withProgress(rt, 'reindex', 'reindexing', (seen) => longAsk(rt, 'memory.reindex', {}, seen));
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else process.stdout.write(`reindexed ${r.docs} documents into ${r.chunks} chunks with ${r.model}\n`);
      await rt.close();
    });

  memory
    .command('doctor')
    .option('--repair', 'fix what can be fixed without losing anything (a damaged store is moved aside, not deleted)')
    .option('--json', 'print the report as JSON')
    .description('check the memory store (documents, chunks, vectors, snapshots, quarantine) and optionally repair it')
    .action(async (o: { repair?: boolean; json?: boolean }) => {
      const r = await rt.ask('system/memory', 'memory.doctor', o.repair ? { repair: true } : {}, LONG);
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        process.stdout.write(`${r.path}: ${r.docs} documents, ${r.chunks} chunks; ${r.problems.length ? `${r.problems.length} problem(s)` : 'no problems'}\n`);
        for (const p of r.problems) process.stdout.write(`${p.repaired ? 'repaired' : 'problem'} ${p.code}: ${p.message}\n`);
        if (!r.ok && !o.repair && r.problems.some((p) => p.code !== 'quarantined')) process.stdout.write('run `rustyclaw memory doctor --repair` to fix what can be fixed\n');
      }
      if (!r.ok) process.exitCode = 1;
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
