/**
 * Ollama `POST {host}/api/chat` with `stream: true`: NDJSON objects carrying `message.content`
 * (and whole `message.tool_calls`), the last one `done: true` with prompt_eval_count/eval_count.
 */
import type { ChatMessage, ToolCall } from '../../../protocol/provider.js';
import { ProviderError, classifyStatus } from '../errors.js';
import { normaliseFinish } from '../finish.js';
import { streamPost } from '../http.js';
import { NdjsonError, NdjsonParser } from '../ndjson.js';
import type { AdapterRequest, AdapterResult, ProviderAdapter, ResolvedProvider, StreamSink, Timeouts } from '../types.js';

function toWire(m: ChatMessage): Record<string, unknown> {
  if (m.role === 'tool') return { role: 'tool', content: m.content, ...(m.name ? { tool_name: m.name } : {}) };
  if (m.role === 'assistant' && m.tool_calls?.length) {
    return {
      role: 'assistant',
      content: m.content,
      tool_calls: m.tool_calls.map((c) => {
        let args: unknown = {};
        try { args = JSON.parse(c.arguments || '{}'); } catch { /* the model's own malformed args: send empty */ }
        return { function: { name: c.name, arguments: args } };
      }),
    };
  }
  return { role: m.role, content: m.content };
}

export class OllamaAdapter implements ProviderAdapter {
  constructor(readonly provider: ResolvedProvider, private readonly timeouts: Timeouts) {}

  async chat(req: AdapterRequest, sink: StreamSink, signal: AbortSignal): Promise<AdapterResult> {
    const p = this.provider;
    const body: Record<string, unknown> = { ...p.body, model: req.model, messages: req.messages.map(toWire), stream: true };
    if (req.tools?.length) {
      body.tools = req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
    }
    const options: Record<string, unknown> = {};
    if (req.max_tokens !== undefined) options.num_predict = req.max_tokens;
    if (req.temperature !== undefined) options.temperature = req.temperature;
    if (Object.keys(options).length) body.options = options;
    const headers: Record<string, string> = { accept: 'application/x-ndjson', ...p.headers };
    if (p.api_key) headers.authorization = `Bearer ${p.api_key}`;

    const parser = new NdjsonParser();
    let text = '';
    let done = false;
    let finish = '';
    let usage: AdapterResult['usage'];
    const tool_calls: ToolCall[] = [];
    let thinking = '';

    const handle = (j: any, ctl: { firstToken(): void }) => {
      if (done) return;
      if (j?.error) throw classifyStatus(p.id, 500, String(j.error));
      const msg = j?.message;
      // Thinking models (`think: true`) stream their reasoning in message.thinking.
      if (typeof msg?.thinking === 'string' && msg.thinking) {
        ctl.firstToken();
        thinking += msg.thinking;
        sink.onReasoning?.(msg.thinking);
      }
      if (typeof msg?.content === 'string' && msg.content) {
        ctl.firstToken();
        text += msg.content;
        sink.onText(msg.content);
      }
      if (Array.isArray(msg?.tool_calls)) {
        ctl.firstToken();
        for (const tc of msg.tool_calls) {
          const a = tc?.function?.arguments;
          tool_calls.push({
            id: String(tc?.id ?? `call_${tool_calls.length}`),
            name: String(tc?.function?.name ?? ''),
            arguments: typeof a === 'string' ? a : JSON.stringify(a ?? {}),
          });
        }
      }
      if (j?.done === true) {
        done = true;
        finish = String(j.done_reason ?? 'stop');
        if (j.prompt_eval_count !== undefined || j.eval_count !== undefined) {
          usage = { input_tokens: Number(j.prompt_eval_count) || 0, output_tokens: Number(j.eval_count) || 0 };
          sink.onUsage?.(usage);
        }
      }
    };
    const parse = (fn: () => unknown[], ctl: { firstToken(): void }) => {
      let objs: unknown[];
      try {
        objs = fn();
      } catch (e) {
        if (e instanceof NdjsonError) throw new ProviderError('bad_response', p.id, e.message);
        throw e;
      }
      for (const o of objs) handle(o, ctl);
    };

    await streamPost(
      { provider: p.id, url: `${p.base_url}/api/chat`, headers, body, timeouts: this.timeouts, signal, secret: p.api_key, expect: 'ndjson' },
      (chunk, ctl) => parse(() => parser.push(chunk), ctl),
    );
    parse(() => parser.end(), { firstToken() {} });
    if (!done) throw new ProviderError('stream_died', p.id, 'stream ended before done:true');
    let finish_reason = normaliseFinish(finish);
    if (tool_calls.length && finish_reason === 'stop') finish_reason = 'tool_calls';
    return {
      text, tool_calls, finish_reason, raw_finish_reason: finish || 'stop',
      ...(thinking ? { reasoning: { text: thinking } } : {}),
      ...(usage ? { usage } : {}),
    };
  }
}
