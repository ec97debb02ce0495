/**
 * `rustyclaw job list | status ID | cancel ID`: the scheduler's jobs from the shell.
 */
import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';
import { Value } from '@sinclair/typebox/value';
import { HeartbeatNotification, JOBS_TOPIC, JobEventSchema, RoutineDisabledNotification, type Job, type JobState } from '../../../protocol/scheduler.js';
import type { Waiting } from '../deadline.js';
import { table } from '../table.js';

const S = 'system/scheduler';
const STATES: JobState[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];
const isState = (s: string): s is JobState => (STATES as string[]).includes(s);

export interface JobCliRuntime {
  ask: CliRuntime['ask'];
  subscribe?: CliRuntime['subscribe'];
  close(): Promise<void>;
  waiting?: Waiting;
}

/** A time with its zone, as every time the CLI prints: `2026-12-01 20:15:03 UTC` or `… +01:00` (local). */
export function stamp(ms: number, zone: 'utc' | 'local' = 'utc'): string {
  const d = new Date(ms);
  if (zone === 'utc') return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60_000).toISOString().slice(0, 19).replace('T', ' ');
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${local} ${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/**
 * One line per notification (heartbeat alerts, auto-disabled routines, anything else as JSON). Any
 * topic can be followed, so a payload is known only once it passes its protocol schema.
 */
export function notificationLine(p: unknown, now = Date.now()): string {
  const at = (t: number) => stamp(t);
  if (Value.Check(JobEventSchema, p)) {
    const who = [p.routine_id ? `routine ${p.routine_id}` : '', p.agent ? `agent ${p.agent}` : ''].filter(Boolean).join(', ');
    const what = p.event === 'started' ? `started (attempt ${p.attempts})` : `${p.state}${p.error ? `: ${p.error.code}: ${p.error.message}` : ''}`;
    return `${at(p.at)}  job ${p.id} ${what}${who ? ` [${p.purpose}; ${who}]` : ` [${p.purpose}]`}`;
  }
  if (Value.Check(HeartbeatNotification, p)) return `${at(p.at)}  heartbeat ${p.agent}: ${p.text} (job ${p.job_id})`;
  if (Value.Check(RoutineDisabledNotification, p)) return `${at(p.at)}  routine ${p.routine}: ${p.reason}`;
  const t = (p as { at?: unknown } | null)?.at;
  return `${at(typeof t === 'number' ? t : now)}  ${typeof p === 'string' ? p : JSON.stringify(p)}`;
}

function ago(ms: number | undefined, now = Date.now()): string {
  if (!ms) return '-';
  const s = Math.round((now - ms) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return stamp(ms);
}

function short(t: string | undefined, n = 60): string {
  const s = (t ?? '').replace(/\s+/g, ' ').trim();
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function jobRows(jobs: Job[], now = Date.now()): string {
  return table(
    ['id', 'state', 'kind', 'agent', 'routine', 'attempts', 'created', 'what'],
    jobs.map((j) => [j.id, j.state, j.purpose === 'heartbeat' ? 'heartbeat' : j.kind, j.agent ?? '-', j.routine_id ?? '-', j.attempts, ago(j.created_at, now), short(j.error ? `${j.error.code}: ${j.error.message}` : j.prompt)]),
  );
}

export function jobDetail(j: Job): string {
  const rows: Array<[string, string | number]> = [
    ['id', j.id],
    ['state', j.state],
    ['kind', j.kind],
    ['purpose', j.purpose],
    ['agent', j.agent ?? '-'],
    ['routine', j.routine_id ?? '-'],
    ['attempts', `${j.attempts} of ${j.retry.max_attempts} (backoff ${j.retry.backoff_ms} ms)`],
    ['created', stamp(j.created_at)],
    ['started', j.started_at ? stamp(j.started_at) : '-'],
    ['finished', j.finished_at ? stamp(j.finished_at) : '-'],
  ];
  if (j.model) rows.push(['model', j.model]);
  if (j.lease) rows.push(['lease', `${j.lease.worker} (scheduler incarnation ${j.lease.incarnation})`]);
  if (j.error) rows.push(['error', `${j.error.code}: ${j.error.message}`]);
  for (const [i, e] of (j.attempt_errors ?? []).entries()) rows.push([`attempt error ${i + 1}`, `${e.code}: ${e.message}`]);
  let out = table(['', ''], rows).split('\n').slice(1).join('\n') + '\n';
  if (j.prompt) out += `\nprompt:\n${j.prompt}\n`;
  if (j.result !== undefined) {
    const r = j.result as { text?: string };
    out += `\nresult:\n${typeof r?.text === 'string' ? r.text : JSON.stringify(j.result, null, 2)}\n`;
  }
  return out;
}

/** Where command output goes (stdout/stderr by default; tests capture it). */
export interface CliIO {
  out(s: string): void;
  err(s: string): void;
}
export const stdio: CliIO = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

function waitForInterrupt(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export function register(program: Command, rt: JobCliRuntime, io: CliIO = stdio): void {
  const job = program.command('job').description('scheduled and background jobs (agent turns run in their own sessions)');

  job
    .command('list')
    .option('--state <state>', `only jobs in this state (${STATES.join('|')})`)
    .option('--routine <id>', 'only jobs fired by this routine')
    .option('-n, --limit <n>', 'at most this many (newest first)', '50')
    .option('--json', 'print the reply as JSON')
    .description('list jobs, newest first')
    .action(async (o: { state?: string; routine?: string; limit: string; json?: boolean }) => {
      if (o.state && !isState(o.state)) throw new Error(`--state must be one of ${STATES.join(', ')} (got '${o.state}')`);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive integer (got '${o.limit}')`);
      const r = await rt.ask(S, 'job.list', { limit, ...(o.state && isState(o.state) ? { state: o.state } : {}), ...(o.routine ? { routine_id: o.routine } : {}) });
      if (o.json) io.out(JSON.stringify(r) + '\n');
      else if (r.jobs.length === 0) io.out('no jobs\n');
      else io.out(jobRows(r.jobs) + (r.total > r.jobs.length ? `\n(${r.jobs.length} of ${r.total})\n` : '\n'));
      await rt.close();
    });

  job
    .command('status')
    .argument('<id>', 'job id')
    .option('--json', 'print the job as JSON')
    .description("a job's state, attempts, errors and result")
    .action(async (id: string, o: { json?: boolean }) => {
      const j = await rt.ask(S, 'job.status', { id });
      io.out(o.json ? JSON.stringify(j) + '\n' : jobDetail(j));
      await rt.close();
    });

  job
    .command('watch')
    .option('--topic <topic>', 'notification topic to follow besides job starts and ends', 'notifications')
    .option('--no-jobs', 'only notifications, not job starts and ends')
    .description('follow jobs as they start and finish, and notifications (heartbeat alerts, auto-disabled routines), until Ctrl-C')
    .action(async (o: { topic: string; jobs: boolean }) => {
      if (!rt.subscribe) throw new Error('this runtime cannot subscribe to topics');
      const topics = [o.topic, ...(o.jobs ? [JOBS_TOPIC] : [])];
      const offs = await Promise.all([...new Set(topics)].map((t) => rt.subscribe!(t, (p) => io.out(notificationLine(p) + '\n'))));
      io.err(`watching ${[...new Set(topics)].join(' and ')} (Ctrl-C to stop)\n`);
      rt.waiting?.interactive();
      await (rt.waiting ? rt.waiting.on(`events on ${topics.join(', ')}`, waitForInterrupt()) : waitForInterrupt());
      for (const off of offs) off();
      await rt.close();
    });

  job
    .command('cancel')
    .argument('<id>', 'job id')
    .option('--json', 'print the reply as JSON')
    .description('cancel a pending or running job (a running agent turn is aborted)')
    .action(async (id: string, o: { json?: boolean }) => {
      const r = await rt.ask(S, 'job.cancel', { id });
      if (o.json) io.out(JSON.stringify(r) + '\n');
      else io.out(r.state === 'cancelled' ? `cancelled ${r.id}\n` : `${r.id} had already ${r.state === 'completed' ? 'completed' : 'failed'}; nothing to cancel\n`);
      await rt.close();
    });
}
