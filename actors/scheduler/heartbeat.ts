/**
 * Heartbeat: at an interval, each agent's `HEARTBEAT.md` (in its workspace) runs as a silent
 * `agent_turn` job with purpose `heartbeat`. No job, hence no LLM call, when the file is missing or
 * has no actionable content (see `isHeartbeatEmpty`). The prompt asks the model to answer exactly
 * `HEARTBEAT_OK` when nothing needs attention; any other answer is published on the notifications
 * topic (see `parseHeartbeatAnswer`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ActorStore } from '../../src/kernel/actor.js';
import type { Job, JobSubmit, SchedulerConfig } from '../../protocol/scheduler.js';

type HeartbeatConfig = SchedulerConfig['heartbeat'];

const LINE_IS_EMPTY = [
  /^$/, // blank
  /^#{1,6}(\s.*)?$/, // ATX heading: a title, not an instruction
  /^(=+|-+)$/, // setext underline
  /^([-*_]\s*){3,}$/, // thematic break
  /^([-*+]|\d+[.)])(\s+\[[ xX]?\])?$/, // list item or checkbox with no text
  /^>+$/, // empty block quote
];

/**
 * True when HEARTBEAT.md has nothing to act on. After removing HTML comments (`<!-- … -->`, an
 * unterminated `<!--` comments out the rest of the file), every line, trimmed, must be one of:
 * blank, an ATX heading (`# Title` — headings name sections, they are not tasks), a setext
 * underline (`===`/`---`), a thematic break (`***`, `- - -`), a list item or checkbox with no text
 * (`-`, `1.`, `- [ ]`), or a bare `>`. Any other line is content, and the heartbeat runs.
 */
export function isHeartbeatEmpty(text: string | undefined): boolean {
  if (text === undefined) return true;
  let s = text.replace(/^\uFEFF/, '').replace(/<!--[\s\S]*?-->/g, '');
  const open = s.indexOf('<!--');
  if (open >= 0) s = s.slice(0, open);
  return s.split(/\r?\n/).every((line) => {
    const t = line.trim();
    return LINE_IS_EMPTY.some((re) => re.test(t));
  });
}

export function buildHeartbeatPrompt(content: string, okToken: string, file = 'HEARTBEAT.md'): string {
  return [
    '[Scheduled heartbeat check — the user is not watching this turn]',
    `Read the checklist below (from ${file} in your workspace) and do what it asks.`,
    `If nothing needs the user's attention, answer with exactly: ${okToken}`,
    `Otherwise answer with a short message for the user saying what needs attention, and do not include ${okToken}.`,
    '',
    `--- ${file} ---`,
    content.trim(),
  ].join('\n');
}

/** How much text may accompany the OK token and still count as "nothing to report". */
export const OK_SLACK_CHARS = 80;

/**
 * The answer protocol: the reply (trimmed, markdown emphasis/backticks around the token ignored)
 * is silent when it is empty, or when it starts or ends with the OK token and what remains is at
 * most OK_SLACK_CHARS characters (e.g. "HEARTBEAT_OK — all quiet."). Anything else — no token, the
 * token buried in the middle, or a long message around it — means action is needed, and the
 * notice is the answer with the token removed.
 */
export function parseHeartbeatAnswer(answer: string, okToken = 'HEARTBEAT_OK'): { actionNeeded: boolean; notice: string } {
  const t = answer.trim();
  if (t === '') return { actionNeeded: false, notice: '' };
  const esc = okToken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const tok = new RegExp(`[*_\`]*${esc}[*_\`]*`);
  const atStart = new RegExp(`^${tok.source}`);
  const atEnd = new RegExp(`${tok.source}[.!]?$`);
  let rest: string | undefined;
  if (atStart.test(t)) rest = t.replace(atStart, '');
  else if (atEnd.test(t)) rest = t.replace(atEnd, '');
  if (rest !== undefined) {
    const r = rest.replace(/^[\s\-—–:.,!]+|[\s\-—–:.,]+$/g, '');
    if (r.length <= OK_SLACK_CHARS) return { actionNeeded: false, notice: r };
    return { actionNeeded: true, notice: r };
  }
  return { actionNeeded: true, notice: t.replace(new RegExp(tok.source, 'g'), '').trim() };
}

export interface HeartbeatAgent {
  id: string;
  workspace: string;
}

/**
 * Agents of the root config with their workspaces, resolved as the agent actor does: `agents` is a
 * list of `{id, workspace}` (a map `id → {workspace}` is accepted too); workspace '' means
 * `<dataDir>/workspaces/<id>`, a relative one is relative to the working directory. No `agents`
 * section means the one `default` agent.
 */
export function heartbeatAgents(rootConfig: Readonly<Record<string, any>>, dataDir: string, only: string[]): HeartbeatAgent[] {
  const a = rootConfig?.agents;
  let list: Array<{ id: string; workspace?: unknown }>;
  if (Array.isArray(a)) list = a.filter((x) => x && typeof x.id === 'string');
  else if (a && typeof a === 'object') list = Object.entries(a as Record<string, any>).map(([id, v]) => ({ id, workspace: v?.workspace }));
  else list = [{ id: 'default' }];
  if (only.length > 0) list = only.map((id) => list.find((x) => x.id === id) ?? { id });
  return list.map(({ id, workspace }) => ({
    id,
    workspace: typeof workspace === 'string' && workspace ? path.resolve(workspace) : path.join(dataDir, 'workspaces', id),
  }));
}

export interface HeartbeatDeps {
  config: HeartbeatConfig;
  agents: HeartbeatAgent[];
  store: ActorStore;
  submit(spec: JobSubmit): Promise<{ id: string }>;
  isActive(jobId: string): boolean;
  publish(topic: string, payload: unknown): void;
  clock?: () => number;
  log?: { warn(o: unknown, m?: string): void };
}

export type HeartbeatOutcome = 'submitted' | 'skipped_empty' | 'skipped_busy' | 'error';

export class HeartbeatService {
  readonly counters = { submitted: 0, skipped_empty: 0, skipped_busy: 0, notified: 0, silent: 0 };
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly lastJob = new Map<string, string>();
  private readonly clock: () => number;

  constructor(private readonly d: HeartbeatDeps) {
    this.clock = d.clock ?? Date.now;
  }

  /** Arm one timer per agent; the first beat comes one interval after the last persisted one, and not before min(interval, 60 s) from now. */
  start(): void {
    if (!this.d.config.enabled) return;
    for (const a of this.d.agents) {
      const last = this.d.store.get<{ last_run_at: number }>(`hb:${a.id}`)?.last_run_at ?? this.clock();
      // Never right at start-up: a short-lived process (a CLI command booting the service in
      // process) must not spend tokens on a heartbeat that was due while nothing ran.
      const first = Math.max(Math.min(this.d.config.interval_ms, 60_000), last + this.d.config.interval_ms - this.clock());
      this.arm(a, first);
    }
  }

  private arm(a: HeartbeatAgent, delay: number): void {
    const t = setTimeout(() => {
      void this.beat(a).finally(() => {
        if (this.timers.has(a.id)) this.arm(a, this.d.config.interval_ms);
      });
    }, delay);
    t.unref?.();
    this.timers.set(a.id, t);
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** One heartbeat for one agent. */
  async beat(a: HeartbeatAgent): Promise<HeartbeatOutcome> {
    try {
      const file = path.join(a.workspace, this.d.config.file);
      const text = await readFile(file, 'utf8').catch(() => undefined);
      await this.d.store.put(`hb:${a.id}`, { last_run_at: this.clock() });
      if (isHeartbeatEmpty(text)) {
        this.counters.skipped_empty++;
        return 'skipped_empty';
      }
      const prev = this.lastJob.get(a.id);
      if (prev && this.d.isActive(prev)) {
        this.counters.skipped_busy++;
        return 'skipped_busy';
      }
      const { id } = await this.d.submit({
        kind: 'agent_turn',
        agent: a.id,
        prompt: buildHeartbeatPrompt(text!, this.d.config.ok_token, this.d.config.file),
        purpose: 'heartbeat',
        ...(this.d.config.model ? { model: this.d.config.model } : {}),
        retry: { max_attempts: 1, backoff_ms: 0 },
        timeout_ms: this.d.config.timeout_ms,
      });
      this.lastJob.set(a.id, id);
      this.counters.submitted++;
      return 'submitted';
    } catch (e) {
      this.d.log?.warn({ err: e, agent: a.id }, 'heartbeat failed');
      return 'error';
    }
  }

  /** Called for every finished job: notify when a heartbeat answer says action is needed. */
  onJobFinished(job: Job): void {
    if (job.purpose !== 'heartbeat' || job.state !== 'completed' || !job.agent) return;
    const r = job.result as { action_needed?: boolean; notice?: string; text?: string } | undefined;
    if (r?.action_needed) {
      this.counters.notified++;
      this.d.publish(this.d.config.notify_topic, { kind: 'heartbeat', agent: job.agent, job_id: job.id, text: r.notice || r.text || '', at: this.clock() });
    } else this.counters.silent++;
  }
}
