/**
 * How `rustyclaw chat` reports an answer that did not end normally: a notice on stderr naming the
 * provider and model, and (one-shot mode) a distinct exit code, so scripts can tell a complete
 * answer from a cut-off or refused one. `--show-reasoning` prints the model's reasoning to stderr.
 */
import type { AgentSendReply } from '../../protocol/agent.js';

/** Exit codes of a one-shot `chat` whose turn itself succeeded (1 = the turn failed). */
export const CHAT_EXIT_CODES = {
  /** The model refused (finish_reason `refusal`) or the provider's content filter stopped it (`content_filter`). */
  refused: 3,
  /** The answer was cut off by the output token limit (finish_reason `length`). */
  truncated: 4,
} as const;

export interface FinishReport {
  /** Lines for stderr (without trailing newline). */
  lines: string[];
  exitCode: number;
}

export function finishReport(reply: Pick<AgentSendReply, 'finish_reason' | 'refusal' | 'reasoning' | 'usage'>, opts: { showReasoning?: boolean } = {}): FinishReport {
  const lines: string[] = [];
  const who = `${reply.usage.provider || '-'}/${reply.usage.model || '-'}`;
  if (opts.showReasoning && reply.reasoning) lines.push(`--- reasoning (${who}) ---`, reply.reasoning, '--- end of reasoning ---');
  switch (reply.finish_reason) {
    case 'refusal':
      lines.push(`notice: ${who} refused to answer${reply.refusal ? `: ${reply.refusal}` : ''}`);
      return { lines, exitCode: CHAT_EXIT_CODES.refused };
    case 'content_filter':
      lines.push(`notice: ${who} stopped the answer with its content filter; what was printed may be incomplete`);
      return { lines, exitCode: CHAT_EXIT_CODES.refused };
    case 'length':
      lines.push(`notice: the answer from ${who} was cut off by the output token limit (max_tokens / max_output_tokens); it is incomplete`);
      return { lines, exitCode: CHAT_EXIT_CODES.truncated };
    default:
      return { lines, exitCode: 0 };
  }
}

/** Print the report on stderr; in one-shot mode, set the process exit code. */
export function reportFinish(reply: Parameters<typeof finishReport>[0], err: (s: string) => void, opts: { showReasoning?: boolean; oneShot?: boolean } = {}): void {
  const r = finishReport(reply, opts);
  for (const l of r.lines) err(`${l}\n`);
  if (opts.oneShot && r.exitCode) process.exitCode = r.exitCode;
}
