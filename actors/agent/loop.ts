/**
 * The agent loop, free of threads: a user message goes in; the context is built (system prompt,
 * summary/notes, memory hits, history), compacted when it reaches the threshold, sent to the LLM
 * through the router; tool calls run through the tool registry; repeat until a final answer or
 * `max_steps`. Every step streams events. The actor (index.ts) wires this to messages.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ActorStore } from '../../src/kernel/actor.js';
import type { AgentCompleteRequest, AgentConfig, AgentEvent, AgentSendReply, AgentSendRequest, AgentSessionReply, TurnUsage } from '../../protocol/agent.js';
import type { ChatMessage, ChatRequest, ChatResult, ToolCall, ToolSpec } from '../../protocol/provider.js';
import { MemoryStore } from './memory-store.js';
import { compact, contextTokens, needsCompaction, type CompactionDeps, type CompactionOutcome } from './compaction.js';
import { SessionStore, type Session } from './sessions.js';
import { MESSAGE_OVERHEAD, TextTokenCache, toolSpecsText } from './tokens.js';
import { ToolRegistry } from './tools.js';

/** What the agent needs from the router (the actor asks `system/provider-router`; tests may call a ProviderRouter). */
export interface LlmClient {
  chat(req: ChatRequest, onText: (text: string, provider: string) => void, signal: AbortSignal): Promise<ChatResult>;
}

/** Optional collaborators (system/memory, system/safety); each may be absent. */
export interface AgentServices {
  memorySearch?(query: string, k: number, signal: AbortSignal): Promise<string[]>;
  /** Returns the (possibly sanitised) text, or throws `AgentError('blocked_by_safety')`. */
  inspectInbound?(text: string, channel: string): Promise<string>;
  inspectUntrusted?(text: string, tool: string): Promise<string>;
  redact?(text: string): Promise<string>;
}

export class AgentError extends Error {
  constructor(readonly code: string, message: string, readonly provider?: string) {
    super(message);
    this.name = 'AgentError';
  }
}

export interface AgentOptions {
  id: string;
  config: AgentConfig;
  workspace: string;
  /** Context window for a model alias (config override, else the alias's `context_window`). */
  windowFor(model: string): number;
  llm: LlmClient;
  store: ActorStore;
  emit(ev: AgentEvent): void;
  log: Logger;
  services?: AgentServices;
  tools?: ToolRegistry;
}

/** One turn's input: a stored session and a user message, or a conversation given by the caller (agent.complete). */
interface TurnInput {
  sessions: SessionStore;
  session: string;
  /** The new user message; absent when the caller's conversation ends with its tool results. */
  text?: string;
  /** Messages placed in the (ephemeral) session before the turn. */
  seed?: ChatMessage[];
  /** Added to the system prompt (the caller's own system messages). */
  system?: string;
  model?: string;
  purpose?: AgentSendRequest['purpose'];
  silent?: boolean;
  channel?: string;
  clientTools?: ToolSpec[];
  /** The provider router publishes this turn's deltas on `provider/stream/<request_id>:…` too. */
  streamTopic?: boolean;
}

interface Running {
  session: string;
  ac: AbortController;
}

const SUMMARY_SYSTEM = 'You compress conversations. Write a dense executive summary of the conversation you are given: '
  + 'facts, decisions, open questions, user preferences, names and numbers that matter later. No preamble.';

export class Agent {
  readonly sessions: SessionStore;
  readonly tools: ToolRegistry;
  private readonly running = new Map<string, Running>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly texts = new TextTokenCache();

  constructor(private readonly o: AgentOptions) {
    this.sessions = new SessionStore(o.store);
    this.tools = o.tools ?? ToolRegistry.builtins(o.config.tools).registry;
  }

  /** Run one turn. Turns of the same session run one after another; sessions run in parallel. */
  async send(req: AgentSendRequest): Promise<AgentSendReply> {
    const session = req.session ?? 'main';
    return this.track(session, req.request_id ?? randomUUID(), (request_id, signal) => this.turn({
      sessions: this.sessions, session, text: req.text, model: req.model, purpose: req.purpose, silent: req.silent, channel: req.channel,
      streamTopic: req.stream_topic === true,
    }, request_id, signal));
  }

  /**
   * A stateless turn over the caller's conversation (nothing stored): the agent's system prompt,
   * memory and server-side tools as usual, plus the caller's tools, whose calls end the turn.
   */
  async complete(req: AgentCompleteRequest): Promise<AgentSendReply> {
    const request_id = req.request_id ?? randomUUID();
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).filter(Boolean).join('\n\n');
    const convo = req.messages.filter((m) => m.role !== 'system');
    const last = convo[convo.length - 1];
    if (!last || (last.role !== 'user' && last.role !== 'tool')) {
      throw new AgentError('invalid_message', `agent.complete: messages: the last message must be the user's or a tool result, got ${last ? last.role : 'only system messages'}`);
    }
    const builtin = new Set(this.tools.specs().map((t) => t.name));
    const clash = (req.client_tools ?? []).find((t) => builtin.has(t.name));
    if (clash) throw new AgentError('invalid_message', `agent.complete: client_tools: '${clash.name}' is the name of one of this agent's own tools; rename it`);
    let seed = last.role === 'user' ? convo.slice(0, -1) : convo;
    if (this.o.services?.inspectUntrusted) {
      // The caller's tool results enter the prompt like any tool output: checked for injection first.
      const check = this.o.services.inspectUntrusted;
      seed = await Promise.all(seed.map(async (m) => (m.role === 'tool' ? { ...m, content: await check(m.content, m.name ?? 'client_tool') } : m)));
    }
    const session = `stateless:${request_id}`;
    return this.track(session, request_id, (id, signal) => this.turn({
      sessions: new SessionStore(new MemoryStore()), session, seed,
      ...(last.role === 'user' ? { text: last.content } : {}),
      ...(system ? { system } : {}),
      model: req.model, channel: req.channel ?? 'api', clientTools: req.client_tools ?? [],
      streamTopic: req.stream_topic === true,
    }, id, signal));
  }

  /** Runs `fn` as the session's next turn, cancellable by request id or session, under the turn timeout. */
  private async track(session: string, request_id: string, fn: (request_id: string, signal: AbortSignal) => Promise<AgentSendReply>): Promise<AgentSendReply> {
    const ac = new AbortController();
    this.running.set(request_id, { session, ac });
    const timer = setTimeout(() => ac.abort(new AgentError('timeout', `turn exceeded ${this.o.config.turn_timeout_ms} ms`)), this.o.config.turn_timeout_ms);
    const prev = this.locks.get(session) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => fn(request_id, ac.signal));
    this.locks.set(session, run);
    try {
      return await run;
    } finally {
      clearTimeout(timer);
      this.running.delete(request_id);
      if (this.locks.get(session) === run) this.locks.delete(session);
    }
  }

  cancel(by: { session?: string; request_id?: string }): number {
    let n = 0;
    for (const [id, r] of this.running) {
      if ((by.request_id && id === by.request_id) || (by.session && r.session === by.session) || (!by.request_id && !by.session)) {
        r.ac.abort(new AgentError('cancelled', 'turn cancelled'));
        n++;
      }
    }
    return n;
  }

  cancelAll(): void {
    this.cancel({});
  }

  private window(model: string): number {
    return this.o.config.context_window || this.o.windowFor(model);
  }

  private systemText(s: Session, memory: string[], extra?: string): string {
    let t = this.o.config.system_prompt;
    if (extra) t += `\n\n## Instructions from the caller\n${extra}`;
    if (s.meta.summary) t += `\n\n## Summary of the earlier conversation\n${s.meta.summary}`;
    if (s.meta.notes.length) t += `\n\n## Notes\n${s.meta.notes.map((n) => `- ${n}`).join('\n')}`;
    if (memory.length) t += `\n\n## Possibly relevant memory\n${memory.map((m) => `- ${m}`).join('\n')}`;
    return t;
  }

  private messages(s: Session, memory: string[], extra?: string): ChatMessage[] {
    return [{ role: 'system', content: this.systemText(s, memory, extra) }, ...s.live.map((e) => e.m)];
  }

  private compactionDeps(s: Session, model: string, memory: string[], sessions = this.sessions, extra?: string): CompactionDeps {
    const window = this.window(model);
    const toolsTokens = this.texts.count(toolSpecsText(this.tools.specs()));
    const c = this.o.config.compaction;
    return {
      sessions,
      config: c,
      window,
      workspace: this.o.workspace,
      agent: this.o.id,
      fixedTokens: (sess) => 3 + MESSAGE_OVERHEAD + this.texts.count(this.systemText(sess, memory, extra)) + toolsTokens,
      countText: (t) => this.texts.count(t),
      log: this.o.log,
      summarize: async (transcript, previous, maxTokens, signal) => {
        const prompt = `${previous ? `Summary so far:\n${previous}\n\n` : ''}Conversation to fold in:\n${transcript}\n\n`
          + `Write the updated executive summary (at most ${Math.floor(maxTokens * 0.7)} words).`;
        const r = await this.o.llm.chat({
          model: c.summary_model || model,
          messages: [{ role: 'system', content: SUMMARY_SYSTEM }, { role: 'user', content: prompt }],
          max_tokens: maxTokens, agent: this.o.id, purpose: 'compaction',
          request_id: `${s.meta.id}:summary:${randomUUID()}`,
        }, () => {}, signal);
        return r.text;
      },
    };
  }

  private async turn(req: TurnInput, request_id: string, signal: AbortSignal): Promise<AgentSendReply> {
    const cfg = this.o.config;
    const { session, sessions } = req;
    const model = req.model || cfg.model;
    const purpose = req.purpose ?? 'chat';
    const quiet = req.silent === true;
    const emit = (kind: AgentEvent['kind'], fields: Partial<AgentEvent> = {}) => {
      if (quiet && (kind === 'text' || kind === 'tool_start' || kind === 'tool_progress' || kind === 'tool_end')) return;
      this.o.emit({ request_id, session, agent: this.o.id, kind, ...fields });
    };
    const usage: TurnUsage = { input_tokens: 0, output_tokens: 0, cost_usd: 0, provider: '', model: '' };
    let steps = 0;
    // Set once the user message is stored: a turn that fails takes its messages out again.
    let started: { s: Session; seq: number } | undefined;
    try {
      if (signal.aborted) throw abortError(signal);
      let text = req.text;
      if (text !== undefined && this.o.services?.inspectInbound) text = await this.o.services.inspectInbound(text, req.channel ?? 'api');
      const s = sessions.load(session);
      if (req.seed?.length) await sessions.append(s, req.seed);
      started = { s, seq: s.meta.next_seq };
      if (text !== undefined) await sessions.append(s, [{ role: 'user', content: text }]);
      await this.tools.refresh();
      const query = text ?? [...(req.seed ?? [])].reverse().find((m) => m.role === 'user')?.content;
      const memory = query && cfg.memory_k > 0 && this.o.services?.memorySearch
        ? await this.o.services.memorySearch(query, cfg.memory_k, signal).catch(() => [] as string[]) : [];
      const deps = this.compactionDeps(s, model, memory, sessions, req.system);
      const clientTools = new Set((req.clientTools ?? []).map((t) => t.name));
      const specs = [...this.tools.specs(), ...(req.clientTools ?? [])];

      const reasoning: string[] = [];
      let retriedTruncation = false;
      while (steps < cfg.max_steps) {
        steps++;
        if (needsCompaction(deps, s)) this.reportCompaction(emit, await compact(deps, s, signal));
        const ask = async (extra: { max_tokens?: number; attempt?: string } = {}): Promise<ChatResult> => {
          for (let forced = 0; ; ) {
            try {
              return await this.o.llm.chat({
                model, messages: this.messages(s, memory, req.system), ...(specs.length ? { tools: specs } : {}),
                ...(extra.max_tokens ? { max_tokens: extra.max_tokens } : {}),
                agent: this.o.id, purpose, request_id: `${request_id}:${steps}${extra.attempt ?? ''}${forced ? `:${forced}` : ''}`,
                ...(req.streamTopic && !quiet ? { stream_topic: true } : {}),
              }, (t) => emit('text', { text: t, step: steps }), signal);
            } catch (e) {
              const code = (e as { code?: string }).code;
              // The provider counts differently than we do: compact harder and retry (bounded: 2).
              if (code === 'context_length' && forced < 2 && !signal.aborted) {
                forced++;
                this.o.log.warn({ agent: this.o.id, session, tokens: contextTokens(deps, s) }, `context too long for the provider; compacting (attempt ${forced})`);
                this.reportCompaction(emit, await compact(deps, s, signal, 2 ** forced));
                continue;
              }
              throw e;
            }
          }
        };
        let result = await ask();
        addUsage(usage, result);
        if (isTruncatedToolCall(result) && (cfg.truncated_tool_calls ?? 'retry') === 'retry' && !retriedTruncation) {
          // Never run a cut-off call: ask again once with twice the room the model ran out of.
          retriedTruncation = true;
          const room = Math.max(2 * result.usage.output_tokens, 1024);
          const p = `${result.usage.provider}/${result.usage.model}`;
          this.o.log.warn({ agent: this.o.id, session, provider: result.usage.provider, max_tokens: room }, `${p}: tool call cut off by the output limit; asking again with max_tokens ${room}`);
          emit('error', { code: 'truncated_tool_call', error: `${p}: tool call cut off by the output limit after ${result.usage.output_tokens} tokens; not run, asking again with max_tokens ${room}`, fatal: false, provider: result.usage.provider, step: steps });
          try {
            const again = await ask({ max_tokens: room, attempt: ':room' });
            addUsage(usage, again);
            result = again;
          } catch (e) {
            // The model may not allow that much output: the model is told instead (below).
            if ((e as { code?: string }).code !== 'bad_request' || signal.aborted) throw e;
            this.o.log.warn({ agent: this.o.id, err: (e as Error).message }, 'retry with more room refused; telling the model instead');
          }
        }
        if (result.reasoning?.text) reasoning.push(result.reasoning.text);
        // A call to one of the caller's tools ends the turn: the caller runs it (server-side calls of the same step are dropped).
        const forCaller = isTruncatedToolCall(result) ? [] : result.tool_calls.filter((c) => clientTools.has(c.name));
        const calls = forCaller.length ? forCaller : result.tool_calls;
        // Reasoning is kept with tool calls: providers require it back there (DeepSeek, Anthropic thinking).
        await sessions.append(s, [{
          role: 'assistant', content: result.text,
          ...(calls.length ? { tool_calls: calls, ...(result.reasoning ? { reasoning: result.reasoning } : {}) } : {}),
        }]);
        if (forCaller.length) {
          emit('done', { text: result.text, usage, steps, provider: usage.provider, finish_reason: 'tool_calls' });
          return { session, request_id, text: result.text, steps, usage, finish_reason: 'tool_calls', tool_calls: forCaller, ...(reasoning.length ? { reasoning: reasoning.join('\n\n') } : {}) };
        }
        if (!calls.length) {
          const end = {
            finish_reason: result.finish_reason,
            ...(result.refusal ? { refusal: result.refusal } : {}),
          };
          if (result.finish_reason !== 'stop') {
            this.o.log.info({ agent: this.o.id, session, finish_reason: result.finish_reason, provider: usage.provider }, `answer ended with ${result.finish_reason} (${usage.provider}/${usage.model})`);
          }
          emit('done', { text: result.text, usage, steps, provider: usage.provider, ...end });
          return { session, request_id, text: result.text, steps, usage, ...end, ...(reasoning.length ? { reasoning: reasoning.join('\n\n') } : {}) };
        }
        const toolMsgs: ChatMessage[] = [];
        if (isTruncatedToolCall(result)) {
          for (const call of calls) toolMsgs.push(this.truncatedCall(call, result, session, steps, emit));
        } else {
          for (const call of calls) toolMsgs.push(await this.runTool(call, result.usage.provider, session, steps, signal, emit));
        }
        await sessions.append(s, toolMsgs);
        if (signal.aborted) throw abortError(signal);
      }
      throw new AgentError('max_steps', `stopped after ${cfg.max_steps} steps without a final answer (max_steps)`);
    } catch (e) {
      const err = toAgentError(e, signal);
      if (started) await sessions.rollback(started.s, started.seq).catch((re) => this.o.log.warn({ agent: this.o.id, session, err: re }, 'could not remove the failed turn from the session'));
      const msg = this.o.services?.redact ? await this.o.services.redact(err.message).catch(() => err.message) : err.message;
      this.o.log.warn({ agent: this.o.id, session, request_id, code: err.code, provider: err.provider }, `turn failed: ${msg}`);
      emit('error', { code: err.code, error: err.message, fatal: true, steps, ...(err.provider ? { provider: err.provider } : {}) });
      throw err;
    }
  }

  /** A call cut off by the output limit: not run; the model gets an error result saying why. */
  private truncatedCall(call: ToolCall, result: ChatResult, session: string, step: number,
    emit: (k: AgentEvent['kind'], f?: Partial<AgentEvent>) => void): ChatMessage {
    const provider = result.usage.provider;
    const error = `${provider}: the call to ${call.name} was cut off by the output token limit (${result.usage.output_tokens} tokens) before its arguments were complete; it was not run`;
    this.o.log.warn({ agent: this.o.id, session, provider, tool: call.name }, error);
    emit('error', { code: 'truncated_tool_call', error, fatal: false, provider, tool: call.name, call_id: call.id, step });
    emit('tool_end', { tool: call.name, call_id: call.id, ok: false, result: 'not run: truncated', step, code: 'truncated_tool_call' });
    return {
      role: 'tool', tool_call_id: call.id, name: call.name,
      content: 'error: this tool call was cut off by the output token limit before its arguments were complete, so it was not run. '
        + 'Call it again with shorter arguments, or split the work into smaller calls.',
    };
  }

  private reportCompaction(emit: (k: AgentEvent['kind'], f?: Partial<AgentEvent>) => void, r: CompactionOutcome): void {
    emit('compaction', { strategy: r.strategy, tokens_before: r.tokens_before, tokens_after: r.tokens_after, ...(r.fell_back ? { error: r.fell_back } : {}) });
  }

  private async runTool(call: ToolCall, provider: string, session: string, step: number, signal: AbortSignal,
    emit: (k: AgentEvent['kind'], f?: Partial<AgentEvent>) => void): Promise<ChatMessage> {
    let shownArgs: unknown = call.arguments;
    try { shownArgs = JSON.parse(call.arguments || '{}'); } catch { /* shown raw; the registry reports it */ }
    emit('tool_start', { tool: call.name, call_id: call.id, args: shownArgs, step });
    const r = await this.tools.run(call.name, call.arguments, {
      agent: this.o.id, session, workspace: this.o.workspace, signal,
      progress: (u) => emit('tool_progress', { tool: call.name, call_id: call.id, result: u.message, step }),
    }, this.o.config.tool_timeout_ms);
    let content = r.content;
    if (!r.ok && (r.code === 'invalid_arguments' || r.code === 'unknown_tool')) {
      // The model's mistake, not the tool's: say which provider produced it; the model gets to retry.
      const code = r.code === 'unknown_tool' ? 'unknown_tool' : 'invalid_tool_arguments';
      const error = `${provider}: ${content.replace(/^error: /, '')}`;
      this.o.log.warn({ agent: this.o.id, provider, tool: call.name, code }, `bad tool call from provider ${provider}: ${error}`);
      emit('error', { code, error, fatal: false, provider, tool: call.name, call_id: call.id, step });
    } else if (r.ok && this.o.services?.inspectUntrusted) {
      content = await this.o.services.inspectUntrusted(content, call.name);
    }
    emit('tool_end', { tool: call.name, call_id: call.id, ok: r.ok, result: content.slice(0, 2000), step, ...(r.code ? { code: r.code } : {}) });
    return { role: 'tool', content, tool_call_id: call.id, name: call.name };
  }

  sessionInfo(id: string, last = 20): AgentSessionReply {
    const exists = this.sessions.exists(id);
    const s = this.sessions.load(id);
    const model = this.o.config.model;
    const deps = this.compactionDeps(s, model, []);
    return {
      session: id, exists, turns: s.meta.turns, messages: s.live.length, tokens: contextTokens(deps, s),
      context_window: this.window(model), compactions: s.meta.compactions,
      ...(s.meta.summary ? { summary: s.meta.summary } : {}), notes: s.meta.notes,
      recent: s.live.slice(-last).map((e) => ({ role: e.m.role, content: e.m.content })),
      updated_at: s.meta.updated_at,
    };
  }
}

/** Tool calls in an answer cut by the output limit: their arguments may be incomplete. */
function isTruncatedToolCall(r: ChatResult): boolean {
  return r.finish_reason === 'length' && r.tool_calls.length > 0;
}

function addUsage(u: TurnUsage, r: ChatResult): void {
  u.input_tokens += r.usage.input_tokens;
  u.output_tokens += r.usage.output_tokens;
  u.cost_usd += r.usage.cost_usd;
  u.provider = r.usage.provider;
  u.model = r.usage.model;
}

function abortError(signal: AbortSignal): AgentError {
  const r = signal.reason;
  return r instanceof AgentError ? r : new AgentError('cancelled', 'turn cancelled');
}

function toAgentError(e: unknown, signal: AbortSignal): AgentError {
  if (signal.aborted) return abortError(signal);
  if (e instanceof AgentError) return e;
  const x = e as { code?: string; message?: string; provider?: string };
  const code = x?.code ?? 'agent_error';
  const message = x?.message ?? String(e);
  const provider = x?.provider ?? /^([\w.-]+): /.exec(message)?.[1];
  return new AgentError(code, message, provider);
}
