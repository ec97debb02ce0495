/**
 * Agent actor (`agents/<id>`): one per entry of the `agents:` config section, each under its own
 * supervisor. Sessions live in this actor's lmdb store, so a crash/restart keeps them. The logic
 * is in loop.ts / compaction.ts / tools.ts; this file wires it to messages.
 */
import { mkdirSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import type { Static, TSchema } from '@sinclair/typebox';
import { ActorError, defineActor } from '../../src/kernel/actor.js';
import { AgentCancelRequestSchema, AgentCompleteRequestSchema, AgentSendRequestSchema, agentEventsTopic, agentMessages } from '../../protocol/agent.js';
import { providerStreamMessages } from '../../protocol/provider.js';
import { resolveAgentConfig, windowFromRoot, workspaceDir } from './config.js';
import { Agent, AgentError, type LlmClient } from './loop.js';
import { makeServices } from './services.js';
import { joinRemotes, ToolRegistry } from './tools.js';
import { mcpTools } from './mcp-tools.js';
import { sandboxedTools } from './sandboxed-tools.js';

export const ROUTER_PATH = 'system/provider-router';

/** The payload with its schema's defaults applied, checked (also under `validate: boundary`). */
function check<S extends TSchema>(schema: S, payload: unknown, type: string): Static<S> {
  const v = Value.Default(schema, structuredClone(payload ?? {}));
  const first = Value.Errors(schema, v).First();
  if (first) throw new ActorError('invalid_message', `${type}: ${first.path || '/'} ${first.message}`);
  return v as Static<S>;
}

export default defineActor({
  // Its own messages, plus the stream chunks the provider router sends to `stream_to`.
  messages: { ...agentMessages, ...providerStreamMessages },
  onCrash: 'fail',
  setup(ctx) {
    const cfg = resolveAgentConfig(ctx.config, ctx.path);
    const workspace = workspaceDir(cfg, ctx.dataDir);
    mkdirSync(workspace, { recursive: true });
    const { registry, unknown } = ToolRegistry.builtins(cfg.tools, joinRemotes([sandboxedTools(ctx, cfg.id, workspace), mcpTools(ctx, cfg.id)]));
    if (unknown.length) ctx.log.warn({ agent: cfg.id, tools: unknown }, `unknown tools in agents[${cfg.id}].tools ignored: ${unknown.join(', ')}`);
    const topic = agentEventsTopic(cfg.id);
    const streams = new Map<string, (text: string, provider: string) => void>();

    const llm: LlmClient = {
      async chat(req, onText, signal) {
        const request_id = req.request_id ?? `${ctx.path}:${Math.random().toString(36).slice(2)}`;
        streams.set(request_id, onText);
        const onAbort = () => {
          try { ctx.tell(ROUTER_PATH, 'provider.cancel', { request_id }); } catch { /* router gone: nothing to cancel */ }
        };
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          // With `stream_topic` the deltas go to the topic only: the topic's reader has them, and
          // relaying each one here as a `text` event too would cost two more thread hops per token
          // on the same two cores (the SSE token tail, decisions.md "SSE token latency", part g).
          const streamTo = req.stream_topic ? {} : { stream_to: ctx.path };
          return await ctx.ask(ROUTER_PATH, 'provider.chat', { ...req, request_id, ...streamTo }, { timeoutMs: cfg.turn_timeout_ms, signal });
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === 'unknown_actor') throw new AgentError('no_router', `${ROUTER_PATH} is not running: no LLM available`);
          if (code === 'actor_crashed') throw new AgentError('router_crashed', `${ROUTER_PATH} crashed during the request: ${(e as Error).message}`);
          throw e;
        } finally {
          streams.delete(request_id);
          signal.removeEventListener('abort', onAbort);
        }
      },
    };

    const agent = new Agent({
      id: cfg.id, config: cfg, workspace, llm, store: ctx.store, log: ctx.log, tools: registry,
      windowFor: (alias) => windowFromRoot(ctx.rootConfig, alias),
      emit: (ev) => ctx.publish(topic, ev),
      services: makeServices(ctx.ask, cfg.id, ctx.log),
    });
    ctx.log.info({ agent: cfg.id, workspace, model: cfg.model, strategy: cfg.compaction.strategy }, `agent ${cfg.id} ready`);

    const rethrow = (e: unknown): never => {
      if (e instanceof AgentError) throw new ActorError(e.code, e.message, e.provider ? { provider: e.provider } : undefined);
      throw e;
    };

    return {
      handlers: {
        'agent.send': (p) => agent.send(check(AgentSendRequestSchema, p, 'agent.send')).catch(rethrow),
        'agent.complete': (p) => agent.complete(check(AgentCompleteRequestSchema, p, 'agent.complete')).catch(rethrow),
        'agent.cancel': (p) => ({ cancelled: agent.cancel(check(AgentCancelRequestSchema, p, 'agent.cancel')) }),
        'agent.session': (p) => agent.sessionInfo(p?.session ?? 'main', p?.last ?? 20),
        'agent.sessions': () => ({ sessions: agent.sessions.list() }),
        'agent.reset': async (p) => ({ removed: await agent.sessions.reset(p?.session ?? 'main') }),
        'provider.chunk': (p) => {
          streams.get(p.request_id)?.(p.text, p.provider);
        },
      },
      stop: () => agent.cancelAll(),
    };
  },
});
