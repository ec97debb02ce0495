/**
 * Routines: a prompt (or a noop, for tests) that runs as a job when its trigger fires.
 * Triggers: cron (croner, 5 or 6 fields, IANA time zones, DST as croner handles it), event (regex
 * over a kernel topic's events, checked by src/lib/safe-regex.ts), webhook (webhook.ts), manual.
 * Guardrails: auto-disable after `max_consecutive_failures` failed jobs in a row, `cooldown_ms`
 * between firings, at most `max_concurrent` unfinished jobs per routine (a firing beyond is
 * skipped, not queued). Cron firings missed while the service was down: `skip` (default) or
 * `run_once` at start. Routines live in the actor store under `routine:<id>`.
 */
import { randomBytes } from 'node:crypto';
import { Cron } from 'croner';
import type { ActorStore } from '../../src/kernel/actor.js';
import {
  type FireResultT,
  type Job,
  type JobSubmit,
  type Routine,
  type SchedulerConfig,
} from '../../protocol/scheduler.js';
import { compileSafeRegex, UnsafePatternError } from '../../src/lib/safe-regex.js';

const PREFIX = 'routine:';
type RoutinesConfig = SchedulerConfig['routines'];
export type FireSource = 'cron' | 'event' | 'webhook' | 'manual';

export { RoutineInputError, validateCron, cronNextRuns, validateRoutineSpec } from '../../src/lib/routine-spec.js';
import { RoutineInputError, cronNextRuns, cronOptions, validateRoutineSpec } from '../../src/lib/routine-spec.js';

export class RoutineNotFound extends RoutineInputError {
  override readonly code = 'not_found';
}

export interface RoutineDeps {
  store: ActorStore;
  config: RoutinesConfig;
  submit(spec: JobSubmit): Promise<Job>;
  /** Unfinished jobs at start (to rebuild per-routine concurrency after a restart). */
  activeJobs(): Iterable<Job>;
  subscribe(topic: string, fn: (payload: unknown, topic: string) => void): () => void;
  publish?(topic: string, payload: unknown): void;
  clock?: () => number;
  log?: { warn(o: unknown, m?: string): void; info(o: unknown, m?: string): void };
  /** Configured agent ids; when given, a routine naming another agent is refused at creation. */
  knownAgents?: () => string[];
  /** Observability hook: a firing became job `jobId` (bench latency). */
  onFired?(r: Routine, source: FireSource, jobId: string): void;
}

export interface EventMatcher {
  engine: 'linear' | 'backtracking';
  test(input: string): boolean;
}

/** The text an event regex is tested against: a string payload as is, anything else as JSON. */
export function eventText(payload: unknown): string {
  if (typeof payload === 'string') return payload;
  try {
    return JSON.stringify(payload) ?? '';
  } catch {
    return String(payload);
  }
}

interface Armed {
  cron?: Cron;
  unsubscribe?: () => void;
  matcher?: EventMatcher;
}

export class RoutineEngine {
  private readonly routines = new Map<string, Routine>();
  private readonly armed = new Map<string, Armed>();
  private readonly active = new Map<string, Set<string>>();
  private readonly clock: () => number;
  readonly counters = { fired: 0, skipped: 0, missed: 0, auto_disabled: 0, event_matches: 0 };
  /** Lateness of cron firings (ms after the scheduled slot), last 100. */
  readonly cronLateness: number[] = [];

  constructor(private readonly d: RoutineDeps) {
    this.clock = d.clock ?? Date.now;
  }

  async start(): Promise<void> {
    for (const { value } of this.d.store.entries<Routine>({ prefix: PREFIX })) this.routines.set(value.id, value);
    for (const j of this.d.activeJobs()) if (j.routine_id) this.activeSet(j.routine_id).add(j.id);
    for (const r of this.routines.values()) {
      if (!r.enabled) continue;
      if (r.trigger.type === 'cron') await this.handleMissed(r);
      await this.arm(r).catch((e) => this.d.log?.warn({ err: e, routine: r.id }, 'routine could not be armed'));
    }
  }

  stop(): void {
    for (const id of [...this.armed.keys()]) this.disarm(id);
  }

  list(): Routine[] {
    return [...this.routines.values()].map((r) => this.view(r));
  }

  get(id: string): Routine | undefined {
    const r = this.routines.get(id);
    return r && this.view(r);
  }

  /** Secret of a webhook routine (for the webhook server), if it exists. */
  webhookSecret(id: string): string | undefined {
    const r = this.routines.get(id);
    return r?.trigger.type === 'webhook' ? r.trigger.secret : undefined;
  }

  private view(r: Routine): Routine {
    const v = structuredClone(r);
    // The secret is returned once, by routine.create (reply.webhook.secret); views never carry it.
    if (v.trigger.type === 'webhook') delete v.trigger.secret;
    const c = this.armed.get(r.id)?.cron;
    const next = c?.nextRun();
    if (next) v.next_fire_at = next.getTime();
    return v;
  }

  async create(input: unknown): Promise<{ routine: Routine; secret?: string }> {
    const spec = validateRoutineSpec(input);
    if (this.routines.has(spec.id)) throw new RoutineInputError('id', `routine ${JSON.stringify(spec.id)} already exists`);
    const agents = this.d.knownAgents?.();
    const agent = spec.agent ?? 'default';
    if (agents && (spec.kind ?? 'agent_turn') === 'agent_turn' && !agents.includes(agent)) {
      throw new RoutineInputError('agent', `no agent ${JSON.stringify(agent)} is configured (agents: ${agents.join(', ') || 'none'})`);
    }
    if (spec.trigger.type === 'event') await this.compile(spec.trigger.pattern, spec.trigger.flags);
    let secret: string | undefined;
    if (spec.trigger.type === 'webhook') {
      secret = spec.trigger.secret ?? randomBytes(24).toString('base64url');
      spec.trigger = { ...spec.trigger, secret };
    }
    const r: Routine = {
      ...spec,
      kind: spec.kind ?? 'agent_turn',
      ...(spec.kind === 'noop' ? {} : { agent: spec.agent ?? 'default' }),
      enabled: spec.enabled ?? true,
      created_at: this.clock(),
      consecutive_failures: 0,
      fired: 0,
      skipped: 0,
    };
    await this.d.store.put(PREFIX + r.id, r);
    this.routines.set(r.id, r);
    if (r.enabled) await this.arm(r);
    return { routine: this.view(r), ...(secret ? { secret } : {}) };
  }

  private async compile(pattern: string, flags = ''): Promise<EventMatcher> {
    const maxInput = this.d.config.event_max_input;
    try {
      const { engine, regex } = compileSafeRegex(pattern, flags, { path: 'trigger.pattern', allowedFlags: 'ims', maxInput, probeMs: this.d.config.regex_probe_ms });
      // Inputs are capped to what the probe measured.
      return { engine, test: (s) => regex.test(s.length > maxInput ? s.slice(0, maxInput) : s) };
    } catch (e) {
      if (e instanceof UnsafePatternError) throw new RoutineInputError('trigger.pattern', e.reason);
      throw e;
    }
  }

  async remove(id: string): Promise<boolean> {
    if (!this.routines.has(id)) return false;
    this.disarm(id);
    await this.d.store.remove(PREFIX + id);
    this.routines.delete(id);
    return true;
  }

  async setEnabled(id: string, enabled: boolean, reason?: string): Promise<Routine> {
    const r = this.mustGet(id);
    r.enabled = enabled;
    if (enabled) {
      r.consecutive_failures = 0;
      delete r.disabled_reason;
      // Re-enabling starts the cron schedule from now: slots while disabled are not "missed".
      if (r.trigger.type === 'cron') r.last_cron_slot = this.clock();
    } else if (reason) r.disabled_reason = reason;
    await this.save(r);
    if (enabled) await this.arm(r);
    else this.disarm(id);
    return this.view(r);
  }

  private mustGet(id: string): Routine {
    const r = this.routines.get(id);
    if (!r) throw new RoutineNotFound('id', `no routine ${JSON.stringify(id)}`);
    return r;
  }

  private save(r: Routine): Promise<boolean> {
    return this.d.store.put(PREFIX + r.id, r);
  }

  private activeSet(id: string): Set<string> {
    let s = this.active.get(id);
    if (!s) this.active.set(id, (s = new Set()));
    return s;
  }

  private async arm(r: Routine): Promise<void> {
    this.disarm(r.id);
    const t = r.trigger;
    if (t.type === 'cron') {
      const cron: Cron = new Cron(t.expr, { ...cronOptions(t.tz), protect: false }, (): void => this.onCron(r.id, cron));
      this.armed.set(r.id, { cron });
      this.nextSlot.set(r.id, cron.nextRun()?.getTime());
    } else if (t.type === 'event') {
      const matcher = await this.compile(t.pattern, t.flags);
      const unsubscribe = this.d.subscribe(t.topic, (payload) => this.onEvent(r.id, matcher, payload));
      this.armed.set(r.id, { matcher, unsubscribe });
    }
  }

  private disarm(id: string): void {
    const a = this.armed.get(id);
    a?.cron?.stop();
    a?.unsubscribe?.();
    this.armed.delete(id);
    this.nextSlot.delete(id);
  }

  private readonly nextSlot = new Map<string, number | undefined>();

  private onCron(id: string, cron: Cron): void {
    const slot = this.nextSlot.get(id) ?? this.clock();
    this.nextSlot.set(id, cron.nextRun()?.getTime());
    const r = this.routines.get(id);
    if (!r) return;
    this.cronLateness.push(this.clock() - slot);
    if (this.cronLateness.length > 100) this.cronLateness.shift();
    r.last_cron_slot = slot;
    void this.fire(id, 'cron').catch((e) => this.d.log?.warn({ err: e, routine: id }, 'cron firing failed'));
  }

  private onEvent(id: string, matcher: EventMatcher, payload: unknown): void {
    const r = this.routines.get(id);
    if (!r?.enabled) return;
    const text = eventText(payload);
    if (!matcher.test(text)) return;
    this.counters.event_matches++;
    void this.fire(id, 'event', text).catch((e) => this.d.log?.warn({ err: e, routine: id }, 'event firing failed'));
  }

  /** Cron slots between the last handled one and now were missed (service down): skip or run once. */
  private async handleMissed(r: Routine): Promise<void> {
    if (r.trigger.type !== 'cron') return;
    const now = this.clock();
    const base = r.last_cron_slot ?? r.created_at;
    const missed = cronNextRuns(r.trigger.expr, r.trigger.tz, 1000, new Date(base)).filter((d) => d.getTime() < now - 1000);
    if (missed.length === 0) return;
    this.counters.missed += missed.length;
    r.last_cron_slot = missed[missed.length - 1].getTime();
    const policy = r.trigger.missed ?? 'skip';
    this.d.log?.info({ routine: r.id, missed: missed.length, policy }, 'cron firings missed while down');
    if (policy === 'run_once') await this.fire(r.id, 'cron', `missed ${missed.length} firing(s) while the service was down; last due ${missed[missed.length - 1].toISOString()}`);
    else {
      r.skipped += missed.length;
      await this.save(r);
    }
  }

  /**
   * Fire a routine: guardrails, then submit its job. Manual runs ignore `enabled` and the cooldown
   * (a user asked for it) but not `max_concurrent`.
   */
  async fire(id: string, source: FireSource, input?: string): Promise<FireResultT> {
    const r = this.mustGet(id);
    const now = this.clock();
    const skip = async (reason: string): Promise<FireResultT> => {
      r.skipped++;
      this.counters.skipped++;
      await this.save(r);
      return { skipped: reason };
    };
    if (source !== 'manual') {
      if (!r.enabled) return skip(r.disabled_reason ? `disabled: ${r.disabled_reason}` : 'disabled');
      const cooldown = r.cooldown_ms ?? this.d.config.cooldown_ms;
      if (cooldown > 0 && r.last_fired_at !== undefined && now - r.last_fired_at < cooldown) return skip(`cooldown: ${cooldown - (now - r.last_fired_at)} ms left`);
    }
    const act = this.activeSet(id);
    const max = r.max_concurrent ?? this.d.config.max_concurrent;
    if (act.size >= max) return skip(`max_concurrent: ${act.size} run(s) unfinished (limit ${max})`);
    // Reserve before awaiting so concurrent firings see the slot and the cooldown.
    const placeholder = `pending-${now}-${Math.random()}`;
    act.add(placeholder);
    r.last_fired_at = now;
    try {
      const limit = this.d.config.trigger_payload_max_chars;
      const extra = input && limit > 0 ? `\n\n[${source} trigger]\n${input.length > limit ? input.slice(0, limit) + '…' : input}` : '';
      const job = await this.d.submit({
        kind: r.kind ?? 'agent_turn',
        ...(r.agent && r.kind !== 'noop' ? { agent: r.agent } : {}),
        ...(r.prompt !== undefined ? { prompt: r.prompt + extra } : {}),
        ...(r.model ? { model: r.model } : {}),
        ...(r.params ? { params: r.params } : {}),
        ...(r.retry ? { retry: r.retry } : {}),
        ...(r.timeout_ms ? { timeout_ms: r.timeout_ms } : {}),
        routine_id: r.id,
      });
      act.add(job.id);
      r.fired++;
      r.last_job_id = job.id;
      this.counters.fired++;
      this.d.onFired?.(r, source, job.id);
      await this.save(r);
      return { job_id: job.id };
    } finally {
      act.delete(placeholder);
    }
  }

  /** Guardrail bookkeeping when one of a routine's jobs finishes. */
  async onJobFinished(job: Job): Promise<void> {
    if (!job.routine_id) return;
    this.active.get(job.routine_id)?.delete(job.id);
    const r = this.routines.get(job.routine_id);
    if (!r) return;
    if (job.state === 'completed') {
      if (r.consecutive_failures === 0) return;
      r.consecutive_failures = 0;
    } else if (job.state === 'failed') {
      r.consecutive_failures++;
      const max = r.max_consecutive_failures ?? this.d.config.max_consecutive_failures;
      if (r.enabled && r.consecutive_failures >= max) {
        this.counters.auto_disabled++;
        const reason = `auto-disabled after ${r.consecutive_failures} consecutive failures (last: ${job.error?.message ?? 'unknown'})`;
        r.enabled = false;
        r.disabled_reason = reason;
        this.disarm(r.id);
        this.d.log?.warn({ routine: r.id }, reason);
        this.d.publish?.('notifications', { kind: 'routine_disabled', routine: r.id, reason, at: this.clock() });
      }
    } else return;
    await this.save(r);
  }
}
