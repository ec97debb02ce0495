/**
 * The agent's view of `system/tool-runner`: the registered sandboxed tools (listed each turn) and
 * calls to them by message. A runner that is not running means no sandboxed tools, not an error.
 */
import type { ActorContext } from '../../src/kernel/actor.js';
import { TOOL_RUNNER_ACTOR } from '../../protocol/tool-runner.js';
import type { RemoteTools } from './tools.js';

export function sandboxedTools(ctx: Pick<ActorContext<unknown>, 'ask'>, agent: string, workspace: string): RemoteTools {
  return {
    async list() {
      try {
        const r = await ctx.ask(TOOL_RUNNER_ACTOR, 'tool.list', {}, { timeoutMs: 5_000 });
        return r.tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
      } catch (e) {
        if ((e as { code?: string }).code === 'unknown_actor') return [];
        throw e;
      }
    },
    async run(name, args, c, timeoutMs) {
      const r = await ctx.ask(TOOL_RUNNER_ACTOR, 'tool.run', { name, args, agent, workspace, timeout_ms: timeoutMs }, { timeoutMs: timeoutMs + 5_000, signal: c.signal });
      if (r.ok) return { ok: true, content: r.output };
      const output = r.output ? `\noutput so far:\n${r.output.slice(0, 2000)}` : '';
      const log = r.log ? `\ntool log:\n${r.log.slice(0, 1000)}` : '';
      return { ok: false, code: r.code, content: `error: ${r.code}: ${r.message}${output}${log}` };
    },
  };
}
