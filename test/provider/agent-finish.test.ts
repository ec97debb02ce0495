/**
 * The agent loop with what real providers send (issue 15): reasoning kept and sent back across
 * steps and turns, truncated tool calls never run, refusals/truncation reported in the reply,
 * llama.cpp's context overflow compacted. Wire samples and their sources: see wire.test.ts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLlmServer, type Behaviour } from '../support/llm-servers.js';
import { closeHttpPools } from '../../actors/provider-router/http.js';
import { makeHarness } from '../agent/helpers.js';

after(() => closeHttpPools());

const sse = (data: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
const oai = (delta: Record<string, unknown>, finish: string | null = null) =>
  sse({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'deepseek-reasoner', choices: [{ index: 0, delta, finish_reason: finish }] });
const raw = (body: string[], extra: Record<string, unknown> = {}): Behaviour => ({ kind: 'raw', body, split_bytes: 11, ...extra }) as Behaviour;

// DeepSeek thinking mode with tools (https://api-docs.deepseek.com/guides/thinking_mode#tool-calls).
const deepseekCall = raw([
  oai({ role: 'assistant', content: null, reasoning_content: '' }),
  oai({ reasoning_content: 'Need the clock.' }),
  oai({ tool_calls: [{ index: 0, id: 'call_0', type: 'function', function: { name: 'current_time', arguments: '{}' } }] }),
  oai({}, 'tool_calls'), 'data: [DONE]\n\n',
]);

/** Answers like DeepSeek: 400 when an assistant tool-call message lacks reasoning_content. */
function deepseek(req: { body: any }): Behaviour {
  const msgs: any[] = req.body?.messages ?? [];
  const i = msgs.findIndex((m) => m.role === 'assistant' && m.tool_calls?.length && typeof m.reasoning_content !== 'string');
  if (i >= 0) {
    return raw([JSON.stringify({ error: { message: `Missing reasoning_content field in the assistant message at message index ${i}.`, type: 'invalid_request_error', param: null, code: 'invalid_request_error' } })],
      { status: 400, content_type: 'application/json' });
  }
  return { kind: 'reply', reply: { text: `turn ${msgs.filter((m) => m.role === 'user').length} answered` } };
}

test('DeepSeek thinking mode: the agent keeps reasoning_content with its tool call, across steps, turns and a restart', async () => {
  const s = await startLlmServer('openai', { script: [deepseekCall], fallback: deepseek });
  const h = makeHarness([s]);
  try {
    const r1 = await h.agent.send({ text: 'what time is it?' });
    assert.equal(r1.text, 'turn 1 answered');
    assert.equal(r1.steps, 2);
    assert.equal(r1.reasoning, 'Need the clock.');
    assert.equal(r1.finish_reason, 'stop');
    assert.equal(s.requests[1].body.messages.find((m: any) => m.tool_calls)?.reasoning_content, 'Need the clock.');
    assert.ok(!h.events.some((e) => e.kind === 'text' && /clock/.test(e.text ?? '')), 'reasoning is never streamed as text');
    // The next turn, after a restart, still sends the stored reasoning back (DeepSeek checks the whole history).
    const r2 = await h.restart().send({ text: 'and now?' });
    assert.equal(r2.text, 'turn 2 answered');
  } finally {
    await s.close();
  }
});

// Anthropic tool_use cut by max_tokens (https://docs.anthropic.com/en/api/handling-stop-reasons#max-tokens).
const truncatedToolUse = raw([
  sse({ type: 'message_start', message: { id: 'msg', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 20, output_tokens: 1 } } }, 'message_start'),
  sse({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_9', name: 'read_workspace_file', input: {} } }, 'content_block_start'),
  sse({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"path": "notes/20' } }, 'content_block_delta'),
  sse({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 16 } }, 'message_delta'),
  sse({ type: 'message_stop' }, 'message_stop'),
]);

test('a tool call cut by max_tokens is never run: retry mode asks again with twice the room', async () => {
  const s = await startLlmServer('anthropic', { script: [truncatedToolUse], fallback: () => ({ kind: 'reply', reply: { text: 'Short answer instead.' } }) });
  const h = makeHarness([s]);
  try {
    const r = await h.agent.send({ text: 'read my notes' });
    assert.equal(r.text, 'Short answer instead.');
    assert.equal(s.requests.length, 2);
    assert.equal(s.requests[1].body.max_tokens, 1024, 'the retry has more room (2 × 16, at least 1024)');
    assert.ok(!h.events.some((e) => e.kind === 'tool_start'), 'the cut-off call was not run');
    const notice = h.events.find((e) => e.kind === 'error' && e.code === 'truncated_tool_call');
    assert.ok(notice && notice.fatal === false);
    assert.match(notice.error ?? '', /^p0\/anthropic-test-model: tool call cut off by the output limit/);
    assert.equal(r.usage.output_tokens >= 16, true, 'the truncated attempt is billed in the turn usage');
  } finally {
    await s.close();
  }
});

test('tell mode: the model gets an error result for the cut-off call, which is not run', async () => {
  const s = await startLlmServer('anthropic', { script: [truncatedToolUse], fallback: () => ({ kind: 'reply', reply: { text: 'I will keep it shorter.' } }) });
  const h = makeHarness([s], { config: { truncated_tool_calls: 'tell' } });
  try {
    const r = await h.agent.send({ text: 'read my notes' });
    assert.equal(r.text, 'I will keep it shorter.');
    assert.ok(!h.events.some((e) => e.kind === 'tool_start'));
    const msgs = s.requests[1].body.messages;
    const result = msgs.at(-1).content.find((b: any) => b.type === 'tool_result');
    assert.equal(result.tool_use_id, 'toolu_9');
    assert.match(result.content, /cut off by the output token limit.*not run/);
    assert.equal(s.requests[1].body.max_tokens, s.requests[0].body.max_tokens, 'no extra room asked for in tell mode');
  } finally {
    await s.close();
  }
});

test('refusal and truncation reach the reply and the done event as finish_reason', async () => {
  const s = await startLlmServer('openai', { script: [
    raw([oai({ role: 'assistant', content: null, refusal: '' }), oai({ refusal: "I can't help with that." }), oai({}, 'stop'), 'data: [DONE]\n\n']),
    raw([oai({ content: 'Step one, step' }), oai({}, 'length'), 'data: [DONE]\n\n']),
  ] });
  const h = makeHarness([s]);
  try {
    const a = await h.agent.send({ text: 'x', session: 'a' });
    assert.equal(a.finish_reason, 'refusal');
    assert.equal(a.refusal, "I can't help with that.");
    const b = await h.agent.send({ text: 'y', session: 'b' });
    assert.equal(b.finish_reason, 'length');
    assert.equal(b.text, 'Step one, step');
    const done = h.events.filter((e) => e.kind === 'done').map((e) => e.finish_reason);
    assert.deepEqual(done, ['refusal', 'length']);
  } finally {
    await s.close();
  }
});

test('llama.cpp exceed_context_size_error makes the agent compact and retry instead of failing', async () => {
  const overflow = raw([JSON.stringify({ error: { code: 400, message: 'request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: 9000, n_ctx: 8192 } })],
    { status: 400, content_type: 'application/json; charset=utf-8' });
  const s = await startLlmServer('openai');
  const h = makeHarness([s], { config: { compaction: { strategy: 'truncate', threshold: 0.75, target: 0.5, keep_last_turns: 1, summary_model: '' } } });
  try {
    for (let i = 0; i < 3; i++) await h.agent.send({ text: `earlier message ${i} ${'lorem ipsum '.repeat(40)}` });
    s.script.push(overflow);
    const r = await h.agent.send({ text: 'now' });
    assert.equal(r.text, 'echo: now');
    assert.ok(h.events.some((e) => e.kind === 'compaction'), 'compacted');
  } finally {
    await s.close();
  }
});
