/**
 * Loopback LLM servers speaking the real wire formats, for tests and the bench:
 * - OpenAI Chat Completions SSE (`/v1/chat/completions`): chunks with tool-call deltas, usage, [DONE];
 *   errors as {"error":{message,type,code}};
 * - Anthropic Messages SSE (`/v1/messages`): message_start … message_stop incl. ping; 529 overloaded_error;
 * - Ollama NDJSON (`/api/chat`).
 * Each request takes the next behaviour from `script` (then `fallback`): a normal answer (text,
 * tool calls, chunking, delays) or a failure (status + Retry-After, HTML, malformed chunk, a stream
 * that dies after N chunks, a connection reset, a hang).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type WireKind = 'openai' | 'anthropic' | 'ollama';

export interface ReplySpec {
  text?: string;
  tool_calls?: Array<{ id?: string; name: string; arguments: string }>;
  /** Characters per streamed text piece (default 4). */
  chunk_size?: number;
  /** Delay before the first content chunk / between chunks. */
  first_delay_ms?: number;
  chunk_delay_ms?: number;
  /** Omit usage from the response (the router must count tokens itself). */
  no_usage?: boolean;
  usage?: { input_tokens: number; output_tokens: number };
}

export type Behaviour =
  | { kind: 'reply'; reply?: ReplySpec }
  | { kind: 'status'; status: number; retry_after?: string; retry_after_ms?: string; message?: string; error_type?: string; code?: string }
  | { kind: 'html'; status?: number }
  /** Send headers and `chunks` content chunks, then destroy the socket. 0 = dies before the first token. */
  | { kind: 'die'; chunks: number; text?: string }
  /** Send `after` good chunks then one that is not valid JSON. */
  | { kind: 'malformed'; after?: number }
  /** Start a 200 stream, then send the format's in-stream error event (e.g. Anthropic overloaded_error). */
  | { kind: 'stream_error'; message?: string; error_type?: string }
  /** Accept and never answer (timeouts). */
  | { kind: 'hang' }
  /** Destroy the connection without any response (connection reset). */
  | { kind: 'reset' }
  /**
   * Send recorded bytes verbatim: `body` (pieces written one by one, or one string), optionally cut
   * into `split_bytes`-byte writes (mid-line, mid-UTF-8 character), `gap_ms` between writes. Then end,
   * or destroy the socket (`then: 'destroy'`), or keep it open sending `keepalive` comment lines.
   */
  | {
    kind: 'raw'; status?: number; content_type?: string; headers?: Record<string, string>; body: string | string[];
    split_bytes?: number; gap_ms?: number; then?: 'end' | 'destroy' | 'keepalive'; keepalive?: { line: string; every_ms: number };
  };

export interface RecordedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** performance.timeOrigin + performance.now() when the request arrived. */
  at: number;
  /** The client closed the connection before the response was complete (a cancelled stream). */
  closed_early?: boolean;
  /** Text pieces written before the response ended or the client went away. */
  pieces_sent?: number;
  /** When each text piece was handed to the socket (same clock as `at`), for latency benches. */
  piece_at?: number[];
}

export type Responder = (req: RecordedRequest) => Behaviour | undefined;

export interface LlmServer {
  kind: WireKind;
  /** Base URL as the provider config wants it (OpenAI: with /v1). */
  url: string;
  requests: RecordedRequest[];
  /** Behaviours consumed one per request, in order. */
  script: Behaviour[];
  /** Used when the script is empty; default: echo the last user message. */
  fallback: Responder;
  /** Absolute time (ms) at which the last failure response was completed. */
  lastFailureAt: number;
  /** When set, requests without this key get 401 (Anthropic: x-api-key, others: Bearer). */
  requireKey?: string;
  /** OpenAI kind: what `GET /v1/models` lists (as llama.cpp/vLLM do); `null` answers 404. */
  models: string[] | null;
  /** `GET /v1/models` requests seen (kept out of `requests`, which are chat requests). */
  modelListRequests: number;
  close(): Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lastUserText(body: any): string {
  const msgs: any[] = Array.isArray(body?.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      const t = m.content.find((b: any) => b?.type === 'text');
      if (t) return String(t.text);
      const tr = m.content.find((b: any) => b?.type === 'tool_result');
      if (tr) return `tool said ${typeof tr.content === 'string' ? tr.content : JSON.stringify(tr.content)}`;
    }
  }
  return '';
}

export const echo: Responder = (req) => ({ kind: 'reply', reply: { text: `echo: ${lastUserText(req.body)}` } });

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function words(s: string): number {
  return s.split(/\s+/).filter(Boolean).length;
}

function promptWords(body: any): number {
  return words(JSON.stringify(body?.messages ?? '')) + words(String(body?.system ?? ''));
}

// ---- per-format frames ----------------------------------------------------------------------

interface Frames {
  contentType: string;
  head(reply: ReplySpec, input: number): string[];
  text(t: string): string;
  tool(i: number, id: string, name: string, args: string, size: number): string[];
  tail(reply: ReplySpec, finish: string, input: number, output: number): string[];
  malformed(): string;
  streamError(message: string, type?: string): string;
  errorBody(status: number, message: string, type?: string, code?: string): string;
}

function sse(event: string | undefined, data: unknown): string {
  return `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

function openAiFrames(model: string): Frames {
  const id = `chatcmpl-${Math.random().toString(36).slice(2, 10)}`;
  const base = { id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model };
  const chunk = (delta: unknown, finish: string | null = null) => sse(undefined, { ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
  return {
    contentType: 'text/event-stream',
    head: () => [chunk({ role: 'assistant', content: '' })],
    text: (t) => chunk({ content: t }),
    tool: (i, cid, name, args, size) => [
      chunk({ tool_calls: [{ index: i, id: cid, type: 'function', function: { name, arguments: '' } }] }),
      ...pieces(args, size).map((a) => chunk({ tool_calls: [{ index: i, function: { arguments: a } }] })),
    ],
    tail: (reply, finish, input, output) => [
      chunk({}, finish),
      ...(reply.no_usage ? [] : [sse(undefined, { ...base, choices: [], usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output } })]),
      'data: [DONE]\n\n',
    ],
    malformed: () => 'data: {"id":"x","choices":[{"delta":{"content":"oops"\n\n',
    streamError: (message, type) => sse(undefined, { error: { message, type: type ?? 'server_error', code: null } }),
    errorBody: (status, message, type, code) => JSON.stringify({ error: { message, type: type ?? (status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error'), param: null, code: code ?? null } }),
  };
}

function anthropicFrames(model: string): Frames {
  let block = 0;
  let textOpen = false;
  const openText = () => {
    if (textOpen) return '';
    textOpen = true;
    return sse('content_block_start', { type: 'content_block_start', index: block, content_block: { type: 'text', text: '' } });
  };
  const closeText = () => {
    if (!textOpen) return '';
    textOpen = false;
    return sse('content_block_stop', { type: 'content_block_stop', index: block++ });
  };
  return {
    contentType: 'text/event-stream; charset=utf-8',
    head: (reply, input) => [
      sse('message_start', { type: 'message_start', message: {
        id: `msg_${Math.random().toString(36).slice(2, 10)}`, type: 'message', role: 'assistant', content: [], model, stop_reason: null, stop_sequence: null,
        ...(reply.no_usage ? {} : { usage: { input_tokens: input, output_tokens: 1 } }),
      } }),
      sse('ping', { type: 'ping' }),
    ],
    text: (t) => openText() + sse('content_block_delta', { type: 'content_block_delta', index: block, delta: { type: 'text_delta', text: t } }),
    tool: (_i, id, name, args, size) => {
      const out = [closeText() + sse('content_block_start', { type: 'content_block_start', index: block, content_block: { type: 'tool_use', id, name, input: {} } })];
      for (const a of pieces(args, size)) out.push(sse('content_block_delta', { type: 'content_block_delta', index: block, delta: { type: 'input_json_delta', partial_json: a } }));
      out.push(sse('content_block_stop', { type: 'content_block_stop', index: block++ }));
      return out;
    },
    tail: (reply, finish, _input, output) => [
      closeText() + sse('message_delta', { type: 'message_delta', delta: { stop_reason: finish === 'tool_calls' ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: reply.no_usage ? {} : { output_tokens: output } }),
      sse('message_stop', { type: 'message_stop' }),
    ],
    malformed: () => 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_de\n\n',
    streamError: (message, type) => sse('error', { type: 'error', error: { type: type ?? 'overloaded_error', message } }),
    errorBody: (status, message, type) => JSON.stringify({
      type: 'error',
      error: { type: type ?? (status === 529 ? 'overloaded_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : status === 401 ? 'authentication_error' : 'invalid_request_error'), message },
    }),
  };
}

function ollamaFrames(model: string): Frames {
  const line = (o: unknown) => `${JSON.stringify(o)}\n`;
  const created_at = new Date().toISOString();
  return {
    contentType: 'application/x-ndjson',
    head: () => [],
    text: (t) => line({ model, created_at, message: { role: 'assistant', content: t }, done: false }),
    tool: (_i, _id, name, args) => {
      let parsed: unknown = args;
      try { parsed = JSON.parse(args); } catch { /* Ollama sends objects; keep the raw text for bad-args tests */ }
      return [line({ model, created_at, message: { role: 'assistant', content: '', tool_calls: [{ function: { name, arguments: parsed } }] }, done: false })];
    },
    tail: (reply, finish, input, output) => [line({
      model, created_at, message: { role: 'assistant', content: '' }, done: true, done_reason: finish === 'tool_calls' ? 'stop' : 'stop',
      total_duration: 1000, ...(reply.no_usage ? {} : { prompt_eval_count: input, eval_count: output }),
    })],
    malformed: () => '{"model":"x","message":{"content":"oo\n',
    streamError: (message) => line({ error: message }),
    errorBody: (_status, message) => JSON.stringify({ error: message }),
  };
}

const PATHS: Record<WireKind, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages', ollama: '/api/chat' };

export const LOOPBACK_MODEL = 'loopback-model';

export async function startLlmServer(kind: WireKind, init: { script?: Behaviour[]; fallback?: Responder; requireKey?: string; models?: string[] | null } = {}): Promise<LlmServer> {
  const sockets = new Set<import('node:net').Socket>();
  const state: LlmServer = {
    kind, url: '', requests: [], script: init.script ?? [], fallback: init.fallback ?? echo, lastFailureAt: 0,
    models: init.models === undefined ? [LOOPBACK_MODEL] : init.models, modelListRequests: 0,
    ...(init.requireKey ? { requireKey: init.requireKey } : {}),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks).toString('utf8')).catch(() => res.destroy());
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): Promise<void> {
    if (kind === 'openai' && req.method === 'GET' && req.url === '/v1/models') {
      state.modelListRequests++;
      const list = state.models;
      // The shape OpenAI documents and llama.cpp's server / vLLM answer with.
      res.writeHead(list ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(list
        ? { object: 'list', data: list.map((id) => ({ id, object: 'model', created: 1_733_000_000, owned_by: 'llamacpp' })) }
        : { error: { message: 'File Not Found', type: 'not_found_error', code: 404 } }));
      return;
    }
    let body: any;
    try { body = JSON.parse(raw); } catch { body = raw; }
    const rec: RecordedRequest = { path: req.url ?? '', headers: req.headers, body, at: now() };
    state.requests.push(rec);
    res.once('close', () => {
      if (!res.writableFinished) rec.closed_early = true;
    });
    const model = String(body?.model ?? 'test-model');
    const f = kind === 'openai' ? openAiFrames(model) : kind === 'anthropic' ? anthropicFrames(model) : ollamaFrames(model);
    const fail = (status: number, text: string, ctype = 'application/json', headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': ctype, ...headers });
      res.end(text, () => { state.lastFailureAt = now(); });
    };
    if (req.method !== 'POST' || req.url !== PATHS[kind]) return fail(404, f.errorBody(404, `no route ${req.method} ${req.url}`));
    if (state.requireKey) {
      const got = kind === 'anthropic' ? req.headers['x-api-key'] : String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (got !== state.requireKey) return fail(401, f.errorBody(401, 'invalid api key', kind === 'anthropic' ? 'authentication_error' : 'invalid_api_key'));
    }
    const b = state.script.shift() ?? state.fallback(rec) ?? { kind: 'reply' };
    if (b.kind === 'raw') return sendRaw(res, b);
    switch (b.kind) {
      case 'status':
        return fail(b.status, f.errorBody(b.status, b.message ?? http.STATUS_CODES[b.status] ?? 'error', b.error_type, b.code), 'application/json',
          { ...(b.retry_after !== undefined ? { 'retry-after': b.retry_after } : {}), ...(b.retry_after_ms !== undefined ? { 'retry-after-ms': b.retry_after_ms } : {}) });
      case 'html':
        return fail(b.status ?? 200, '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>', 'text/html');
      case 'reset':
        state.lastFailureAt = now();
        req.socket.destroy();
        return;
      case 'hang':
        return;
      default:
        break;
    }
    res.writeHead(200, { 'content-type': f.contentType, 'cache-control': 'no-cache' });
    const write = (s: string) => new Promise<void>((r) => (s ? res.write(s, () => r()) : r()));
    const reply: ReplySpec = (b.kind === 'reply' ? b.reply : undefined) ?? { text: `echo: ${lastUserText(body)}` };
    const calls = reply.tool_calls ?? [];
    const input = reply.usage?.input_tokens ?? promptWords(body);
    const output = reply.usage?.output_tokens ?? words(reply.text ?? '') + calls.length * 5;
    for (const h of f.head(reply, input)) await write(h);
    if (b.kind === 'die') {
      for (const p of pieces(b.text ?? 'partial answer that breaks', 4).slice(0, b.chunks)) await write(f.text(p));
      state.lastFailureAt = now();
      res.destroy();
      return;
    }
    if (b.kind === 'stream_error') {
      await write(f.streamError(b.message ?? 'Overloaded', b.error_type));
      res.end(() => { state.lastFailureAt = now(); });
      return;
    }
    if (b.kind === 'malformed') {
      for (const p of pieces('fine so far', 4).slice(0, b.after ?? 0)) await write(f.text(p));
      await write(f.malformed());
      res.end(() => { state.lastFailureAt = now(); });
      return;
    }
    const size = reply.chunk_size ?? 4;
    if (reply.first_delay_ms) await sleep(reply.first_delay_ms);
    let first = true;
    rec.pieces_sent = 0;
    rec.piece_at = [];
    for (const p of pieces(reply.text ?? '', size)) {
      if (!first && reply.chunk_delay_ms) await sleep(reply.chunk_delay_ms);
      first = false;
      if (res.destroyed) return;
      rec.piece_at.push(now());
      await write(f.text(p));
      rec.pieces_sent++;
    }
    for (let i = 0; i < calls.length; i++) {
      for (const s of f.tool(i, calls[i].id ?? `call_${i}_${Math.random().toString(36).slice(2, 8)}`, calls[i].name, calls[i].arguments, 8)) await write(s);
    }
    for (const t of f.tail(reply, calls.length ? 'tool_calls' : 'stop', input, output)) await write(t);
    res.end();
  }

  async function sendRaw(res: http.ServerResponse, b: Extract<Behaviour, { kind: 'raw' }>): Promise<void> {
    res.writeHead(b.status ?? 200, { 'content-type': b.content_type ?? 'text/event-stream', ...b.headers });
    const whole = Buffer.from(Array.isArray(b.body) ? b.body.join('') : b.body, 'utf8');
    const parts: Buffer[] = [];
    if (b.split_bytes) for (let i = 0; i < whole.length; i += b.split_bytes) parts.push(whole.subarray(i, i + b.split_bytes));
    else if (Array.isArray(b.body)) for (const piece of b.body) parts.push(Buffer.from(piece, 'utf8'));
    else parts.push(whole);
    for (const part of parts) {
      if (res.destroyed) return;
      await new Promise<void>((r) => res.write(part, () => r()));
      if (b.gap_ms) await sleep(b.gap_ms);
    }
    if (b.then === 'destroy') {
      state.lastFailureAt = now();
      res.destroy();
      return;
    }
    if (b.then === 'keepalive' && b.keepalive) {
      const ka = b.keepalive;
      while (!res.destroyed && !res.writableEnded) {
        await sleep(ka.every_ms);
        if (res.destroyed) return;
        res.write(ka.line);
      }
      return;
    }
    res.end(() => { if ((b.status ?? 200) >= 400) state.lastFailureAt = now(); });
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  state.url = kind === 'openai' ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`;
  return state;
}

/** A `providers:` entry pointing at a loopback server. */
export function providerEntry(s: LlmServer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: s.kind, enabled: true, base_url: s.url, api_key: s.requireKey ?? 'test-key', model: `${s.kind}-test-model`, ...extra };
}
