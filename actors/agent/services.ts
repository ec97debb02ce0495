/**
 * The agent's optional collaborators, reached by message: `system/memory` for context and
 * `system/safety` for inbound/untrusted inspection and log redaction. A missing actor
 * (`unknown_actor`) is not an error: memory is skipped (debug), safety is skipped with one warn.
 * Replies are typed from protocol/memory.ts and protocol/safety.ts: no shape is guessed.
 */
import type { Logger } from 'pino';
import type { BuiltinMessages, TypedAsk } from '../../protocol/index.js';
import type { MemoryHit } from '../../protocol/memory.js';
import type { SafetyFinding, SafetyVerdict } from '../../protocol/safety.js';
import { AgentError, type AgentServices } from './loop.js';

export const MEMORY_PATH = 'system/memory';
export const SAFETY_PATH = 'system/safety';

/** A hit as one prompt line: its text (whitespace folded, cut at 600 chars) and where it is from. */
function snippet(h: MemoryHit): string {
  const where = h.location.path ?? h.source;
  return `${h.text.replace(/\s+/g, ' ').slice(0, 600)}${where ? ` (${where})` : ''}`;
}

/** A verdict that blocks; the reason names the rules that fired. */
function blockReason(r: { action: SafetyVerdict; findings: SafetyFinding[] }): string | undefined {
  if (r.action !== 'block') return undefined;
  const blocking = r.findings.filter((f) => f.action === 'block');
  const rules = [...new Set((blocking.length ? blocking : r.findings).map((f) => f.rule))];
  return rules.length ? rules.join(', ') : 'blocked by the safety policy';
}

export function makeServices(ask: TypedAsk<BuiltinMessages>, agent: string, log: Logger): AgentServices {
  let safetyMissingLogged = false;
  let safetyMissing = false;
  /** Runs a safety ask; `undefined` when the safety actor is not running (logged once). */
  const safety = async <R>(call: () => Promise<R>): Promise<R | undefined> => {
    if (safetyMissing) return undefined;
    try {
      return await call();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'unknown_actor') {
        safetyMissing = true;
        if (!safetyMissingLogged) {
          safetyMissingLogged = true;
          log.warn({ agent }, `${SAFETY_PATH} is not running: inbound text and tool outputs are not inspected`);
        }
        return undefined;
      }
      throw e;
    }
  };
  const SAFETY_TIMEOUT = { timeoutMs: 10_000 };
  // A failing memory actor would otherwise warn on every turn: warn once until it works again.
  let memoryFailing = false;
  return {
    async memorySearch(query, k, signal) {
      try {
        const r = await ask(MEMORY_PATH, 'memory.search', { query, k }, { timeoutMs: 5_000, signal });
        memoryFailing = false;
        return r.hits.map(snippet).filter((s) => s.trim().length > 0);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'unknown_actor') log.debug({ agent }, `${MEMORY_PATH} not running; no memory context`);
        else if (!memoryFailing) {
          memoryFailing = true;
          log.warn({ agent, code }, `memory.search failed (turns go on without memory context until it works again): ${(e as Error).message}`);
        } else log.debug({ agent, code }, `memory.search still failing: ${(e as Error).message}`);
        return [];
      }
    },
    async inspectInbound(text, channel) {
      const r = await safety(() => ask(SAFETY_PATH, 'safety.inspect_inbound', { text, agent, channel }, SAFETY_TIMEOUT));
      if (!r) return text;
      const why = blockReason(r);
      if (why) throw new AgentError('blocked_by_safety', `message blocked by safety: ${why}`);
      return r.text;
    },
    async inspectUntrusted(text, tool) {
      const r = await safety(() => ask(SAFETY_PATH, 'safety.inspect_untrusted', { text, source: 'tool', agent }, SAFETY_TIMEOUT));
      if (!r) return text;
      const why = blockReason(r);
      if (why) return `[tool output from ${tool} withheld by safety: ${why}]`;
      return r.text;
    },
    async redact(text) {
      const r = await safety(() => ask(SAFETY_PATH, 'safety.redact', { text, agent }, SAFETY_TIMEOUT));
      return r ? r.text : text;
    },
  };
}
