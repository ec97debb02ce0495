/**
 * Anthropic Messages API: `POST {base}/v1/messages` with `x-api-key` + `anthropic-version`,
 * streamed as SSE events message_start → content_block_* → message_delta → message_stop (+ ping);
 * overload is 529 `overloaded_error`, also possible as an in-stream `error` event.
 */
import type { ChatMessage, Reasoning, ToolCall } from '../../../protocol/provider.js';
import { ProviderError, classifyStatus } from '../errors.js';
import { normaliseFinish } from '../finish.js';
import { streamSseOrJson } from '../http.js';
import type { AdapterRequest, AdapterResult, AdapterUsage, ProviderAdapter, ResolvedProvider, StreamSink, Timeouts } from '../types.js';

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

function thinkingBlocks(r: Reasoning | undefined): Block[] {
  const out: Block[] = [];
  for (const b of r?.blocks ?? []) {
    if (b.redacted) out.push({ type: 'redacted_thinking', data: b.redacted });
    else if (b.signature) out.push({ type: 'thinking', thinking: b.thinking ?? '', signature: b.signature });
  }
  return out;
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
      // With extended thinking on, the assistant turn that called a tool must start with its
      // thinking blocks, signatures intact; blocks without a signature (another provider's
      // reasoning) cannot be verified and are left out.
      const blocks: Block[] = thinkingBlocks(m.reasoning);
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
    const body: Record<string, unknown> = { ...p.body, model: req.model, max_tokens: req.max_tokens ?? this.defaultMaxTokens, messages, stream: true };
    if (system) body.system = system;
    if (req.tools?.length) body.tools = req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));
    if (req.temperature !== undefined) body.temperature = req.temperature;
    const headers: Record<string, string> = { accept: 'text/event-stream', 'anthropic-version': ANTHROPIC_VERSION, ...p.headers };
    if (p.api_key) headers['x-api-key'] = p.api_key;

    let text = '';
    let finish = '';
    let stopped = false;
    // Usage: message_start carries the first counts; message_delta's counts are cumulative and win.
    let inputTokens: number | undefined;
    let cacheRead = 0;
    let cacheCreate = 0;
    let outputTokens: number | undefined;
    const blocks = new Map<number, { kind: 'text' | 'tool' | 'thinking' | 'redacted'; id: string; name: string; json: string; signature: string }>();
    const order: number[] = [];
    let reasoningText = '';
    const reportUsage = () => {
      const u = usage();
      if (u) sink.onUsage?.(u);
    };
    const usage = (): AdapterUsage | undefined => (inputTokens !== undefined || outputTokens !== undefined
      ? { input_tokens: (inputTokens ?? 0) + cacheRead + cacheCreate, output_tokens: outputTokens ?? 0 } : undefined);
    const takeUsage = (u: any) => {
      if (!u || typeof u !== 'object') return;
      if (u.input_tokens !== undefined && u.input_tokens !== null) inputTokens = Number(u.input_tokens) || 0;
      if (u.cache_read_input_tokens !== undefined && u.cache_read_input_tokens !== null) cacheRead = Number(u.cache_read_input_tokens) || 0;
      if (u.cache_creation_input_tokens !== undefined && u.cache_creation_input_tokens !== null) cacheCreate = Number(u.cache_creation_input_tokens) || 0;
      if (u.output_tokens !== undefined && u.output_tokens !== null) outputTokens = Number(u.output_tokens) || 0;
      reportUsage();
    };

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
          throw classifyStatus(p.id, status, `${e.type ?? 'error'}: ${e.message ?? ''}`, undefined, undefined, e.type);
        }
        case 'message_start':
          takeUsage(j.message?.usage);
          return;
        case 'content_block_start': {
          const cb = j.content_block ?? {};
          const idx = Number(j.index) || 0;
          const again = blocks.get(idx);
          // A block index opened twice (seen from proxies replaying a start) is the same block.
          if (again) {
            if (again.kind === 'tool' && cb.type === 'tool_use' && cb.id && cb.id !== again.id) {
              throw new ProviderError('bad_response', p.id, `content block ${idx} re-opened as a different tool call (${again.id} then ${cb.id})`);
            }
            return;
          }
          if (cb.type === 'tool_use') {
            ctl.firstToken();
            blocks.set(idx, { kind: 'tool', id: String(cb.id ?? ''), name: String(cb.name ?? ''), json: '', signature: '' });
          } else if (cb.type === 'thinking') {
            ctl.firstToken();
            blocks.set(idx, { kind: 'thinking', id: '', name: '', json: String(cb.thinking ?? ''), signature: String(cb.signature ?? '') });
            if (cb.thinking) { reasoningText += cb.thinking; sink.onReasoning?.(cb.thinking); }
          } else if (cb.type === 'redacted_thinking') {
            ctl.firstToken();
            blocks.set(idx, { kind: 'redacted', id: '', name: '', json: String(cb.data ?? ''), signature: '' });
          } else {
            blocks.set(idx, { kind: 'text', id: '', name: '', json: '', signature: '' });
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
          } else if (d.type === 'thinking_delta' && b && typeof d.thinking === 'string') {
            ctl.firstToken();
            b.json += d.thinking;
            reasoningText += d.thinking;
            sink.onReasoning?.(d.thinking);
          } else if (d.type === 'signature_delta' && b) {
            b.signature += String(d.signature ?? '');
          }
          return;
        }
        case 'message_delta': {
          if (j.delta?.stop_reason) finish = j.delta.stop_reason;
          takeUsage(j.usage);
          return;
        }
        case 'message_stop':
          stopped = true;
          return;
        default:
          return; // content_block_stop and future event types
      }
    };

    /** A whole Message JSON body (a proxy that ignored `stream: true`). */
    const whole = (j: any, raw: string) => {
      if (j?.type === 'error' || j?.error) handle('error', raw, { firstToken() {} });
      if (j?.type !== 'message' || !Array.isArray(j.content)) throw new ProviderError('bad_response', p.id, `answered a stream request with JSON that is no message: ${raw.slice(0, 120)}`);
      j.content.forEach((cb: any, index: number) => {
        handle('content_block_start', JSON.stringify({ type: 'content_block_start', index, content_block: cb.type === 'tool_use' ? { ...cb, input: {} } : cb }), { firstToken() {} });
        if (cb.type === 'tool_use') blocks.get(index)!.json = JSON.stringify(cb.input ?? {});
      });
      takeUsage(j.usage);
      finish = String(j.stop_reason ?? 'end_turn');
      stopped = true;
    };

    await streamSseOrJson(
      { provider: p.id, url: `${p.base_url}/v1/messages`, headers, body, timeouts: this.timeouts, signal, secret: p.api_key, expect: 'sse' },
      handle,
      whole,
    );
    if (!stopped) throw new ProviderError('stream_died', p.id, 'stream ended before message_stop');
    const tool_calls: ToolCall[] = [];
    const thinking: NonNullable<Reasoning['blocks']> = [];
    for (const idx of order) {
      const b = blocks.get(idx);
      if (b?.kind === 'tool') tool_calls.push({ id: b.id, name: b.name, arguments: b.json || '{}' });
      else if (b?.kind === 'thinking') thinking.push({ thinking: b.json, ...(b.signature ? { signature: b.signature } : {}) });
      else if (b?.kind === 'redacted') thinking.push({ redacted: b.json });
    }
    const u = usage();
    return {
      text, tool_calls, finish_reason: normaliseFinish(finish), raw_finish_reason: finish || 'end_turn',
      ...(thinking.length ? { reasoning: { text: reasoningText, blocks: thinking } } : {}),
      ...(u ? { usage: u } : {}),
    };
  }
}
