/**
 * OpenAI-compatible Chat Completions (OpenAI, OpenRouter, DeepSeek, vLLM, SGLang, llama.cpp server,
 * LM Studio): `POST {base}/chat/completions` with `stream: true`, SSE chunks ending in `data: [DONE]`,
 * tool calls assembled from `delta.tool_calls[index]` pieces, usage from whichever chunk carries it.
 *
 * The long tail differs in details handled here: reasoning arrives as `reasoning_content` (DeepSeek,
 * older vLLM) or `reasoning` (OpenRouter, vLLM) and must go back the same way; refusals come as
 * `delta.refusal`; SGLang sends tool-call deltas with `index: null`; older llama.cpp ends a failed
 * stream with an `error` event and `[DONE]` but no finish_reason; some servers answer a stream
 * request with one JSON body.
 */
import type { ChatMessage, Reasoning, ToolCall } from '../../../protocol/provider.js';
import { ProviderError, classifyStatus } from '../errors.js';
import { normaliseFinish } from '../finish.js';
import { getJson, streamSseOrJson } from '../http.js';
import type { AdapterRequest, AdapterResult, AdapterUsage, ProviderAdapter, ResolvedProvider, StreamSink, Timeouts } from '../types.js';

type ReasoningField = NonNullable<Reasoning['field']>;

function toWire(m: ChatMessage, reasoningField: ReasoningField | undefined): Record<string, unknown> {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.tool_call_id ?? '', content: m.content };
  const out: Record<string, unknown> = { role: m.role, content: m.content };
  if (m.role === 'assistant' && m.tool_calls?.length) {
    out.content = m.content || null;
    out.tool_calls = m.tool_calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  }
  if (reasoningField) out[reasoningField] = m.reasoning?.field ? m.reasoning.text : '';
  return out;
}

/**
 * DeepSeek thinking mode rejects (400) an assistant message with tool calls that lacks its
 * `reasoning_content`, and wants it on every assistant message of the current chain (since the last
 * user message), empty when there was none; older turns go without it. The field name follows what
 * the provider sent.
 */
function wireMessages(messages: ChatMessage[]): Array<Record<string, unknown>> {
  const field = messages.find((m) => m.role === 'assistant' && m.reasoning?.field)?.reasoning?.field;
  let lastUser = -1;
  messages.forEach((m, i) => { if (m.role === 'user') lastUser = i; });
  return messages.map((m, i) => toWire(m, field && m.role === 'assistant' && (m.tool_calls?.length || i > lastUser) ? field : undefined));
}

export function openAiBody(req: AdapterRequest, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...extra,
    model: req.model,
    messages: wireMessages(req.messages),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
  }
  if (req.max_tokens !== undefined) body.max_tokens = req.max_tokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  return body;
}

interface CallAcc { id: string; name: string; arguments: string }

/** Where a tool-call delta belongs: its index, else (SGLang `index: null`) its id, else the call being built. */
function callSlot(calls: CallAcc[], tc: any): number {
  if (typeof tc?.index === 'number' && tc.index >= 0) return tc.index;
  const id = typeof tc?.id === 'string' && tc.id ? tc.id : '';
  if (id) {
    const known = calls.findIndex((c) => c && c.id === id);
    if (known >= 0) return known;
    const last = calls.length - 1;
    // A first delta without id followed by one carrying it (some servers): same call.
    if (last >= 0 && calls[last] && !calls[last].id) return last;
    return calls.length;
  }
  return calls.length ? calls.length - 1 : 0;
}

function usageOf(u: any): AdapterUsage {
  const r = Number(u?.completion_tokens_details?.reasoning_tokens);
  return {
    input_tokens: Number(u?.prompt_tokens) || 0,
    output_tokens: Number(u?.completion_tokens) || 0,
    ...(Number.isFinite(r) && r > 0 ? { reasoning_tokens: r } : {}),
  };
}

export class OpenAiAdapter implements ProviderAdapter {
  constructor(readonly provider: ResolvedProvider, private readonly timeouts: Timeouts) {}

  private learning?: { at: number; settled: boolean; model: Promise<string> };

  /**
   * The model to ask for when none is configured (`model_from_server`): the one the server serves.
   * Learned once; a failure is kept for a second so the router's pre-check and the attempt that
   * follows share one probe, then asked again (the server may have come up since).
   */
  resolveModel(signal: AbortSignal): Promise<string> {
    const p = this.provider;
    if (p.default_model) return Promise.resolve(p.default_model);
    const now = Date.now();
    if (this.learning && (now - this.learning.at < 1000 || !this.learning.settled)) return this.learning.model;
    const entry = { at: now, settled: false, model: Promise.resolve('') };
    entry.model = this.serverModels(signal).then((ids) => {
      if (ids.length === 1) {
        p.default_model = ids[0];
        return ids[0];
      }
      const hint = `set OPENAI_MODEL or providers.${p.id}.model`;
      throw new ProviderError('config', p.id, ids.length === 0
        ? `${p.base_url}/models lists no model, so there is none to ask for; ${hint}`
        : `${p.base_url} serves ${ids.length} models (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}); ${hint} to choose one`);
    }).finally(() => {
      entry.settled = true;
      entry.at = Date.now();
    });
    this.learning = entry;
    return entry.model;
  }

  /** `GET {base}/models`: `{"object": "list", "data": [{"id": …}, …]}` on OpenAI and every compatible server. */
  async serverModels(signal: AbortSignal): Promise<string[]> {
    const p = this.provider;
    const headers: Record<string, string> = { ...p.headers };
    if (p.api_key) headers.authorization = `Bearer ${p.api_key}`;
    const j = await getJson({
      provider: p.id, url: `${p.base_url}/models`, headers, signal, secret: p.api_key,
      timeoutMs: this.timeouts.first_token_timeout_ms, connectTimeoutMs: this.timeouts.connect_timeout_ms,
    }) as { data?: unknown };
    if (!Array.isArray(j?.data)) throw new ProviderError('bad_response', p.id, `GET ${p.base_url}/models: no "data" list in the answer`);
    return j.data.map((m) => (m as { id?: unknown })?.id).filter((id): id is string => typeof id === 'string' && id.length > 0);
  }

  async chat(req: AdapterRequest, sink: StreamSink, signal: AbortSignal): Promise<AdapterResult> {
    if (!req.model) req = { ...req, model: await this.resolveModel(signal) };
    const p = this.provider;
    const headers: Record<string, string> = { accept: 'text/event-stream', ...p.headers };
    if (p.api_key) headers.authorization = `Bearer ${p.api_key}`;
    let text = '';
    let refusal = '';
    let reasoning = '';
    let reasoningField: ReasoningField | undefined;
    let finish = '';
    let done = false;
    let usage: AdapterUsage | undefined;
    const calls: CallAcc[] = [];

    const fail = (e: any, status?: number) => {
      const st = status ?? (typeof e?.code === 'number' ? e.code : Number(e?.status) || 500);
      throw classifyStatus(p.id, st, String(e?.message ?? JSON.stringify(e)), undefined, e?.code, e?.type);
    };

    const onReasoning = (field: ReasoningField, t: string, ctl: { firstToken(): void }) => {
      ctl.firstToken();
      reasoningField ??= field;
      reasoning += t;
      sink.onReasoning?.(t);
    };

    const handle = (event: string, data: string, ctl: { firstToken(): void }) => {
      if (done) return;
      if (data === '[DONE]') {
        done = true;
        return;
      }
      let j: any;
      try {
        j = JSON.parse(data);
      } catch {
        if (event === 'error') fail({ message: data.slice(0, 300) });
        throw new ProviderError('bad_response', p.id, `malformed stream chunk (not JSON): ${data.slice(0, 120)}`);
      }
      if (j?.error) fail(typeof j.error === 'string' ? { message: j.error } : j.error);
      if (event === 'error') fail(j);
      if (j?.usage && typeof j.usage === 'object') {
        usage = usageOf(j.usage);
        sink.onUsage?.(usage);
      }
      const choice = Array.isArray(j?.choices) ? j.choices[0] : undefined;
      if (!choice) return;
      const delta = choice.delta ?? {};
      if (typeof delta.reasoning_content === 'string' && delta.reasoning_content) onReasoning('reasoning_content', delta.reasoning_content, ctl);
      else if (typeof delta.reasoning === 'string' && delta.reasoning) onReasoning('reasoning', delta.reasoning, ctl);
      if (typeof delta.content === 'string' && delta.content) {
        ctl.firstToken();
        text += delta.content;
        sink.onText(delta.content);
      }
      if (typeof delta.refusal === 'string' && delta.refusal) {
        ctl.firstToken();
        refusal += delta.refusal;
      }
      if (Array.isArray(delta.tool_calls)) {
        ctl.firstToken();
        for (const tc of delta.tool_calls) {
          const c = (calls[callSlot(calls, tc)] ??= { id: '', name: '', arguments: '' });
          if (typeof tc.id === 'string' && tc.id && !c.id) c.id = tc.id;
          const name = tc.function?.name;
          // Split names are concatenated; servers that repeat the whole name in every delta are not doubled.
          if (typeof name === 'string' && name && name !== c.name) c.name += name;
          if (typeof tc.function?.arguments === 'string') c.arguments += tc.function.arguments;
        }
      }
      if (choice.finish_reason) finish = String(choice.finish_reason);
    };

    /** A plain chat.completion JSON body (the server ignored `stream: true`). */
    const whole = (j: any, raw: string) => {
      if (j?.error) fail(typeof j.error === 'string' ? { message: j.error } : j.error);
      const choice = Array.isArray(j?.choices) ? j.choices[0] : undefined;
      if (!choice?.message) throw new ProviderError('bad_response', p.id, `answered a stream request with JSON that is no chat completion: ${raw.slice(0, 120)}`);
      const m = choice.message;
      if (typeof m.reasoning_content === 'string' && m.reasoning_content) { reasoningField = 'reasoning_content'; reasoning = m.reasoning_content; }
      else if (typeof m.reasoning === 'string' && m.reasoning) { reasoningField = 'reasoning'; reasoning = m.reasoning; }
      if (reasoning) sink.onReasoning?.(reasoning);
      if (typeof m.content === 'string' && m.content) {
        text = m.content;
        sink.onText(m.content);
      }
      if (typeof m.refusal === 'string') refusal = m.refusal;
      for (const tc of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
        calls.push({ id: String(tc?.id ?? ''), name: String(tc?.function?.name ?? ''), arguments: typeof tc?.function?.arguments === 'string' ? tc.function.arguments : JSON.stringify(tc?.function?.arguments ?? {}) });
      }
      finish = String(choice.finish_reason ?? 'stop');
      if (j.usage) {
        usage = usageOf(j.usage);
        sink.onUsage?.(usage);
      }
      done = true;
    };

    await streamSseOrJson(
      { provider: p.id, url: `${p.base_url}/chat/completions`, headers, body: openAiBody(req, p.body), timeouts: this.timeouts, signal, secret: p.api_key, expect: 'sse' },
      handle,
      whole,
    );
    if (!done && !finish) throw new ProviderError('stream_died', p.id, 'stream ended before [DONE]');
    if (!finish) {
      // [DONE] without any finish_reason: the server gave up mid-answer (llama.cpp after an error event).
      throw new ProviderError('stream_died', p.id, 'stream reached [DONE] without a finish_reason: the answer is incomplete');
    }
    const tool_calls: ToolCall[] = calls
      .filter((c) => c && (c.name || c.arguments))
      .map((c, i) => ({ id: c.id || `call_${i}`, name: c.name, arguments: c.arguments }));
    let finish_reason = normaliseFinish(finish);
    if (refusal && finish_reason === 'stop') finish_reason = 'refusal';
    if (tool_calls.length && finish_reason === 'stop') finish_reason = 'tool_calls';
    return {
      text, tool_calls, finish_reason, raw_finish_reason: finish,
      ...(refusal ? { refusal } : {}),
      ...(reasoning ? { reasoning: { text: reasoning, ...(reasoningField ? { field: reasoningField } : {}) } } : {}),
      ...(usage ? { usage } : {}),
    };
  }
}
