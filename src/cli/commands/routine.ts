/**
 * `rustyclaw routine list | create | delete | run | enable | disable`. `create` takes flags or a
 * YAML file (one routine, or a list of them); the spec is validated here first (unknown fields
 * rejected, errors name the field) and again by the scheduler, which also vets event regexes.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';
import { parseDocument } from 'yaml';
import type { AskArgs, ReplyOf, RequestOf } from '../../../protocol/define.js';
import type { BuiltinMessages } from '../../../protocol/index.js';
import type { Routine, RoutineSpec } from '../../../protocol/scheduler.js';
import { validateRoutineSpec as checkSpec, RoutineInputError } from '../../lib/routine-spec.js';
import { compileSafeRegex, UnsafePatternError } from '../../lib/safe-regex.js';
import { table } from '../table.js';
import { stamp, stdio, type CliIO } from './job.js';

const S = 'system/scheduler';

export interface RoutineCliRuntime {
  ask: CliRuntime['ask'];
  close(): Promise<void>;
}

export interface CreateFlags {
  file?: string;
  prompt?: string;
  agent?: string;
  model?: string;
  kind?: string;
  description?: string;
  cron?: string;
  tz?: string;
  missed?: string;
  event?: string;
  pattern?: string;
  flags?: string;
  webhook?: boolean;
  secret?: string;
  manual?: boolean;
  maxFailures?: string;
  cooldown?: string;
  maxConcurrent?: string;
  maxAttempts?: string;
  backoff?: string;
  timeout?: string;
  disabled?: boolean;
}

function int(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`${flag} must be a non-negative integer (got '${v}')`);
  return Number(v);
}

/** Build a routine spec from command-line flags (exactly one trigger flag). */
export function specFromFlags(id: string | undefined, f: CreateFlags): RoutineSpec {
  if (!id) throw new Error('id: required (rustyclaw routine create <id> ... or --file routine.yaml)');
  const triggers = [f.cron !== undefined && 'cron', f.event !== undefined && 'event', f.webhook && 'webhook', f.manual && 'manual'].filter(Boolean);
  if (triggers.length !== 1) throw new Error(`trigger: give exactly one of --cron, --event, --webhook, --manual (got ${triggers.length ? triggers.join(', ') : 'none'})`);
  let trigger: RoutineSpec['trigger'];
  if (f.cron !== undefined) trigger = { type: 'cron', expr: f.cron, ...(f.tz ? { tz: f.tz } : {}), ...(f.missed ? { missed: f.missed as 'skip' | 'run_once' } : {}) };
  else if (f.event !== undefined) {
    if (!f.pattern) throw new Error('trigger.pattern: --pattern is required with --event');
    trigger = { type: 'event', topic: f.event, pattern: f.pattern, ...(f.flags ? { flags: f.flags } : {}) };
  } else if (f.webhook) trigger = { type: 'webhook', ...(f.secret ? { secret: f.secret } : {}) };
  else trigger = { type: 'manual' };
  if (f.pattern && f.event === undefined) throw new Error('--pattern only goes with --event');
  if ((f.tz || f.missed) && f.cron === undefined) throw new Error('--tz and --missed only go with --cron');
  const maxAttempts = int(f.maxAttempts, '--max-attempts');
  const backoff = int(f.backoff, '--backoff');
  const spec: Record<string, unknown> = {
    id,
    trigger,
    ...(f.kind ? { kind: f.kind } : {}),
    ...(f.prompt !== undefined ? { prompt: f.prompt } : {}),
    ...(f.agent ? { agent: f.agent } : {}),
    ...(f.model ? { model: f.model } : {}),
    ...(f.description ? { description: f.description } : {}),
    ...(f.maxFailures !== undefined ? { max_consecutive_failures: int(f.maxFailures, '--max-failures') } : {}),
    ...(f.cooldown !== undefined ? { cooldown_ms: int(f.cooldown, '--cooldown') } : {}),
    ...(f.maxConcurrent !== undefined ? { max_concurrent: int(f.maxConcurrent, '--max-concurrent') } : {}),
    ...(f.timeout !== undefined ? { timeout_ms: int(f.timeout, '--timeout') } : {}),
    ...(maxAttempts !== undefined || backoff !== undefined ? { retry: { max_attempts: maxAttempts ?? 3, backoff_ms: backoff ?? 1000 } } : {}),
    ...(f.disabled ? { enabled: false } : {}),
  };
  return validateRoutineSpec(spec);
}

/**
 * The spec checked before it is sent: the protocol schema, cron, and an event pattern through the
 * same safe-regex check the scheduler applies (so a catastrophic pattern is named here, at once).
 */
function validateRoutineSpec(input: unknown): RoutineSpec {
  const spec = checkSpec(input);
  if (spec.trigger.type === 'event') {
    try {
      compileSafeRegex(spec.trigger.pattern, spec.trigger.flags ?? '', { path: 'trigger.pattern', allowedFlags: 'ims' });
    } catch (e) {
      if (e instanceof UnsafePatternError) throw new RoutineInputError('trigger.pattern', e.reason);
      throw e;
    }
  }
  return spec;
}

/** Parse a routine YAML file: one mapping or a list of mappings. Errors say file, line and field. */
export function specsFromYaml(text: string, file = 'routine file'): RoutineSpec[] {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
  const data = doc.toJS() as unknown;
  const list = Array.isArray(data) ? data : [data];
  if (list.length === 0) throw new Error(`${file}: no routine in the file`);
  return list.map((item, i) => {
    try {
      return validateRoutineSpec(item);
    } catch (e) {
      const where = Array.isArray(data) ? `${file} [${i}]` : file;
      throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
    }
  });
}

function triggerText(r: Routine): string {
  const t = r.trigger;
  switch (t.type) {
    case 'cron':
      return `cron ${t.expr}${t.tz ? ` (${t.tz})` : ''}`;
    case 'event':
      return `event ${t.topic} /${t.pattern}/${t.flags ?? ''}`;
    default:
      return t.type;
  }
}

export function routineRows(rs: Routine[]): string {
  return table(
    ['id', 'enabled', 'trigger', 'agent', 'fired', 'skipped', 'failures', 'next', 'note'],
    rs.map((r) => [
      r.id,
      r.enabled ? 'yes' : 'no',
      triggerText(r),
      r.kind === 'noop' ? '(noop)' : (r.agent ?? '-'),
      r.fired,
      r.skipped,
      r.consecutive_failures,
      r.next_fire_at ? stamp(r.next_fire_at) : '-',
      r.disabled_reason ?? '',
    ]),
  );
}

export function register(program: Command, rt: RoutineCliRuntime, io: CliIO = stdio): void {
  const routine = program.command('routine').description('routines: prompts run as jobs on a cron schedule, an event, a webhook or by hand');

  routine
    .command('list')
    .option('--json', 'print the reply as JSON')
    .description('list routines')
    .action(async (o: { json?: boolean }) => {
      const r = await rt.ask(S, 'routine.list', {});
      if (o.json) io.out(JSON.stringify(r) + '\n');
      else io.out(r.routines.length ? routineRows(r.routines) + '\n' : 'no routines\n');
      await rt.close();
    });

  routine
    .command('create')
    .argument('[id]', 'routine id (lowercase letters, digits, - and _); not needed with --file')
    .option('-f, --file <yaml>', 'read the routine (or a list of routines) from a YAML file')
    .option('-p, --prompt <text>', 'what the agent is asked to do when the routine fires')
    .option('--agent <id>', 'agent that runs it (default: default)')
    .option('--model <alias>', 'model alias for its turns')
    .option('--kind <kind>', 'agent_turn (default) or noop')
    .option('--description <text>', 'free text')
    .option('--cron <expr>', "cron trigger, 5 or 6 fields, e.g. '0 9 * * MON-FRI'")
    .option('--tz <zone>', 'time zone of the cron expression, e.g. Europe/Berlin')
    .option('--missed <policy>', 'cron firings missed while down: skip | run_once')
    .option('--event <topic>', 'event trigger: kernel topic to watch')
    .option('--pattern <regex>', 'event trigger: regex tested against each event')
    .option('--flags <flags>', 'event trigger: regex flags (i, m, s)')
    .option('--webhook', 'webhook trigger (prints the URL and the signing secret once)')
    .option('--secret <secret>', 'webhook signing secret (default: generated)')
    .option('--manual', 'manual trigger only (rustyclaw routine run)')
    .option('--max-failures <n>', 'auto-disable after this many consecutive failed runs')
    .option('--cooldown <ms>', 'minimum time between firings')
    .option('--max-concurrent <n>', 'unfinished runs allowed at once (further firings are skipped)')
    .option('--max-attempts <n>', 'attempts per run (retry policy)')
    .option('--backoff <ms>', 'retry backoff base (doubles per attempt)')
    .option('--timeout <ms>', 'time limit of one run')
    .option('--disabled', 'create it disabled')
    .option('--json', 'print the reply as JSON')
    .description('create a routine from flags or a YAML file')
    .action(async (id: string | undefined, f: CreateFlags & { json?: boolean }) => {
      let specs: RoutineSpec[];
      if (f.file) {
        const others = Object.keys(f).filter((k) => !['file', 'json'].includes(k));
        if (id || others.length) throw new Error(`--file takes the whole routine from the file; drop ${id ? 'the id argument' : `--${others[0]}`}`);
        let text: string;
        try {
          text = readFileSync(f.file, 'utf8');
        } catch (e) {
          throw new Error(`cannot read ${f.file}: ${(e as Error).message}`, { cause: e });
        }
        specs = specsFromYaml(text, f.file);
      } else specs = [specFromFlags(id, f)];
      for (const spec of specs) {
        const r = await rt.ask(S, 'routine.create', spec);
        if (f.json) {
          io.out(JSON.stringify(r) + '\n');
          continue;
        }
        io.out(`created routine ${r.routine.id}: ${triggerText(r.routine)}${r.routine.next_fire_at ? `, next ${stamp(r.routine.next_fire_at)}` : ''}\n`);
        if (r.webhook) {
          io.out(`  POST ${r.webhook.url}\n  secret (shown once): ${r.webhook.secret}\n`);
          io.out(`  sign: ${r.webhook.timestamp_header}: <unix seconds>, ${r.webhook.signature_header}: sha256=hex(HMAC-SHA256(secret, "<timestamp>.<raw body>"))\n`);
        }
        if (r.warning) io.err(`warning: ${r.warning}\n`);
      }
      await rt.close();
    });

  const simple = <K extends 'routine.delete' | 'routine.enable' | 'routine.disable'>(name: string, type: K, describe: string, print: (r: ReplyOf<BuiltinMessages, K>, id: string) => string) =>
    routine
      .command(name)
      .argument('<id>', 'routine id')
      .option('--json', 'print the reply as JSON')
      .description(describe)
      .action(async (id: string, o: { json?: boolean }) => {
        // The three requests are all `{ id }` (protocol/scheduler.ts); TypeScript cannot see that through K.
        const r = await rt.ask(S, type, ...([{ id }] as unknown as AskArgs<RequestOf<BuiltinMessages, K>>));
        // Deleting what is not there failed, as `routine run` of a missing id does: exit 1, said on stderr.
        const missing = (r as { deleted?: boolean } | null)?.deleted === false;
        if (missing) process.exitCode = 1;
        if (o.json) io.out(JSON.stringify(r) + '\n');
        else if (missing) io.err(`no routine ${id}: nothing deleted\n`);
        else io.out(print(r, id));
        await rt.close();
      });

  simple('delete', 'routine.delete', 'delete a routine (its past jobs stay)', (r, id) => `deleted ${id}\n`);
  simple('enable', 'routine.enable', 'enable a routine (resets its failure count)', (r) => `enabled ${r.routine.id}\n`);
  simple('disable', 'routine.disable', 'disable a routine', (r) => `disabled ${r.routine.id}\n`);

  routine
    .command('run')
    .argument('<id>', 'routine id')
    .option('--input <text>', 'text appended to the prompt for this run')
    .option('--json', 'print the reply as JSON')
    .description('fire a routine now (also when disabled; max-concurrent still applies)')
    .action(async (id: string, o: { input?: string; json?: boolean }) => {
      const r = await rt.ask(S, 'routine.run', { id, ...(o.input ? { input: o.input } : {}) });
      if (o.json) io.out(JSON.stringify(r) + '\n');
      else if (r.job_id) io.out(`started job ${r.job_id} (rustyclaw job status ${r.job_id})\n`);
      else {
        io.out(`skipped: ${r.skipped}\n`);
        process.exitCode = 1;
      }
      await rt.close();
    });
}
