/**
 * The OpenAI-compatible API: `GET /v1/models`, `POST /v1/chat/completions` (JSON or SSE chunks,
 * `stream_options.include_usage`, `data: [DONE]`) and `POST /v1/responses` (JSON or typed SSE events
 * with `sequence_number`, no [DONE]). The agent is chosen by `model` (`rustyclaw:<agent>`, or a model
 * alias run by the default agent) or the `x-rustyclaw-agent` header; a session by
 * `x-rustyclaw-session` or `user` (the agent keeps the history: only the last user message is
 * sent), else the turn is stateless over the messages given (agent.complete). Tools the client
 * declares are passed to the model; calls to them come back as `tool_calls` for the client to run.
 * A client that goes away cancels the turn (agent.cancel → provider.cancel).
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AgentEvent, AgentSendReply } from '../../protocol/agent.js';
import type { ChatMessage, ToolCall, ToolSpec } from '../../protocol/provider.js';
import { toActorError } from '../kernel/errors.js';
import { gatewayError, openaiErrorBody } from './errors.js';
import {
  ChatCompletionRequestSchema,
  ResponsesRequestSchema,
  type ChatCompletionMessage,
  type ChatCompletionRequest,
  type ResponseInputItem,
  type ResponsesRequest,
} from './openai-schemas.js';
import type { RouteContext } from './server.js';
import { GATEWAY_REQUEST_PREFIX } from './actors.js';

export const MODEL_PREFIX = 'rustyclaw:';
/** Above this much unsent output a stream's reader is too slow: the turn is cancelled. */
const MAX_BUFFERED = 8 * 1048576;

interface Target {
  agent: string;
  /** Model alias override (when `model` named an alias). */
  model?: string;
  /** Public model id echoed in replies. */
  id: string;
}

function agentIds(ctx: RouteContext): string[] {
  const a = (ctx.config as { agents?: Array<{ id?: string }> }).agents ?? [];
  return a.map((x) => x.id ?? 'default');
}

function aliases(ctx: RouteContext): string[] {
  return Object.keys((ctx.config as { models?: Record<string, unknown> }).models ?? {});
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s?.trim() ? s.trim() : undefined;
}

/** `model` / `x-rustyclaw-agent` → which agent runs the turn, with which model alias. */
export function resolveTarget(ctx: RouteContext, model: string, agentHeader: string | undefined): Target {
  const agents = agentIds(ctx);
  const known = (a: string) => {
    if (!agents.includes(a)) throw gatewayError('model_not_found', `agent '${a}': no such agent (agents: ${agents.join(', ') || 'none'})`);
    return a;
  };
  if (model.startsWith(MODEL_PREFIX)) {
    const agent = known(model.slice(MODEL_PREFIX.length));
    if (agentHeader && agentHeader !== agent) throw gatewayError('bad_request', `x-rustyclaw-agent '${agentHeader}' contradicts model '${model}'`);
    return { agent, id: model };
  }
  if (aliases(ctx).includes(model)) return { agent: known(agentHeader ?? agents[0] ?? 'default'), model, id: model };
  if (agentHeader) return { agent: known(agentHeader), id: model };
  throw gatewayError('model_not_found', `model '${model}': not an agent (${agents.map((a) => MODEL_PREFIX + a).join(', ')}) nor a model alias (${aliases(ctx).join(', ') || 'none'}); GET /v1/models lists them`);
}

function textOf(content: ChatCompletionMessage['content'], where: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  const parts: string[] = [];
  content.forEach((p, i) => {
    if (p.type === 'text' || p.type === 'input_text' || p.type === 'output_text') parts.push(p.text ?? '');
    else throw gatewayError('unsupported', `${where}.content.${i}.type: '${p.type}' parts are not supported (text only)`);
  });
  return parts.join('');
}

/** OpenAI chat messages → the agent's messages (tool results get the name of the call they answer). */
export function toChatMessages(msgs: ChatCompletionMessage[]): ChatMessage[] {
  const names = new Map<string, string>();
  return msgs.map((m, i): ChatMessage => {
    const where = `body.messages.${i}`;
    const content = textOf(m.content, where);
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content };
      case 'user':
        return { role: 'user', content };
      case 'assistant': {
        const calls: ToolCall[] = (m.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
        for (const c of calls) names.set(c.id, c.name);
        return { role: 'assistant', content, ...(calls.length ? { tool_calls: calls } : {}) };
      }
      case 'tool': {
        if (!m.tool_call_id) throw gatewayError('bad_request', `${where}.tool_call_id: required for role 'tool'`);
        const name = names.get(m.tool_call_id);
        if (!name) throw gatewayError('bad_request', `${where}.tool_call_id: '${m.tool_call_id}' answers no earlier assistant tool call`);
        return { role: 'tool', content, tool_call_id: m.tool_call_id, name };
      }
    }
  });
}

/** Responses API input → the agent's messages. */
export function inputToMessages(input: ResponsesRequest['input'], instructions?: string | null): ChatMessage[] {
  const out: ChatMessage[] = instructions ? [{ role: 'system', content: instructions }] : [];
  if (typeof input === 'string') return [...out, { role: 'user', content: input }];
  const names = new Map<string, string>();
  input.forEach((item: ResponseInputItem, i) => {
    const where = `body.input.${i}`;
    if (item.type === 'function_call') {
      names.set(item.call_id, item.name);
      const call = { id: item.call_id, name: item.name, arguments: item.arguments };
      const prev = out[out.length - 1];
      if (prev?.role === 'assistant') prev.tool_calls = [...(prev.tool_calls ?? []), call];
      else out.push({ role: 'assistant', content: '', tool_calls: [call] });
      return;
    }
    if (item.type === 'function_call_output') {
      const name = names.get(item.call_id);
      if (!name) throw gatewayError('bad_request', `${where}.call_id: '${item.call_id}' answers no earlier function_call item`);
      const content = typeof item.output === 'string' ? item.output : textOf(item.output, where);
      out.push({ role: 'tool', content, tool_call_id: item.call_id, name });
      return;
    }
    const content = textOf(item.content, where);
    out.push({ role: item.role === 'developer' ? 'system' : item.role, content });
  });
  return out;
}

interface TurnPlan {
  target: Target;
  messages: ChatMessage[];
  tools: ToolSpec[];
  session?: string;
}

function plan(req: FastifyRequest, target: Target, messages: ChatMessage[], tools: ToolSpec[], user: string | undefined): TurnPlan {
  const session = header(req, 'x-rustyclaw-session') ?? user;
  if (session !== undefined) {
    if (session.length > 200) throw gatewayError('bad_request', 'session (x-rustyclaw-session or user): at most 200 characters');
    if (tools.length) throw gatewayError('unsupported', 'tools: client-declared tools need a stateless request (no x-rustyclaw-session header, no user field): the client keeps the conversation');
    const last = messages[messages.length - 1];
    if (last?.role !== 'user' || !last.content) throw gatewayError('bad_request', 'messages: with a session the last message must be a non-empty user message (the agent keeps the history)');
  }
  return { target, messages, tools, ...(session !== undefined ? { session } : {}) };
}

/**
 * Runs the turn; `onText` gets each text delta as the agent streams it. The turn is cancelled when
 * the client's connection closes before the answer is complete.
 */
async function runTurn(ctx: RouteContext, p: TurnPlan, res: ServerResponse, onText?: (t: string) => void): Promise<{ reply: AgentSendReply; streamed: string; request_id: string }> {
  const request_id = `${GATEWAY_REQUEST_PREFIX}${randomUUID()}`;
  const to = `agents/${p.target.agent}`;
  let streamed = '';
  // A stream takes its deltas straight from the provider router (`stream_topic`): one thread hop
  // to this thread instead of two through the agent.
  const onDelta = onText && ((t: string) => {
    streamed += t;
    onText(t);
  });
  const off = ctx.actors.onTurn(request_id, (e: AgentEvent) => {
    if (e.kind === 'text' && e.text) streamed += e.text;
  }, onDelta);
  const direct = onDelta ? { stream_topic: true } : {};
  let done = false;
  const onClose = () => {
    if (!done) ctx.actors.tell(to, 'agent.cancel', { request_id });
  };
  res.once('close', onClose);
  const timeoutMs = 15 * 60_000;
  try {
    const last = p.messages[p.messages.length - 1]!;
    const reply = p.session !== undefined
      ? await ctx.actors.ask(to, 'agent.send', { text: last.content, session: p.session, request_id, channel: 'openai', ...direct, ...(p.target.model ? { model: p.target.model } : {}) }, { timeoutMs })
      : await ctx.actors.ask(to, 'agent.complete', {
        messages: p.messages, request_id, channel: 'openai', ...direct,
        ...(p.tools.length ? { client_tools: p.tools } : {}), ...(p.target.model ? { model: p.target.model } : {}),
      }, { timeoutMs });
    // The reply and the last events travel on the same link; a tick lets any trailing event land.
    await new Promise((r) => setImmediate(r));
    return { reply, streamed, request_id };
  } catch (e) {
    const err = toActorError(e);
    if (err.code === 'unknown_actor') throw gatewayError('model_not_found', `agent '${p.target.agent}' is not running`);
    throw err;
  } finally {
    done = true;
    res.off('close', onClose);
    off();
  }
}

function usageOf(r: AgentSendReply) {
  return { prompt_tokens: r.usage.input_tokens, completion_tokens: r.usage.output_tokens, total_tokens: r.usage.input_tokens + r.usage.output_tokens };
}

function finishOf(r: AgentSendReply): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  const f = r.finish_reason ?? 'stop';
  return f === 'length' || f === 'tool_calls' || f === 'content_filter' ? f : 'stop';
}

function toolSpecs(tools: ChatCompletionRequest['tools']): ToolSpec[] {
  return (tools ?? []).map((t) => ({ name: t.function.name, description: t.function.description ?? '', parameters: t.function.parameters ?? { type: 'object', properties: {} } }));
}

/** Takes the response over from fastify for a stream: status and headers (with the CORS ones fastify set) written now. */
export function hijackStream(reply: FastifyReply, headers: OutgoingHttpHeaders): ServerResponse {
  const res = reply.raw;
  const set = Object.fromEntries(Object.entries(reply.getHeaders()).filter(([, v]) => v !== undefined)) as OutgoingHttpHeaders;
  reply.hijack();
  res.writeHead(200, { ...set, ...headers });
  res.flushHeaders();
  return res;
}

/** An SSE response: writes, bounded for a reader that stopped reading. */
function openSse(reply: FastifyReply): { res: ServerResponse; send(data: string, event?: string): void; end(): void } {
  const res = hijackStream(reply, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  return {
    res,
    send(data, event) {
      if (res.destroyed || res.writableEnded) return;
      // A reader that stopped reading: drop it rather than buffer without bound (its turn is cancelled on close).
      if (res.writableLength > MAX_BUFFERED) {
        res.destroy();
        return;
      }
      res.write(`${event ? `event: ${event}\n` : ''}data: ${data}\n\n`);
    },
    end() {
      if (!res.writableEnded) res.end();
    },
  };
}

export function registerOpenAi(ctx: RouteContext): void {
  const { app } = ctx;
  const bodyLimit = ctx.gateway.body_limits.api;

  // The list depends only on the config, so it is serialised once; `created` is the gateway's start.
  const created = Math.floor(Date.now() / 1000);
  const modelList = JSON.stringify({
    object: 'list',
    data: [
      ...agentIds(ctx).map((a) => ({ id: `${MODEL_PREFIX}${a}`, object: 'model', created, owned_by: 'rustyclaw' })),
      ...aliases(ctx).map((m) => ({ id: m, object: 'model', created, owned_by: 'rustyclaw' })),
    ],
  });
  app.get('/v1/models', (_req, reply) => {
    void reply.type('application/json; charset=utf-8').send(modelList);
  });

  app.get<{ Params: { model: string } }>('/v1/models/:model', async (req) => {
    const id = req.params.model;
    resolveTarget(ctx, id, undefined);
    return { id, object: 'model', created, owned_by: 'rustyclaw' };
  });

  app.post<{ Body: ChatCompletionRequest }>('/v1/chat/completions', { bodyLimit, schema: { body: ChatCompletionRequestSchema } }, async (req, reply) => {
    const b = req.body;
    const target = resolveTarget(ctx, b.model, header(req, 'x-rustyclaw-agent'));
    const p = plan(req, target, toChatMessages(b.messages), toolSpecs(b.tools), b.user);
    const id = `chatcmpl-${randomUUID().replace(/-/g, '')}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, created, model: target.id, system_fingerprint: null };
    if (!b.stream) {
      const { reply: r } = await runTurn(ctx, p, reply.raw);
      const calls = r.tool_calls ?? [];
      return {
        ...base,
        object: 'chat.completion',
        choices: [{
          index: 0,
          message: {
            role: 'assistant', content: calls.length && !r.text ? null : r.text, refusal: r.refusal ?? null,
            ...(calls.length ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
          },
          logprobs: null,
          finish_reason: finishOf(r),
        }],
        usage: usageOf(r),
      };
    }
    const includeUsage = b.stream_options?.include_usage === true;
    const sse = openSse(reply);
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      sse.send(JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) }));
    chunk({ role: 'assistant', content: '' });
    try {
      const { reply: r, streamed } = await runTurn(ctx, p, sse.res, (t) => chunk({ content: t }));
      if (r.text && !streamed.endsWith(r.text)) chunk({ content: streamed && r.text.startsWith(streamed) ? r.text.slice(streamed.length) : r.text });
      (r.tool_calls ?? []).forEach((c, index) => chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }] }));
      chunk({}, finishOf(r));
      if (includeUsage) sse.send(JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: usageOf(r) }));
    } catch (e) {
      // Mid-stream failure: OpenAI's error object as a data line (the SDKs raise it), then the end.
      sse.send(JSON.stringify(openaiErrorBody(toActorError(e))));
    }
    sse.send('[DONE]');
    sse.end();
    return reply;
  });

  app.post<{ Body: ResponsesRequest }>('/v1/responses', { bodyLimit, schema: { body: ResponsesRequestSchema } }, async (req, reply) => {
    const b = req.body;
    if (b.previous_response_id) throw gatewayError('unsupported', 'previous_response_id: responses are not stored; send the whole input (or use x-rustyclaw-session)');
    const target = resolveTarget(ctx, b.model, header(req, 'x-rustyclaw-agent'));
    const tools: ToolSpec[] = (b.tools ?? []).map((t) => ({ name: t.name, description: t.description ?? '', parameters: t.parameters ?? { type: 'object', properties: {} } }));
    const p = plan(req, target, inputToMessages(b.input, b.instructions), tools, b.user);
    const id = `resp_${randomUUID().replace(/-/g, '')}`;
    const msgId = `msg_${randomUUID().replace(/-/g, '')}`;
    const created_at = Math.floor(Date.now() / 1000);
    const shell = (status: string, output: unknown[], r?: AgentSendReply, error: unknown = null) => ({
      id, object: 'response', created_at, status, model: target.id, output,
      instructions: b.instructions ?? null, tools: b.tools ?? [], tool_choice: 'auto', parallel_tool_calls: true,
      previous_response_id: null, error, incomplete_details: r?.finish_reason === 'length' ? { reason: 'max_output_tokens' } : null,
      usage: r ? { input_tokens: r.usage.input_tokens, output_tokens: r.usage.output_tokens, total_tokens: r.usage.input_tokens + r.usage.output_tokens, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } } : null,
      metadata: {}, temperature: null, top_p: null, text: { format: { type: 'text' } },
    });
    const message = (text: string, status: string) => ({ type: 'message', id: msgId, status, role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] });
    const calls = (r: AgentSendReply) => (r.tool_calls ?? []).map((c) => ({ type: 'function_call', id: `fc_${c.id}`, call_id: c.id, name: c.name, arguments: c.arguments, status: 'completed' }));
    const outputOf = (r: AgentSendReply) => [...(r.text || !r.tool_calls?.length ? [message(r.text, 'completed')] : []), ...calls(r)];
    if (!b.stream) {
      const { reply: r } = await runTurn(ctx, p, reply.raw);
      return shell(r.finish_reason === 'length' ? 'incomplete' : 'completed', outputOf(r), r);
    }
    const sse = openSse(reply);
    let seq = 0;
    const event = (type: string, fields: Record<string, unknown>) => sse.send(JSON.stringify({ type, sequence_number: seq++, ...fields }), type);
    event('response.created', { response: shell('in_progress', []) });
    event('response.in_progress', { response: shell('in_progress', []) });
    let opened = false;
    let text = '';
    const open = () => {
      if (opened) return;
      opened = true;
      event('response.output_item.added', { output_index: 0, item: { ...message('', 'in_progress'), content: [] } });
      event('response.content_part.added', { item_id: msgId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    };
    const delta = (t: string) => {
      open();
      text += t;
      event('response.output_text.delta', { item_id: msgId, output_index: 0, content_index: 0, delta: t, logprobs: [] });
    };
    try {
      const { reply: r } = await runTurn(ctx, p, sse.res, delta);
      if (r.text && !text.endsWith(r.text)) delta(text && r.text.startsWith(text) ? r.text.slice(text.length) : r.text);
      const hasMessage = opened || !r.tool_calls?.length;
      if (hasMessage) {
        open();
        event('response.output_text.done', { item_id: msgId, output_index: 0, content_index: 0, text, logprobs: [] });
        event('response.content_part.done', { item_id: msgId, output_index: 0, content_index: 0, part: { type: 'output_text', text, annotations: [] } });
        event('response.output_item.done', { output_index: 0, item: message(text, 'completed') });
      }
      calls(r).forEach((item, i) => {
        const output_index = (hasMessage ? 1 : 0) + i;
        event('response.output_item.added', { output_index, item: { ...item, arguments: '', status: 'in_progress' } });
        event('response.function_call_arguments.delta', { item_id: item.id, output_index, delta: item.arguments });
        event('response.function_call_arguments.done', { item_id: item.id, output_index, arguments: item.arguments });
        event('response.output_item.done', { output_index, item });
      });
      const output = [...(hasMessage ? [message(text, 'completed')] : []), ...calls(r)];
      const status = r.finish_reason === 'length' ? 'incomplete' : 'completed';
      event(status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: shell(status, output, r) });
    } catch (e) {
      const err = toActorError(e);
      event('response.failed', { response: shell('failed', [], undefined, { code: err.code, message: err.message }) });
    }
    sse.end();
    return reply;
  });
}

