/**
 * The router against the bytes real servers send (issue 15). Each case replays a provider's wire
 * format through a loopback server, cut into small writes (mid-line, mid-UTF-8 character); the
 * comment above each sample names where its shape comes from. The samples are written for these
 * tests from those sources (facts carried over, no recorded file copied).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLlmServer, providerEntry, type Behaviour, type WireKind } from '../support/llm-servers.js';
import { closeHttpPools } from '../../actors/provider-router/http.js';
import { actorStore } from '../../src/kernel/store.js';
import type { ChatMessage } from '../../protocol/provider.js';
import { captureLog, chatCollect, makeRouter, rejection, userMsg } from './helpers.js';

after(() => closeHttpPools());

const sse = (data: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
const oaiChunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
  sse({ id: 'chatcmpl-w1', object: 'chat.completion.chunk', created: 1736000000, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra });
const DONE = 'data: [DONE]\n\n';
const raw = (body: string[], extra: Partial<Extract<Behaviour, { kind: 'raw' }>> = {}): Behaviour => ({ kind: 'raw', body, split_bytes: 7, ...extra });

function tempStore() {
  return actorStore(mkdtempSync(path.join(os.tmpdir(), 'rc-wire-')), 'system/provider-router');
}

async function one(kind: WireKind, script: Behaviour[], router: Record<string, unknown> = {}) {
  const s = await startLlmServer(kind, { script });
  const cap = captureLog();
  const r = makeRouter({ p: providerEntry(s) }, ['p'], { log: cap.log, router });
  return { s, r, lines: cap.lines };
}

// ---- 1. reasoning round-trip -----------------------------------------------------------------

// DeepSeek thinking mode (https://api-docs.deepseek.com/guides/thinking_mode, "Tool Calls"):
// `delta.reasoning_content` streams before the answer; an assistant message with tool_calls sent
// back without its reasoning_content is rejected with 400 "Missing reasoning_content field in the
// assistant message at message index N" (error body as reported in AstrBotDevs/AstrBot#4174).
const deepseekToolTurn = [
  oaiChunk({ role: 'assistant', content: null, reasoning_content: '' }),
  oaiChunk({ reasoning_content: 'The user wants the time; ' }),
  oaiChunk({ reasoning_content: 'call current_time — déjà vu ✓' }),
  oaiChunk({ tool_calls: [{ index: 0, id: 'call_00_abc', type: 'function', function: { name: 'current_time', arguments: '' } }] }),
  oaiChunk({ tool_calls: [{ index: 0, function: { arguments: '{"tz":"UTC"}' } }] }),
  oaiChunk({}, 'tool_calls'),
  sse({ id: 'chatcmpl-w1', object: 'chat.completion.chunk', created: 1736000000, model: 'deepseek-reasoner', choices: [],
    usage: { prompt_tokens: 40, completion_tokens: 30, total_tokens: 70, completion_tokens_details: { reasoning_tokens: 18 } } }),
  DONE,
];

function deepseekValidator(req: { body: any }): Behaviour | undefined {
  const msgs: any[] = req.body?.messages ?? [];
  const i = msgs.findIndex((m) => m.role === 'assistant' && m.tool_calls?.length && typeof m.reasoning_content !== 'string');
  if (i < 0) return undefined;
  return { kind: 'raw', status: 400, content_type: 'application/json', body: [JSON.stringify({ error: {
    message: `Missing reasoning_content field in the assistant message at message index ${i}. For more information, please refer to https://api-docs.deepseek.com/guides/thinking_mode#tool-calls`,
    type: 'invalid_request_error', param: null, code: 'invalid_request_error' } })] };
}

test('DeepSeek thinking mode: reasoning_content is captured (not streamed as text) and sent back with the tool call', async () => {
  const s = await startLlmServer('openai', { script: [raw(deepseekToolTurn)], fallback: (req) => deepseekValidator(req) ?? { kind: 'reply', reply: { text: 'It is noon.' } } });
  const r = makeRouter({ ds: providerEntry(s) }, ['ds']);
  try {
    const { result, streamed } = await chatCollect(r, 'what time is it?', { tools: [{ name: 'current_time', description: 'now', parameters: { type: 'object' } }] });
    assert.equal(streamed, '', 'reasoning is not text');
    assert.equal(result.finish_reason, 'tool_calls');
    assert.deepEqual(result.tool_calls, [{ id: 'call_00_abc', name: 'current_time', arguments: '{"tz":"UTC"}' }]);
    assert.deepEqual(result.reasoning, { text: 'The user wants the time; call current_time — déjà vu ✓', field: 'reasoning_content' });
    assert.equal(result.usage.reasoning_tokens, 18);
    const history: ChatMessage[] = [
      ...userMsg('what time is it?'),
      { role: 'assistant', content: '', tool_calls: result.tool_calls, reasoning: result.reasoning! },
      { role: 'tool', content: '12:00', tool_call_id: 'call_00_abc', name: 'current_time' },
    ];
    const second = await r.chat({ model: 'default', messages: history }, () => {});
    assert.equal(second.text, 'It is noon.');
    const sent = s.requests[1].body.messages[1];
    assert.equal(sent.reasoning_content, 'The user wants the time; call current_time — déjà vu ✓');
    // Without it the loopback DeepSeek answers what the real one does: a request error naming the field.
    const err = await rejection(r.chat({ model: 'default', messages: [history[0], { ...history[1], reasoning: undefined } as ChatMessage, history[2]] }, () => {}));
    assert.equal(err.code, 'bad_request');
    assert.match(err.message, /Missing reasoning_content field/);
  } finally {
    await s.close();
  }
});

// OpenRouter normalises reasoning into `delta.reasoning` (https://openrouter.ai/docs/use-cases/reasoning-tokens).
test('OpenRouter-style delta.reasoning is kept under its own field name', async () => {
  const t = await one('openai', [raw([oaiChunk({ role: 'assistant', content: '' }), oaiChunk({ reasoning: 'think ' }), oaiChunk({ reasoning: 'more' }), oaiChunk({ content: 'Answer' }), oaiChunk({}, 'stop'), DONE])]);
  try {
    const { result, streamed } = await chatCollect(t.r, 'q');
    assert.equal(streamed, 'Answer');
    assert.deepEqual(result.reasoning, { text: 'think more', field: 'reasoning' });
    assert.equal(result.usage.estimated, true);
    assert.ok(result.usage.output_tokens >= 3, 'estimated output counts the reasoning too');
  } finally {
    await t.s.close();
  }
});

// Anthropic extended thinking, streaming (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking,
// "Streaming thinking"): a `thinking` block with thinking_delta pieces and a signature_delta, then
// the tool_use block; the thinking block must be passed back unchanged with the tool result.
const anthropicThinkingTool = [
  sse({ type: 'message_start', message: { id: 'msg_01', type: 'message', role: 'assistant', content: [], model: 'claude-sonnet-4-0', stop_reason: null, stop_sequence: null, usage: { input_tokens: 50, output_tokens: 4 } } }, 'message_start'),
  sse({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }, 'content_block_start'),
  sse({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'I should read the file.' } }, 'content_block_delta'),
  sse({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' } }, 'content_block_delta'),
  sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
  sse({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_01', name: 'read_workspace_file', input: {} } }, 'content_block_start'),
  sse({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"path":' } }, 'content_block_delta'),
  sse({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"notes.md"}' } }, 'content_block_delta'),
  sse({ type: 'content_block_stop', index: 1 }, 'content_block_stop'),
  sse({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 60 } }, 'message_delta'),
  sse({ type: 'message_stop' }, 'message_stop'),
];

test('Anthropic thinking blocks keep their signature and go back before the tool_use', async () => {
  const t = await one('anthropic', [raw(anthropicThinkingTool)]);
  try {
    const { result } = await chatCollect(t.r, 'read notes');
    assert.equal(result.finish_reason, 'tool_calls');
    assert.equal(result.raw_finish_reason, 'tool_use');
    assert.deepEqual(result.reasoning, { text: 'I should read the file.', blocks: [{ thinking: 'I should read the file.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' }] });
    await t.r.chat({ model: 'default', messages: [
      ...userMsg('read notes'),
      { role: 'assistant', content: '', tool_calls: result.tool_calls, reasoning: result.reasoning! },
      { role: 'tool', content: 'hello', tool_call_id: 'toolu_01', name: 'read_workspace_file' },
    ] }, () => {});
    const assistant = t.s.requests[1].body.messages[1];
    assert.deepEqual(assistant.content[0], { type: 'thinking', thinking: 'I should read the file.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' });
    assert.equal(assistant.content[1].type, 'tool_use');
  } finally {
    await t.s.close();
  }
});

// ---- 2. llama.cpp context overflow ------------------------------------------------------------

// llama.cpp server (tools/server, ERROR_TYPE_EXCEED_CONTEXT_SIZE): HTTP 400
// {"error":{"code":400,"message":"request (N tokens) exceeds the available context size (M tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":N,"n_ctx":M}}
test('llama.cpp exceed_context_size_error is a context_length error (compact, no failover)', async () => {
  const body = JSON.stringify({ error: { code: 400, message: 'request (4476 tokens) exceeds the available context size (4096 tokens), try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: 4476, n_ctx: 4096 } });
  const a = await startLlmServer('openai', { script: [raw([body], { status: 400, content_type: 'application/json; charset=utf-8' })] });
  const b = await startLlmServer('openai');
  const r = makeRouter({ a: providerEntry(a), b: providerEntry(b) }, ['a', 'b']);
  try {
    const err = await rejection(chatCollect(r, 'long'));
    assert.equal(err.code, 'context_length');
    assert.match(err.message, /^a: HTTP 400: request \(4476 tokens\) exceeds the available context size/);
    assert.match(err.message, /\(a\/openai-test-model\)$/, 'the error names provider and model');
    assert.equal(b.requests.length, 0);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

// ---- 3. [DONE] without a finish_reason --------------------------------------------------------

// Older llama.cpp server.cpp streams `error: {json}` (server_sent_event(sink, "error", …)) and then
// `data: [DONE]` when generation fails mid-stream; no chunk ever carries a finish_reason.
test('a stream reaching [DONE] with no finish_reason is an error, never a truncated success', async () => {
  const t = await one('openai', [raw([
    oaiChunk({ role: 'assistant', content: '' }), oaiChunk({ content: 'Partial ans' }), oaiChunk({ content: 'wer é' }),
    'error: {"code":500,"message":"context shift is disabled","type":"server_error"}\n\n', DONE,
  ])]);
  try {
    const err = await rejection(chatCollect(t.r, 'q'));
    assert.equal(err.code, 'stream_failed');
    assert.match(err.message, /^p: HTTP 500: context shift is disabled \(p\/openai-test-model;/);
  } finally {
    await t.s.close();
  }
  const t2 = await one('openai', [raw([oaiChunk({ content: 'cut' }), DONE])]);
  try {
    const err = await rejection(chatCollect(t2.r, 'q'));
    assert.equal(err.code, 'stream_failed');
    assert.match(err.message, /\[DONE\] without a finish_reason/);
  } finally {
    await t2.s.close();
  }
});

// ---- 4. SGLang tool-call deltas with index: null ---------------------------------------------

// SGLang serving_chat.py streamed tool-call deltas with `index: null` (sgl-project/sglang#5661,
// #4700: name in the first delta, then argument pieces; continuation ids/names null or "").
test('SGLang tool-call deltas with index null assemble into one call, not six', async () => {
  const tc = (o: Record<string, unknown>) => oaiChunk({ tool_calls: [{ index: null, type: 'function', ...o }] });
  const t = await one('openai', [raw([
    oaiChunk({ role: 'assistant', content: '' }),
    tc({ id: 'call_7f3', function: { name: 'get_weather', arguments: '' } }),
    tc({ id: null, function: { name: null, arguments: '{"location"' } }),
    tc({ id: null, function: { name: '', arguments: ': "Par' } }),
    tc({ id: null, function: { name: null, arguments: 'is, Fran' } }),
    tc({ id: null, function: { name: null, arguments: 'ce"' } }),
    tc({ id: null, function: { name: null, arguments: '}' } }),
    oaiChunk({}, 'tool_calls'), DONE,
  ])]);
  try {
    const { result } = await chatCollect(t.r, 'weather');
    assert.deepEqual(result.tool_calls, [{ id: 'call_7f3', name: 'get_weather', arguments: '{"location": "Paris, France"}' }]);
  } finally {
    await t.s.close();
  }
  // Two calls without indexes are told apart by their ids.
  const t2 = await one('openai', [raw([
    tc({ id: '0', function: { name: 'a', arguments: '{"x":' } }), tc({ id: '0', function: { arguments: '1}' } }),
    tc({ id: '1', function: { name: 'b', arguments: '{}' } }), oaiChunk({}, 'tool_calls'), DONE,
  ])]);
  try {
    const { result } = await chatCollect(t2.r, 'two');
    assert.deepEqual(result.tool_calls.map((c) => [c.name, c.arguments]), [['a', '{"x":1}'], ['b', '{}']]);
  } finally {
    await t2.s.close();
  }
});

// ---- 5. quota and billing errors ----------------------------------------------------------------

// OpenAI (https://platform.openai.com/docs/guides/error-codes): 429 "You exceeded your current
// quota, please check your plan and billing details." type/code insufficient_quota.
const openAiQuota = JSON.stringify({ error: { message: 'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } });
// OpenRouter free tier daily cap (https://openrouter.ai/docs/api-reference/limits; body as in
// Gitlawb/openclaude#936): 429 "Rate limit exceeded: free-models-per-day. …", code 429, metadata.headers.
const openRouterDaily = JSON.stringify({ error: { message: 'Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day', code: 429, metadata: { headers: { 'X-RateLimit-Limit': '50', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1767225600000' }, provider_name: null } }, user_id: 'user_2abc' });

for (const [name, body] of [['OpenAI insufficient_quota', openAiQuota], ['OpenRouter free-models-per-day', openRouterDaily]] as const) {
  test(`${name}: not retried as a rate limit — fail over at once, long cooldown, persisted`, async () => {
    const a = await startLlmServer('openai', { fallback: () => raw([body], { status: 429, content_type: 'application/json' }) });
    const b = await startLlmServer('ollama');
    const store = tempStore();
    const cfg = { a: providerEntry(a), b: providerEntry(b) };
    try {
      // max_retry_wait_ms high: a rate limit would be waited for; a quota error must not be.
      const r = makeRouter(cfg, ['a', 'b'], { store, router: { max_retry_wait_ms: 30_000 } });
      const { result } = await chatCollect(r, 'hi');
      assert.equal(result.usage.provider, 'b');
      assert.equal(a.requests.length, 1);
      assert.equal(result.attempts[0].code, 'quota');
      const st = r.status().providers.find((x) => x.provider === 'a')!;
      assert.equal(st.state, 'cooldown');
      assert.equal(st.kind, 'quota');
      assert.ok((st.cooldown_until ?? 0) - Date.now() > 50 * 60_000, 'cooled down for long (default 1 h)');
      // Alone in its chain it fails at once with the provider's message, no sleeping on it.
      const solo = makeRouter({ a: providerEntry(a) }, ['a'], { router: { max_retry_wait_ms: 30_000 } });
      const err = await rejection(chatCollect(solo, 'hi'));
      assert.equal(err.code, 'all_providers_failed');
      assert.match(err.message, /quota|free-models-per-day/);
      assert.equal(a.requests.length, 2);
      // A restart (or the next one-shot CLI run) remembers it.
      await store.flushed();
      const r2 = makeRouter(cfg, ['a', 'b'], { store });
      assert.equal(r2.status().providers.find((x) => x.provider === 'a')!.state, 'cooldown');
      await chatCollect(r2, 'again');
      assert.equal(a.requests.length, 2, 'the cooling entry is not asked again after a restart');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
}

test('a 429 Retry-After cooldown survives a restart (one-shot CLI runs)', async () => {
  const a = await startLlmServer('openai', { script: [{ kind: 'status', status: 429, retry_after: '60' }] });
  const b = await startLlmServer('anthropic');
  const store = tempStore();
  const cfg = { a: providerEntry(a), b: providerEntry(b) };
  try {
    const r1 = makeRouter(cfg, ['a', 'b'], { store });
    assert.equal((await chatCollect(r1, 'one')).result.usage.provider, 'b');
    await store.flushed();
    const r2 = makeRouter(cfg, ['a', 'b'], { store });
    const st = r2.status().providers.find((x) => x.provider === 'a')!;
    assert.equal(st.state, 'cooldown');
    assert.equal(st.kind, 'rate_limited');
    assert.match(st.reason ?? '', /HTTP 429/);
    assert.equal((await chatCollect(r2, 'two')).result.usage.provider, 'b');
    assert.equal(a.requests.length, 1);
    // A config change (new key) ends the remembered cooldown.
    const r3 = makeRouter({ ...cfg, a: { ...cfg.a, api_key: 'rotated-key' } }, ['a', 'b'], { store });
    assert.equal((await chatCollect(r3, 'three')).result.usage.provider, 'a');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

// ---- 6. refusals ------------------------------------------------------------------------------

// OpenAI structured outputs refusals (https://platform.openai.com/docs/guides/structured-outputs,
// "Refusals"; openai-node ChatCompletionStream handles `delta.refusal`): content null, refusal pieces,
// finish_reason "stop".
test('OpenAI delta.refusal becomes finish_reason refusal with the refusal text', async () => {
  const t = await one('openai', [raw([
    oaiChunk({ role: 'assistant', content: null, refusal: '' }), oaiChunk({ refusal: "I'm sorry, " }), oaiChunk({ refusal: "I can't assist with that request." }),
    oaiChunk({}, 'stop'), DONE,
  ])]);
  try {
    const { result, streamed } = await chatCollect(t.r, 'bad');
    assert.equal(streamed, '');
    assert.equal(result.finish_reason, 'refusal');
    assert.equal(result.refusal, "I'm sorry, I can't assist with that request.");
  } finally {
    await t.s.close();
  }
});

// Anthropic stop reasons (https://docs.anthropic.com/en/api/handling-stop-reasons): `refusal`
// (streaming classifiers), `end_turn`, `max_tokens`.
function anthropicText(text: string, stop: string, usage: Record<string, number> = { output_tokens: 5 }): string[] {
  return [
    sse({ type: 'message_start', message: { id: 'msg_02', type: 'message', role: 'assistant', content: [], model: 'claude', stop_reason: null, stop_sequence: null, usage: { input_tokens: 43, output_tokens: 1 } } }, 'message_start'),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    sse({ type: 'ping' }, 'ping'),
    sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }, 'content_block_delta'),
    sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    sse({ type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage }, 'message_delta'),
    sse({ type: 'message_stop' }, 'message_stop'),
  ];
}

test('Anthropic stop reasons are normalised: refusal, end_turn → stop, max_tokens → length', async () => {
  const t = await one('anthropic', [raw(anthropicText('I cannot help', 'refusal')), raw(anthropicText('Done ✓', 'end_turn')), raw(anthropicText('Once upon a', 'max_tokens'))]);
  try {
    const a = (await chatCollect(t.r, '1')).result;
    assert.equal(a.finish_reason, 'refusal');
    const b = (await chatCollect(t.r, '2')).result;
    assert.equal(b.finish_reason, 'stop');
    assert.equal(b.raw_finish_reason, 'end_turn');
    assert.equal(b.text, 'Done ✓');
    const c = (await chatCollect(t.r, '3')).result;
    assert.equal(c.finish_reason, 'length');
  } finally {
    await t.s.close();
  }
});

// ---- 7. truncation --------------------------------------------------------------------------

// OpenAI finish_reason "length"; Ollama /api/chat final object `"done_reason":"length"`
// (ollama api docs, num_predict reached).
test('finish_reason length (OpenAI) and done_reason length (Ollama) reach the caller as length', async () => {
  const t = await one('openai', [raw([oaiChunk({ content: 'The list: 1, 2,' }), oaiChunk({}, 'length'), DONE])]);
  try {
    assert.equal((await chatCollect(t.r, 'q')).result.finish_reason, 'length');
  } finally {
    await t.s.close();
  }
  const line = (o: unknown) => `${JSON.stringify(o)}\n`;
  const o = await one('ollama', [raw([
    line({ model: 'llama3.2', created_at: '2025-01-01T00:00:00Z', message: { role: 'assistant', content: 'Once upon' }, done: false }),
    line({ model: 'llama3.2', created_at: '2025-01-01T00:00:01Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'length', total_duration: 1, prompt_eval_count: 12, eval_count: 4 }),
  ], { content_type: 'application/x-ndjson' })]);
  try {
    const { result } = await chatCollect(o.r, 'q');
    assert.equal(result.finish_reason, 'length');
    assert.equal(result.usage.output_tokens, 4);
  } finally {
    await o.s.close();
  }
});

// Anthropic: a tool_use block cut by max_tokens ends with stop_reason "max_tokens" and invalid JSON.
test('an Anthropic tool_use cut by max_tokens is reported as length, not as a normal call', async () => {
  const t = await one('anthropic', [raw([
    sse({ type: 'message_start', message: { id: 'msg_03', type: 'message', role: 'assistant', content: [], model: 'claude', usage: { input_tokens: 20, output_tokens: 1 } } }, 'message_start'),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_9', name: 'read_workspace_file', input: {} } }, 'content_block_start'),
    sse({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"path": "notes/2025-' } }, 'content_block_delta'),
    sse({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 16 } }, 'message_delta'),
    sse({ type: 'message_stop' }, 'message_stop'),
  ])]);
  try {
    const { result } = await chatCollect(t.r, 'q');
    assert.equal(result.finish_reason, 'length');
    assert.equal(result.tool_calls.length, 1);
  } finally {
    await t.s.close();
  }
});

// ---- 8. Anthropic cumulative usage ---------------------------------------------------------------

// Anthropic streaming (https://docs.anthropic.com/en/docs/build-with-claude/streaming): the token
// counts in message_delta.usage are cumulative and supersede message_start's.
test('Anthropic message_delta cumulative input_tokens win over message_start', async () => {
  const t = await one('anthropic', [raw(anthropicText('hi', 'end_turn', { input_tokens: 61, output_tokens: 25, cache_read_input_tokens: 0 }))]);
  try {
    const { result } = await chatCollect(t.r, 'q');
    assert.equal(result.usage.input_tokens, 61);
    assert.equal(result.usage.output_tokens, 25);
  } finally {
    await t.s.close();
  }
});

// ---- 9. first-token deadline vs keep-alive comments -------------------------------------------

// OpenRouter (https://openrouter.ai/docs/api-reference/streaming): ": OPENROUTER PROCESSING"
// SSE comments are sent while the upstream model has not started.
test('keep-alive comments do not extend first_token_timeout_ms', async () => {
  const t = await one('openai', [{ kind: 'raw', body: [': OPENROUTER PROCESSING\n\n'], then: 'keepalive', keepalive: { line: ': OPENROUTER PROCESSING\n\n', every_ms: 40 } }],
    { first_token_timeout_ms: 400, idle_timeout_ms: 400, request_timeout_ms: 60_000 });
  try {
    const err = await rejection(chatCollect(t.r, 'q'));
    assert.equal(err.code, 'all_providers_failed');
    assert.match(err.message, /no first token within 400 ms/);
  } finally {
    await t.s.close();
  }
  // Comments before a real first token are harmless.
  const ok = await one('openai', [raw([': OPENROUTER PROCESSING\n\n', ': OPENROUTER PROCESSING\n\n', oaiChunk({ content: 'hello' }), oaiChunk({}, 'stop'), DONE], { gap_ms: 20 })],
    { first_token_timeout_ms: 5000 });
  try {
    assert.equal((await chatCollect(ok.r, 'q')).streamed, 'hello');
  } finally {
    await ok.s.close();
  }
});

// ---- 11. smaller ------------------------------------------------------------------------------

test('an Anthropic stream that re-opens a block index does not duplicate the tool call', async () => {
  const start = sse({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'current_time', input: {} } }, 'content_block_start');
  const t = await one('anthropic', [raw([
    sse({ type: 'message_start', message: { id: 'm', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 5, output_tokens: 1 } } }, 'message_start'),
    start, sse({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{}' } }, 'content_block_delta'), start,
    sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    sse({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } }, 'message_delta'), sse({ type: 'message_stop' }, 'message_stop'),
  ])]);
  try {
    const { result } = await chatCollect(t.r, 'q');
    assert.deepEqual(result.tool_calls, [{ id: 'toolu_1', name: 'current_time', arguments: '{}' }]);
  } finally {
    await t.s.close();
  }
});

// A server that ignores `stream: true` answers with one chat.completion / message JSON body
// (OpenAI API reference "The chat completion object"; Anthropic "Messages" response).
test('an HTTP 200 JSON body answering a stream request is used as the answer', async () => {
  const completion = JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Whole answer ✓', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } });
  const t = await one('openai', [raw([completion], { content_type: 'application/json' })]);
  try {
    const { result, streamed } = await chatCollect(t.r, 'q');
    assert.equal(streamed, 'Whole answer ✓');
    assert.equal(result.finish_reason, 'stop');
    assert.equal(result.usage.input_tokens, 9);
  } finally {
    await t.s.close();
  }
  const message = JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', stop_reason: 'end_turn', stop_sequence: null,
    content: [{ type: 'text', text: 'Hi there' }, { type: 'tool_use', id: 'toolu_2', name: 'current_time', input: { tz: 'UTC' } }],
    usage: { input_tokens: 11, output_tokens: 7 } });
  const a = await one('anthropic', [raw([message], { content_type: 'application/json' })]);
  try {
    const { result } = await chatCollect(a.r, 'q');
    assert.equal(result.text, 'Hi there');
    assert.deepEqual(result.tool_calls, [{ id: 'toolu_2', name: 'current_time', arguments: '{"tz":"UTC"}' }]);
    assert.equal(result.usage.output_tokens, 7);
  } finally {
    await a.s.close();
  }
});

// Groq/Mistral-style streams carry usage in every chunk (x_groq.usage / usage per chunk); the
// provider bills what it generated even when the stream then breaks.
test('the billed tokens of a stream that failed after tokens are recorded with status failed', async () => {
  const u = (n: number) => ({ usage: { prompt_tokens: 30, completion_tokens: n, total_tokens: 30 + n } });
  const t = await one('openai', [raw([oaiChunk({ content: 'Hello ' }, null, u(1)), oaiChunk({ content: 'wor' }, null, u(2))], { then: 'destroy' })]);
  try {
    const err = await rejection(chatCollect(t.r, 'q', { agent: 'ag' }));
    assert.equal(err.code, 'stream_failed');
    const rep = t.r.usage({ group_by: ['provider', 'status'] });
    const row = rep.rows.find((x) => x.key.status === 'failed')!;
    assert.ok(row, 'a failed row exists');
    assert.equal(row.key.provider, 'p');
    assert.equal(row.input_tokens, 30);
    assert.ok(row.output_tokens >= 2);
  } finally {
    await t.s.close();
  }
});

// Ollama /api/chat for a model that is not pulled: HTTP 404 {"error":"model \"llama3.2\" not found, try pulling it first"}
test('a 404 model-not-found on one entry fails over to the next entry', async () => {
  const o = await startLlmServer('ollama', { fallback: () => raw([JSON.stringify({ error: 'model "llama3.2" not found, try pulling it first' })], { status: 404, content_type: 'application/json; charset=utf-8' }) });
  const b = await startLlmServer('openai');
  const r = makeRouter({ o: providerEntry(o), b: providerEntry(b) }, ['o', 'b']);
  try {
    const { result } = await chatCollect(r, 'hi');
    assert.equal(result.usage.provider, 'b');
    assert.equal(result.attempts[0].code, 'not_found');
    assert.match(result.attempts[0].error ?? '', /o: HTTP 404: model "llama3.2" not found/);
    const st = r.status().providers.find((x) => x.provider === 'o')!;
    assert.equal(st.state, 'cooldown');
    assert.equal(st.kind, 'not_found');
  } finally {
    await Promise.all([o.close(), b.close()]);
  }
});

test('a 401 on one model disables that entry only, not every model of the provider', async () => {
  // OpenRouter answers 401/403 per model when a key is restricted; body per https://openrouter.ai/docs/api-reference/errors
  const s = await startLlmServer('openai', {
    fallback: (req) => (req.body?.model === 'locked-model'
      ? raw([JSON.stringify({ error: { code: 401, message: 'No auth credentials found' } })], { status: 401, content_type: 'application/json' })
      : { kind: 'reply', reply: { text: 'from open model' } }),
  });
  const cap = captureLog();
  const r = makeRouter({ or: providerEntry(s) }, ['or/locked-model', 'or/open-model'], { log: cap.log });
  try {
    const { result } = await chatCollect(r, 'hi');
    assert.equal(result.usage.model, 'open-model');
    const st = r.status().providers;
    assert.equal(st.find((x) => x.model === 'locked-model')!.state, 'disabled');
    assert.equal(st.find((x) => x.model === 'open-model')!.state, 'ok');
  } finally {
    await s.close();
  }
});

test('an unknown error code is classified by its status, with a warning naming it', async () => {
  const t = await one('openai', [raw([JSON.stringify({ error: { message: 'shiny new failure', type: 'brand_new_error_type', code: 'brand_new' } })], { status: 409, content_type: 'application/json' })]);
  try {
    const err = await rejection(chatCollect(t.r, 'q'));
    assert.equal(err.code, 'bad_request');
    const warn = t.lines.find((l) => l.level === 40 && /unknown error code/.test(l.msg));
    assert.ok(warn, 'a warning names the unknown code');
    assert.match(warn.msg, /brand_new/);
  } finally {
    await t.s.close();
  }
});


// ---- hostile bodies ----------------------------------------------------------------------------

test('hostile bodies: binary garbage and one endless line end in a clear error naming the provider', async () => {
  const garbage = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919 + 13) % 256)).toString('latin1');
  const t = await one('openai', [raw([garbage], { split_bytes: 4096 })]);
  try {
    const err = await rejection(chatCollect(t.r, 'q'));
    assert.equal(err.code, 'all_providers_failed');
    assert.match(err.message, /p\/openai-test-model: (malformed stream chunk|stream ended before \[DONE\])/);
  } finally {
    await t.s.close();
  }
  const endless = `data: {"choices":[{"delta":{"content":"${'x'.repeat(17 * 1024 * 1024)}`;
  const t2 = await one('openai', [{ kind: 'raw', body: [endless], split_bytes: 1024 * 1024, then: 'keepalive', keepalive: { line: 'xxxx', every_ms: 50 } }], { request_timeout_ms: 120_000, first_token_timeout_ms: 60_000 });
  try {
    const err = await rejection(chatCollect(t2.r, 'q'));
    assert.equal(err.code, 'all_providers_failed');
    assert.match(err.message, /event-stream line longer than/);
  } finally {
    await t2.s.close();
  }
});
