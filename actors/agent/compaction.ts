/**
 * Context compaction. When a session's context reaches `threshold` × window it is brought down to
 * at most `target` × window with the configured strategy:
 *
 * - `truncate`: drop the oldest turns, keep the system prompt and the last N turns;
 * - `summarize`: an LLM-written executive summary of the dropped turns (and the previous summary)
 *   replaces them;
 * - `move_to_workspace`: the dropped turns are appended to `<workspace>/memory/YYYY-MM-DD.md` and a
 *   pointer to that file stays in context.
 *
 * It never spirals: compaction is one bounded pass, not a loop. A failed summary, a summary that
 * does not bring the context under the threshold, or a failed archive write falls back to plain
 * truncation, and when the last turn alone is still too big its largest messages are clipped. The
 * summary call itself is clipped to fit the window and can never trigger a compaction.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ChatMessage } from '../../protocol/provider.js';
import type { CompactionConfig } from '../../protocol/agent.js';
import type { Entry, Session, SessionStore } from './sessions.js';
import { clipText, messageTokens } from './tokens.js';

/** Index where a kept suffix may start: a user message (tool calls stay with their results). */
export function turnStarts(entries: Entry[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < entries.length; i++) if (entries[i].m.role === 'user') out.push(i);
  return out;
}

/**
 * Where to cut so that `entries[cut..]` keeps at most `keepLastTurns` turns and fits `budget`
 * tokens (fewer turns when needed, but always at least the last one).
 */
export function planCut(entries: Entry[], budget: number, keepLastTurns: number): number {
  const starts = turnStarts(entries);
  if (!starts.length) return 0;
  const suffix = new Array<number>(entries.length + 1).fill(0);
  for (let i = entries.length - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + entries[i].t;
  let k = Math.min(keepLastTurns, starts.length);
  while (k > 1 && suffix[starts[starts.length - k]] > budget) k--;
  return starts[starts.length - k];
}

/** Shrink the biggest kept messages until the kept part fits `budget`. Returns the rewritten entries. */
export function clipToFit(kept: Entry[], budget: number): Entry[] {
  const rewritten: Entry[] = [];
  let total = kept.reduce((n, e) => n + e.t, 0);
  // Largest first; each message is clipped at most once, so this ends after kept.length steps.
  const order = [...kept].sort((a, b) => b.t - a.t);
  for (const e of order) {
    if (total <= budget) break;
    const excess = total - budget;
    const allowed = Math.max(16, e.t - excess - 8);
    if (allowed >= e.t) continue;
    const m: ChatMessage = { ...e.m, content: clipText(e.m.content, allowed) };
    if (m.tool_calls && e.m.tool_calls) m.tool_calls = e.m.tool_calls.map((c) => ({ ...c, arguments: c.arguments.length > 2000 ? '{}' : c.arguments }));
    // Plain reasoning text (DeepSeek reasoning_content) may be shortened; the field must stay.
    // Signed Anthropic thinking blocks are sent back unchanged or not at all, so they stay as they are.
    if (m.reasoning?.text && !m.reasoning.blocks?.length) m.reasoning = { ...m.reasoning, text: clipText(m.reasoning.text, Math.max(16, Math.floor(allowed / 2))) };
    const t = messageTokens(m);
    total -= e.t - t;
    e.m = m;
    e.t = t;
    rewritten.push(e);
  }
  return rewritten;
}

export function renderTranscript(entries: Entry[]): string {
  return entries.map((e) => {
    const m = e.m;
    const who = m.role === 'tool' ? `tool ${m.name ?? ''}`.trim() : m.role;
    const calls = m.tool_calls?.length ? `\n(called ${m.tool_calls.map((c) => `${c.name}(${c.arguments})`).join(', ')})` : '';
    return `**${who}**: ${m.content}${calls}`;
  }).join('\n\n');
}

export interface CompactionDeps {
  sessions: SessionStore;
  config: CompactionConfig;
  window: number;
  workspace: string;
  agent: string;
  /** Tokens of everything around the history: system prompt, notes/summary, tools. */
  fixedTokens(s: Session): number;
  /** Writes an executive summary; may throw. */
  summarize?(transcript: string, previous: string | undefined, maxTokens: number, signal: AbortSignal): Promise<string>;
  countText(text: string): number;
  log: { warn(obj: unknown, msg?: string): void; info(obj: unknown, msg?: string): void };
  now?: () => Date;
}

export interface CompactionOutcome {
  strategy: 'summarize' | 'truncate' | 'move_to_workspace';
  /** Set when the configured strategy could not be used. */
  fell_back?: string;
  tokens_before: number;
  tokens_after: number;
  dropped: number;
  clipped: number;
}

const MAX_NOTES = 5;

export function contextTokens(deps: CompactionDeps, s: Session): number {
  return deps.fixedTokens(s) + s.liveTokens;
}

export function needsCompaction(deps: CompactionDeps, s: Session): boolean {
  return contextTokens(deps, s) > Math.floor(deps.config.threshold * deps.window);
}

/**
 * One compaction pass. `squeeze` (≥ 1) shrinks the target further: used after a provider said
 * the context was too long although our count said it fit.
 */
export async function compact(deps: CompactionDeps, s: Session, signal: AbortSignal, squeeze = 1): Promise<CompactionOutcome> {
  const { config, window } = deps;
  const before = contextTokens(deps, s);
  const threshold = Math.floor(config.threshold * window);
  const target = Math.floor(Math.min(config.target, config.threshold) * window / squeeze);
  let strategy: CompactionOutcome['strategy'] = config.strategy;
  let fellBack: string | undefined;

  const historyBudget = () => Math.max(0, target - deps.fixedTokens(s));
  let cut = planCut(s.live, historyBudget(), config.keep_last_turns);
  const dropped = s.live.slice(0, cut);

  if (strategy === 'summarize' && dropped.length && deps.summarize) {
    const previous = s.meta.summary;
    try {
      const maxSummary = Math.max(64, Math.floor(window * 0.15));
      // The summariser's own input must fit the window: clip the transcript (most recent kept).
      const room = Math.max(256, Math.floor(window * 0.6) - maxSummary - (previous ? deps.countText(previous) : 0));
      let transcript = renderTranscript(dropped);
      if (deps.countText(transcript) > room) transcript = clipText(transcript, room);
      const summary = (await deps.summarize(transcript, previous, maxSummary, signal)).trim();
      if (!summary) throw new Error('the summary came back empty');
      const clipped = deps.countText(summary) > maxSummary ? clipText(summary, maxSummary) : summary;
      const oldSummary = s.meta.summary;
      s.meta.summary = clipped;
      const keptTokens = s.live.slice(cut).reduce((n, e) => n + e.t, 0);
      if (deps.fixedTokens(s) + keptTokens > threshold) {
        s.meta.summary = oldSummary;
        throw new Error('the summary did not bring the context under the threshold');
      }
    } catch (e) {
      if (signal.aborted) throw e;
      fellBack = `summary failed (${(e as Error).message}); truncated instead`;
      deps.log.warn({ agent: deps.agent, session: s.meta.id }, `compaction: ${fellBack}`);
      strategy = 'truncate';
    }
  } else if (strategy === 'move_to_workspace' && dropped.length) {
    try {
      const now = deps.now?.() ?? new Date();
      const day = now.toISOString().slice(0, 10);
      const rel = path.posix.join('memory', `${day}.md`);
      const file = path.join(deps.workspace, 'memory', `${day}.md`);
      await mkdir(path.dirname(file), { recursive: true });
      const header = `\n## Session ${s.meta.id} — archived ${now.toISOString().slice(11, 19)} UTC (${dropped.length} messages)\n\n`;
      await appendFile(file, `${header}${renderTranscript(dropped)}\n`);
      const note = `Earlier turns of this conversation were archived to ${rel} in your workspace (read it with read_workspace_file when needed).`;
      s.meta.notes = [...s.meta.notes.filter((n) => n !== note), note].slice(-MAX_NOTES);
    } catch (e) {
      fellBack = `archive failed (${(e as Error).message}); truncated instead`;
      deps.log.warn({ agent: deps.agent, session: s.meta.id }, `compaction: ${fellBack}`);
      strategy = 'truncate';
    }
  } else if (strategy === 'summarize' && dropped.length && !deps.summarize) {
    fellBack = 'no summariser available; truncated instead';
    strategy = 'truncate';
  }

  // Notes/summary may have grown the fixed part: re-plan the cut against the final budget.
  cut = Math.max(cut, planCut(s.live, historyBudget(), config.keep_last_turns));
  const kept = s.live.slice(cut);
  const rewritten = clipToFit(kept, Math.max(0, Math.min(threshold, target) - deps.fixedTokens(s)));
  await deps.sessions.compact(s, cut, rewritten);
  const after = contextTokens(deps, s);
  deps.log.info({ agent: deps.agent, session: s.meta.id, strategy, before, after, dropped: cut, clipped: rewritten.length }, 'context compacted');
  return { strategy, ...(fellBack ? { fell_back: fellBack } : {}), tokens_before: before, tokens_after: after, dropped: cut, clipped: rewritten.length };
}
