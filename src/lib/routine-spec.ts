/**
 * Routine specs checked the same way wherever they come from (CLI flags, a YAML file, a
 * `routine.create` message): the protocol schema (protocol/scheduler.ts) per trigger type, cron
 * expressions and time zones, and event patterns (src/lib/safe-regex.ts). Every error names the field.
 */
import { Value } from '@sinclair/typebox/value';
import { Cron } from 'croner';
import {
  CronTriggerSchema,
  EventTriggerSchema,
  ManualTriggerSchema,
  RoutineSpecSchema,
  WebhookTriggerSchema,
  type RoutineSpec,
} from '../../protocol/scheduler.js';

export class RoutineInputError extends Error {
  readonly code: string = 'invalid_routine';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const TRIGGER_SCHEMAS = { cron: CronTriggerSchema, event: EventTriggerSchema, webhook: WebhookTriggerSchema, manual: ManualTriggerSchema } as const;

function firstError(schema: Parameters<typeof Value.Errors>[0], value: unknown, root: string): RoutineInputError | undefined {
  const e = Value.Errors(schema, value).First();
  if (!e) return undefined;
  const field = (root + e.path.replace(/\//g, '.')).replace(/^\./, '') || root || '(routine)';
  if (e.message === 'Unexpected property') return new RoutineInputError(field, 'unknown field');
  return new RoutineInputError(field, e.message);
}

/** Cron options shared by validation and scheduling: 5 or 6 fields only, optional time zone. */
export function cronOptions(tz?: string) {
  return { ...(tz ? { timezone: tz } : {}), mode: '5-or-6-parts' as const };
}

export function validateCron(expr: string, tz?: string): void {
  const fields = expr.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) throw new RoutineInputError('trigger.expr', `cron expression needs 5 or 6 fields, got ${fields} (${JSON.stringify(expr)})`);
  if (tz) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
    } catch {
      throw new RoutineInputError('trigger.tz', `unknown time zone ${JSON.stringify(tz)}`);
    }
  }
  try {
    const c = new Cron(expr, { ...cronOptions(tz), paused: true });
    const next = c.nextRun();
    c.stop();
    if (!next) throw new Error('it never fires');
  } catch (e) {
    if (e instanceof RoutineInputError) throw e;
    throw new RoutineInputError('trigger.expr', `invalid cron expression ${JSON.stringify(expr)}: ${(e as Error).message}`);
  }
}

/** Next `n` firing times of a cron trigger after `from`. */
export function cronNextRuns(expr: string, tz: string | undefined, n: number, from: Date): Date[] {
  const c = new Cron(expr, { ...cronOptions(tz), paused: true });
  try {
    return c.nextRuns(n, from);
  } finally {
    c.stop();
  }
}

/**
 * Validate user input (CLI flags, YAML file, message) into a RoutineSpec. Unknown fields are
 * rejected; every error names the field. Does not compile event patterns (async; see `create`).
 */
export function validateRoutineSpec(input: unknown): RoutineSpec {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new RoutineInputError('(routine)', 'expected a mapping of fields');
  const o = input as Record<string, unknown>;
  const t = o.trigger;
  if (t === undefined) throw new RoutineInputError('trigger', 'required');
  if (!t || typeof t !== 'object' || Array.isArray(t)) throw new RoutineInputError('trigger', 'expected a mapping with a type');
  const type = (t as { type?: unknown }).type;
  if (typeof type !== 'string' || !(type in TRIGGER_SCHEMAS)) {
    throw new RoutineInputError('trigger.type', `must be one of ${Object.keys(TRIGGER_SCHEMAS).join(', ')}, got ${JSON.stringify(type)}`);
  }
  const te = firstError(TRIGGER_SCHEMAS[type as keyof typeof TRIGGER_SCHEMAS], t, 'trigger');
  if (te) throw te;
  const err = firstError(RoutineSpecSchema, o, '');
  if (err) throw err;
  const spec = o as unknown as RoutineSpec;
  const kind = spec.kind ?? 'agent_turn';
  if (kind === 'agent_turn' && !spec.prompt?.trim()) throw new RoutineInputError('prompt', 'required for an agent_turn routine');
  if (spec.trigger.type === 'cron') validateCron(spec.trigger.expr, spec.trigger.tz);
  return spec;
}

