/**
 * Anthropic Messages API: `POST {base}/v1/messages` with `x-api-key` + `anthropic-version`,
 * streamed as SSE events message_start → content_block_* → message_delta → message_stop (+ ping);
 * overload is 529 `overloaded_error`, also possible as an in-stream `error` event.
 */
import type { ChatMessage, ToolCall } from '../../../protocol/provider.js';
import { ProviderError, classifyStatus } from '../errors.js';
import { streamPost } from '../http.js';
import { SseParser } from '../sse.js';
import type { AdapterRequest, AdapterResult, ProviderAdapter, ResolvedProvider, StreamSink, Timeouts } from '../types.js';

export const ANTHROPIC_VERSION = '2023-06-01';

type Block = Record<string, unknown>;
interface WireMsg { role: 'user' | 'assistant'; content: Block[] }

function parseInput(args: string): unknown {
  try {
    const v = JSON.parse(args || '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

/** Anthropic wants system text apart and strictly alternating user/assistant turns. */
export function anthropicMessages(messages: ChatMessage[]): { system: string; messages: WireMsg[] } {
  const system: string[] = [];
  const out: WireMsg[] = [];
  const push = (role: WireMsg['role'], blocks: Block[]) => {
    if (!blocks.length) return;
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const m of messages) {
    if (m.role === 'system') system.push(m.content);
    else if (m.role === 'tool') push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id ?? '', content: m.content }]);
    else if (m.role === 'assistant') {
      const blocks: Block[] = [];
      if (m.content) blocks.push({ type: 'text', text: m.content });
      for (const c of m.tool_calls ?? []) blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: parseInput(c.arguments) });
      push('assistant', blocks);
    } else push('user', [{ type: 'text', text: m.content }]);
  }
  return { system: system.join('\n\n'), messages: out };
}

export class AnthropicAdapter implements ProviderAdapter {
  constructor(readonly provider: ResolvedProvider, private readonly timeouts: Timeouts, private readonly defaultMaxTokens = 4096) {}

  async chat(req: AdapterRequest, sink: StreamSink, signal: AbortSignal): Promise<AdapterResult> {
    const p = this.provider;
    const { system, messages } = anthropicMessages(req.messages);
    const body: Record<string, unknown> = { model: req.model, max_tokens: req.max_tokens ?? this.defaultMaxTokens, messages, stream: true };
    if (system) body.system = system;
    if (req.tools?.length) body.tools = req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));
    if (req.temperature !== undefined) body.temperature = req.temperature;
    const headers: Record<string, string> = { accept: 'text/event-stream', 'anthropic-version': ANTHROPIC_VERSION, ...p.headers };
    if (p.api_key) headers['x-api-key'] = p.api_key;

    const parser = new SseParser();
    let text = '';
    let finish = '';
    let stopped = false;
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    const blocks = new Map<number, { kind: 'text' | 'tool'; id: string; name: string; json: string }>();
    const order: number[] = [];

    const handle = (event: string, data: string, ctl: { firstToken(): void }) => {
      if (stopped) return;
      let j: any;
      try {
        j = JSON.parse(data);
      } catch {
        throw new ProviderError('bad_response', p.id, `malformed stream event "${event}" (not JSON): ${data.slice(0, 120)}`);
      }
      const type = j?.type ?? event;
      switch (type) {
        case 'ping':
          return;
        case 'error': {
          const e = j.error ?? {};
          const status = e.type === 'overloaded_error' ? 529 : e.type === 'rate_limit_error' ? 429 : e.type === 'invalid_request_error' ? 400 : 500;
          throw classifyStatus(p.id, status, `${e.type ?? 'error'}: ${e.message ?? ''}`);
        }
        case 'message_start': {
          const u = j.message?.usage;
          if (u) inputTokens = (Number(u.input_tokens) || 0) + (Number(u.cache_read_input_tokens) || 0) + (Number(u.cache_creation_input_tokens) || 0);
          return;
        }
        case 'content_block_start': {
          const cb = j.content_block ?? {};
          const idx = Number(j.index) || 0;
          if (cb.type === 'tool_use') {
            ctl.firstToken();
            blocks.set(idx, { kind: 'tool', id: String(cb.id ?? ''), name: String(cb.name ?? ''), json: '' });
          } else {
            blocks.set(idx, { kind: 'text', id: '', name: '', json: '' });
            if (typeof cb.text === 'string' && cb.text) {
              ctl.firstToken();
              text += cb.text;
              sink.onText(cb.text);
            }
          }
          order.push(idx);
          return;
        }
        case 'content_block_delta': {
          const d = j.delta ?? {};
          const b = blocks.get(Number(j.index) || 0);
          if (d.type === 'text_delta' && typeof d.text === 'string') {
            ctl.firstToken();
            text += d.text;
            sink.onText(d.text);
          } else if (d.type === 'input_json_delta' && b) {
            ctl.firstToken();
            b.json += String(d.partial_json ?? '');
          }
          return;
        }
        case 'message_delta': {
          if (j.delta?.stop_reason) finish = j.delta.stop_reason;
          if (j.usage?.output_tokens !== undefined) outputTokens = Number(j.usage.output_tokens) || 0;
          if (j.usage?.input_tokens !== undefined && inputTokens === undefined) inputTokens = Number(j.usage.input_tokens) || 0;
          return;
        }
        case 'message_stop':
          stopped = true;
          return;
        default:
          return; // content_block_stop and future event types
      }
    };

    await streamPost(
      { provider: p.id, url: `${p.base_url}/v1/messages`, headers, body, timeouts: this.timeouts, signal, secret: p.api_key, expect: 'sse' },
      (chunk, ctl) => {
        for (const ev of parser.push(chunk)) handle(ev.event, ev.data, ctl);
      },
    );
    for (const ev of parser.end()) handle(ev.event, ev.data, { firstToken() {} });
    if (!stopped) throw new ProviderError('stream_died', p.id, 'stream ended before message_stop');
    const tool_calls: ToolCall[] = [];
    for (const idx of order) {
      const b = blocks.get(idx);
      if (b?.kind === 'tool') tool_calls.push({ id: b.id, name: b.name, arguments: b.json || '{}' });
    }
    const finish_reason = finish === 'tool_use' ? 'tool_calls' : finish === 'max_tokens' ? 'length' : finish || 'stop';
    const usage = inputTokens !== undefined || outputTokens !== undefined
      ? { input_tokens: inputTokens ?? 0, output_tokens: outputTokens ?? 0 } : undefined;
    return { text, tool_calls, finish_reason, ...(usage ? { usage } : {}) };
  }
}
