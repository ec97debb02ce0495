/**
 * The agent's optional collaborators, reached by message: `system/memory` for context and
 * `system/safety` for inbound/untrusted inspection and log redaction. A missing actor
 * (`unknown_actor`) is not an error: memory is skipped (debug), safety is skipped with one warn.
 */
import type { Logger } from 'pino';
import { AgentError, type AgentServices } from './loop.js';

type Ask = (to: string, type: string, payload?: unknown, opts?: { timeoutMs?: number; signal?: AbortSignal }) => Promise<any>;

export const MEMORY_PATH = 'system/memory';
export const SAFETY_PATH = 'system/safety';

function snippets(reply: any): string[] {
  const list: any[] = Array.isArray(reply?.hits) ? reply.hits : Array.isArray(reply) ? reply : [];
  return list.map((h) => {
    if (typeof h === 'string') return h;
    const text = h?.text ?? h?.content ?? h?.snippet ?? h?.chunk ?? '';
    const where = h?.location?.path ?? h?.path ?? h?.source;
    return `${String(text).replace(/\s+/g, ' ').slice(0, 600)}${where ? ` (${where})` : ''}`;
  }).filter((s) => s.trim().length > 0);
}

/** A safety reply that blocks (`action: 'block'`, protocol/safety.ts); the reason names the rules that fired. */
function blockReason(r: any): string | undefined {
  if (!r || typeof r !== 'object') return undefined;
  if (r.action === 'block' || r.blocked === true) {
    const why = r.reason ?? (Array.isArray(r.reasons) ? r.reasons.join('; ') : undefined) ?? (Array.isArray(r.findings) ? r.findings.map((f: any) => f?.rule ?? f?.type ?? f).join(', ') : undefined);
    return String(why ?? 'blocked by the safety policy');
  }
  return undefined;
}

export function makeServices(ask: Ask, agent: string, log: Logger): AgentServices {
  let safetyMissingLogged = false;
  let safetyMissing = false;
  const safety = async (type: string, payload: unknown): Promise<any> => {
    if (safetyMissing) return undefined;
    try {
      return await ask(SAFETY_PATH, type, payload, { timeoutMs: 10_000 });
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
  // A failing memory actor would otherwise warn on every turn: warn once until it works again.
  let memoryFailing = false;
  return {
    async memorySearch(query, k, signal) {
      try {
        const hits = snippets(await ask(MEMORY_PATH, 'memory.search', { query, k }, { timeoutMs: 5_000, signal }));
        memoryFailing = false;
        return hits;
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
      const r = await safety('safety.inspect_inbound', { text, agent, channel });
      const why = blockReason(r);
      if (why) throw new AgentError('blocked_by_safety', `message blocked by safety: ${why}`);
      return typeof r?.text === 'string' ? r.text : text;
    },
    async inspectUntrusted(text, tool) {
      const r = await safety('safety.inspect_untrusted', { text, source: 'tool', agent });
      const why = blockReason(r);
      if (why) return `[tool output from ${tool} withheld by safety: ${why}]`;
      return typeof r?.text === 'string' ? r.text : text;
    },
    async redact(text) {
      const r = await safety('safety.redact', { text, agent });
      return typeof r?.text === 'string' ? r.text : typeof r === 'string' ? r : text;
    },
  };
}
