/**
 * The agent's view of `system/mcp`: the tools of connected MCP servers under their qualified names
 * (`<server>__<tool>`), listed each turn, and calls routed by that name through the actor's lookup
 * table. A cancelled turn cancels its MCP calls (`mcp.cancel`); progress notifications become
 * `tool_progress` events. No mcp actor (no server configured) means no MCP tools, not an error.
 */
import { randomUUID } from 'node:crypto';
import type { ActorContext } from '../../src/kernel/actor.js';
import { MCP_ACTOR, MCP_PROGRESS_TOPIC } from '../../protocol/mcp.js';
import type { RemoteTools } from './tools.js';

type Progress = (u: { message: string; fraction?: number }) => void;

export function mcpTools(ctx: Pick<ActorContext<unknown>, 'ask' | 'tell' | 'subscribe'>, agent: string): RemoteTools {
  const progress = new Map<string, Progress>();
  let subscribed = false;
  const follow = () => {
    if (subscribed) return;
    subscribed = true;
    ctx.subscribe(MCP_PROGRESS_TOPIC, (p) => {
      const fn = progress.get(p.call_id);
      if (fn) fn({ message: p.message ?? `${p.server}/${p.tool}: ${p.progress}${p.total ? `/${p.total}` : ''}`, ...(p.total ? { fraction: Math.min(1, p.progress / p.total) } : {}) });
    });
  };
  return {
    async list() {
      try {
        const r = await ctx.ask(MCP_ACTOR, 'mcp.tools', { available_only: true }, { timeoutMs: 5_000 });
        return r.tools.map((t) => ({ name: t.qualified, description: `${t.description} (MCP server ${t.server})`.trim(), parameters: t.inputSchema }));
      } catch (e) {
        if ((e as { code?: string }).code === 'unknown_actor') return [];
        throw e;
      }
    },
    async run(name, args, c, timeoutMs) {
      follow();
      const callId = randomUUID();
      progress.set(callId, c.progress);
      const onAbort = () => ctx.tell(MCP_ACTOR, 'mcp.cancel', { call_id: callId });
      c.signal.addEventListener('abort', onAbort, { once: true });
      try {
        const r = await ctx.ask(MCP_ACTOR, 'mcp.call', { tool: name, args, agent, call_id: callId, timeout_ms: timeoutMs }, { timeoutMs: timeoutMs + 5_000, signal: c.signal });
        const structured = r.structuredContent !== undefined && !r.content.trim() ? JSON.stringify(r.structuredContent) : '';
        if (r.ok) return { ok: true, content: r.content || structured };
        return { ok: false, code: r.code, content: r.code === 'tool_error' ? `error: tool_error: ${r.content}` : r.content };
      } finally {
        progress.delete(callId);
        c.signal.removeEventListener('abort', onAbort);
      }
    },
  };
}
