/**
 * OpenAI-compatible Chat Completions (OpenAI, OpenRouter, vLLM, llama.cpp server, LM Studio):
 * `POST {base}/chat/completions` with `stream: true`, SSE chunks ending in `data: [DONE]`,
 * tool calls assembled from `delta.tool_calls[index]` pieces, usage from the last chunk.
 */
import type { ChatMessage, ToolCall } from '../../../protocol/provider.js';
import { ProviderError, classifyStatus } from '../errors.js';
import { streamPost } from '../http.js';
import { SseParser } from '../sse.js';
import type { AdapterRequest, AdapterResult, ProviderAdapter, ResolvedProvider, StreamSink, Timeouts } from '../types.js';

function toWire(m: ChatMessage): Record<string, unknown> {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.tool_call_id ?? '', content: m.content };
  if (m.role === 'assistant' && m.tool_calls?.length) {
    return {
      role: 'assistant',
      content: m.content || null,
      tool_calls: m.tool_calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
    };
  }
  return { role: m.role, content: m.content };
}

export function openAiBody(req: AdapterRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: req.model,
    messages: req.messages.map(toWire),
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

export class OpenAiAdapter implements ProviderAdapter {
  constructor(readonly provider: ResolvedProvider, private readonly timeouts: Timeouts) {}

  async chat(req: AdapterRequest, sink: StreamSink, signal: AbortSignal): Promise<AdapterResult> {
    const p = this.provider;
    const headers: Record<string, string> = { accept: 'text/event-stream', ...p.headers };
    if (p.api_key) headers.authorization = `Bearer ${p.api_key}`;
    const parser = new SseParser();
    let text = '';
    let finish = '';
    let done = false;
    let usage: AdapterResult['usage'];
    const calls: Array<{ id: string; name: string; arguments: string }> = [];

    const handle = (data: string, ctl: { firstToken(): void }) => {
      if (done) return;
      if (data === '[DONE]') {
        done = true;
        return;
      }
      let j: any;
      try {
        j = JSON.parse(data);
      } catch {
        throw new ProviderError('bad_response', p.id, `malformed stream chunk (not JSON): ${data.slice(0, 120)}`);
      }
      if (j?.error) {
        const e = j.error;
        const status = typeof e.code === 'number' ? e.code : Number(e.status) || 500;
        throw classifyStatus(p.id, status, String(e.message ?? JSON.stringify(e)), undefined, e.code);
      }
      if (j?.usage && typeof j.usage === 'object') {
        usage = { input_tokens: Number(j.usage.prompt_tokens) || 0, output_tokens: Number(j.usage.completion_tokens) || 0 };
      }
      const choice = Array.isArray(j?.choices) ? j.choices[0] : undefined;
      if (!choice) return;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content) {
        ctl.firstToken();
        text += delta.content;
        sink.onText(delta.content);
      }
      if (Array.isArray(delta.tool_calls)) {
        ctl.firstToken();
        for (const tc of delta.tool_calls) {
          const idx = typeof tc.index === 'number' ? tc.index : calls.length;
          const c = (calls[idx] ??= { id: '', name: '', arguments: '' });
          if (tc.id) c.id = tc.id;
          if (tc.function?.name) c.name += tc.function.name;
          if (typeof tc.function?.arguments === 'string') c.arguments += tc.function.arguments;
        }
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    };

    await streamPost(
      { provider: p.id, url: `${p.base_url}/chat/completions`, headers, body: openAiBody(req), timeouts: this.timeouts, signal, secret: p.api_key, expect: 'sse' },
      (chunk, ctl) => {
        for (const ev of parser.push(chunk)) handle(ev.data, ctl);
      },
    );
    for (const ev of parser.end()) handle(ev.data, { firstToken() {} });
    if (!done && !finish) throw new ProviderError('stream_died', p.id, 'stream ended before [DONE]');
    const tool_calls: ToolCall[] = calls.filter(Boolean).map((c, i) => ({ id: c.id || `call_${i}`, name: c.name, arguments: c.arguments }));
    return { text, tool_calls, finish_reason: finish || 'stop', ...(usage ? { usage } : {}) };
  }
}
