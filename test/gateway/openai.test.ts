/**
 * The OpenAI-compatible API through the running service, driven by the official `openai` package
 * (what Open WebUI, LibreChat, Continue and the Codex CLI use). The only double is the LLM behind
 * the agent: a loopback server speaking the OpenAI wire format.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startLlmServer, type LlmServer } from '../support/llm-servers.js';
import { noCrash, runCli } from '../acceptance/helpers.js';
import { call, startGatewayService, until, type GatewayWorld } from './helpers.js';

let llm: LlmServer;
let g: GatewayWorld;
let client: OpenAI;

before(async () => {
  llm = await startLlmServer('openai');
  g = await startGatewayService('', { OPENAI_BASE_URL: llm.url });
  client = new OpenAI({ baseURL: `${g.http}/v1`, apiKey: g.token, maxRetries: 0, timeout: 60_000 });
});

after(async () => {
  await g?.stop();
  await llm?.close();
});

const lastLlmRequest = () => llm.requests[llm.requests.length - 1]!;

test('models.list: one model per agent (rustyclaw:<agent>) and the configured aliases', async () => {
  const ids: string[] = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes('rustyclaw:default'), ids.join(','));
  assert.ok(ids.includes('default'), 'the model alias');
  const one = await client.models.retrieve('rustyclaw:default');
  assert.equal(one.id, 'rustyclaw:default');
});

test('chat.completions.create, not streaming: the agent answers through the loopback LLM, with usage', async () => {
  const r = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'ping one' }] });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0]!.message.content, 'echo: ping one');
  assert.equal(r.choices[0]!.finish_reason, 'stop');
  assert.ok(r.usage && r.usage.total_tokens > 0);
  // Stateless: the agent's system prompt goes first, the caller's system message is added to it.
  const r2 = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'ping two' }] });
  assert.equal(r2.choices[0]!.message.content, 'echo: ping two');
  const sent = lastLlmRequest().body.messages;
  assert.equal(sent[0].role, 'system');
  assert.match(sent[0].content, /Be brief\./);
  assert.equal(sent.filter((m: { role: string }) => m.role === 'user').length, 1, 'nothing from the earlier request leaks into a stateless one');
});

test('chat.completions.create streaming: chat.completion.chunk deltas, include_usage, then data: [DONE]', async () => {
  llm.script.push({ kind: 'reply', reply: { text: 'a streamed answer in pieces', chunk_size: 3, chunk_delay_ms: 15 } });
  const stream = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true } });
  let text = '';
  let deltas = 0;
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const c of stream) {
    assert.equal(c.object, 'chat.completion.chunk');
    if (c.choices[0]?.delta?.content) {
      text += c.choices[0].delta.content;
      deltas++;
    }
    if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
    if (c.usage) usage = c.usage;
  }
  assert.equal(text, 'a streamed answer in pieces');
  assert.ok(deltas >= 3, `streamed in several deltas (${deltas})`);
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.completion_tokens > 0, 'the usage chunk came last');
  // The raw wire: SSE data lines ending with [DONE].
  const raw = await call(g, '/v1/chat/completions', { json: { model: 'rustyclaw:default', messages: [{ role: 'user', content: 'raw' }], stream: true } });
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get('content-type') ?? '', /^text\/event-stream/);
  const body = await raw.text();
  assert.match(body, /^data: \{.*"object":"chat\.completion\.chunk"/);
  assert.match(body, /data: \[DONE\]\n\n$/);
});

test("a streamed turn's deltas come once, from the router's topic: the agent publishes no text events for it", async () => {
  // The console's event stream carries every agent event (agents/*/events).
  const ac = new AbortController();
  const events = await call(g, '/api/events', { signal: ac.signal });
  assert.equal(events.status, 200);
  const agentEvents: Array<{ kind: string; request_id?: string; text?: string }> = [];
  const reading = (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const part of events.body!) {
        buf += dec.decode(part as Uint8Array, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (/^event: agent$/m.test(block)) agentEvents.push(JSON.parse(/^data: (.*)$/m.exec(block)![1]!));
        }
      }
    } catch { /* aborted */ }
  })();
  llm.script.push({ kind: 'reply', reply: { text: 'topic only, in pieces', chunk_size: 4, chunk_delay_ms: 10 } });
  const stream = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'topic' }], stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'topic only, in pieces');
  await until(() => agentEvents.some((e) => e.kind === 'done' && e.text === text), 'the turn\'s done event on agents/default/events');
  const turn = agentEvents.find((e) => e.kind === 'done' && e.text === text)!.request_id;
  assert.match(turn ?? '', /^gw-/);
  assert.deepEqual(agentEvents.filter((e) => e.request_id === turn && e.kind === 'text'), [], 'no text events beside the topic');
  ac.abort();
  await reading;
});

test('a client-side tool loop: declared tools reach the model, its call comes back as tool_calls, the result goes on', async () => {
  llm.script.push({ kind: 'reply', reply: { tool_calls: [{ id: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}' }] } });
  llm.script.push({ kind: 'reply', reply: { text: 'It is sunny in Paris.' } });
  const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', description: 'weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'weather in Paris?' }];
  const r1 = await client.chat.completions.create({ model: 'rustyclaw:default', messages, tools });
  assert.equal(r1.choices[0]!.finish_reason, 'tool_calls');
  const call1 = r1.choices[0]!.message.tool_calls![0]!;
  assert.equal(call1.type, 'function');
  assert.equal((call1 as { function: { name: string; arguments: string } }).function.name, 'get_weather');
  assert.deepEqual(JSON.parse((call1 as { function: { arguments: string } }).function.arguments), { city: 'Paris' });
  const offered = lastLlmRequest().body.tools.map((t: { function: { name: string } }) => t.function.name);
  assert.ok(offered.includes('get_weather'), 'the client tool was passed to the model');
  assert.ok(offered.includes('current_time'), "the agent's own tools too");
  messages.push(r1.choices[0]!.message, { role: 'tool', tool_call_id: call1.id, content: '{"sky":"sunny","c":21}' });
  const r2 = await client.chat.completions.create({ model: 'rustyclaw:default', messages, tools });
  assert.equal(r2.choices[0]!.message.content, 'It is sunny in Paris.');
  const sent = lastLlmRequest().body.messages;
  const toolMsg = sent.find((m: { role: string }) => m.role === 'tool');
  assert.equal(toolMsg.tool_call_id, 'call_w1');
  assert.match(toolMsg.content, /sunny/);

  // Streaming: the call arrives as tool_calls deltas with finish_reason tool_calls.
  llm.script.push({ kind: 'reply', reply: { tool_calls: [{ id: 'call_w2', name: 'get_weather', arguments: '{"city":"Oslo"}' }] } });
  const s = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'and Oslo?' }], tools, stream: true });
  let name = '';
  let args = '';
  let finish = '';
  for await (const c of s) {
    for (const tc of c.choices[0]?.delta?.tool_calls ?? []) {
      name += tc.function?.name ?? '';
      args += tc.function?.arguments ?? '';
    }
    if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.equal(name, 'get_weather');
  assert.deepEqual(JSON.parse(args), { city: 'Oslo' });
  assert.equal(finish, 'tool_calls');
});

test('chat.completions streaming: every step of a turn streamed once, concurrent streams kept apart', async () => {
  // The deltas come straight from the provider router (one topic per turn, `<request id>:<step>`):
  // a turn with a server-side tool streams both of its LLM steps, each once, in order.
  llm.script.push({ kind: 'reply', reply: { text: 'Let me check. ', chunk_size: 4, tool_calls: [{ id: 'call_t1', name: 'current_time', arguments: '{}' }] } });
  llm.script.push({ kind: 'reply', reply: { text: 'It is noon somewhere.', chunk_size: 3, chunk_delay_ms: 5 } });
  const read = async (content: string) => {
    const s = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content }], stream: true });
    let text = '';
    let finish = '';
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
    }
    return { text, finish };
  };
  const one = await read('what time is it?');
  assert.equal(one.text, 'Let me check. It is noon somewhere.');
  assert.equal(one.finish, 'stop');
  // Eight streams at once, each scripted by its own prompt (the loopback LLM echoes it).
  const prompt = (i: number) => Array.from({ length: 6 }, () => `stream number ${i}`).join(', ');
  const many = await Promise.all(Array.from({ length: 8 }, (_, i) => read(prompt(i))));
  many.forEach((r, i) => assert.equal(r.text, `echo: ${prompt(i)}`, `stream ${i} got exactly its own text`));
});

test('responses.create streaming: typed events with increasing sequence_number, no [DONE]; not streaming: output_text', async () => {
  llm.script.push({ kind: 'reply', reply: { text: 'responses api answer', chunk_size: 5 } });
  const stream = await client.responses.create({ model: 'rustyclaw:default', input: 'hello responses', stream: true });
  const types: string[] = [];
  const seqs: number[] = [];
  let text = '';
  let completed: OpenAI.Responses.Response | undefined;
  for await (const e of stream) {
    types.push(e.type);
    seqs.push(e.sequence_number);
    if (e.type === 'response.output_text.delta') text += e.delta;
    if (e.type === 'response.completed') completed = e.response;
  }
  assert.equal(text, 'responses api answer');
  assert.equal(types[0], 'response.created');
  assert.equal(types[types.length - 1], 'response.completed');
  assert.ok(types.includes('response.output_item.added') && types.includes('response.output_text.done'));
  assert.deepEqual(seqs, seqs.map((_, i) => i), 'sequence_number counts from 0 without gaps');
  assert.equal(completed?.output_text ?? (completed?.output[0] as { content: Array<{ text: string }> }).content[0]!.text, 'responses api answer');
  const raw = await call(g, '/v1/responses', { json: { model: 'rustyclaw:default', input: 'raw', stream: true } });
  const body = await raw.text();
  assert.match(body, /^event: response\.created\ndata: /);
  assert.doesNotMatch(body, /\[DONE\]/);

  const r = await client.responses.create({ model: 'rustyclaw:default', input: [{ role: 'user', content: 'not streamed' }] });
  assert.equal(r.status, 'completed');
  assert.equal(r.output_text, 'echo: not streamed');
  assert.ok(r.usage && r.usage.total_tokens > 0);
});

test('responses.create with a client tool: a function_call item, then function_call_output continues', async () => {
  llm.script.push({ kind: 'reply', reply: { tool_calls: [{ id: 'call_r1', name: 'lookup', arguments: '{"q":"x"}' }] } });
  llm.script.push({ kind: 'reply', reply: { text: 'found it' } });
  const tools: OpenAI.Responses.Tool[] = [{ type: 'function', name: 'lookup', description: 'look up', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: false }];
  const r1 = await client.responses.create({ model: 'rustyclaw:default', input: 'look x up', tools });
  const fc = r1.output.find((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
  assert.equal(fc.name, 'lookup');
  assert.equal(fc.call_id, 'call_r1');
  const r2 = await client.responses.create({
    model: 'rustyclaw:default', tools,
    input: [{ role: 'user', content: 'look x up' }, { type: 'function_call', call_id: fc.call_id, name: fc.name, arguments: fc.arguments }, { type: 'function_call_output', call_id: fc.call_id, output: 'x is 42' }],
  });
  assert.equal(r2.output_text, 'found it');
  assert.ok(lastLlmRequest().body.messages.some((m: { role: string; content: string }) => m.role === 'tool' && /x is 42/.test(m.content)), 'the function_call_output reached the model (as untrusted content)');
});

test('a session by x-rustyclaw-session: the agent keeps the history, the client sends only the new message', async () => {
  const h = { headers: { 'x-rustyclaw-session': 'gw-s1' } };
  await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'first in session' }] }, h);
  await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'second in session' }] }, h);
  const users = lastLlmRequest().body.messages.filter((m: { role: string }) => m.role === 'user').map((m: { content: string }) => m.content);
  assert.deepEqual(users, ['first in session', 'second in session']);
  const r = await runCli(g.w, ['status', '--json'], { stdin: 'open' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).gateway.url, g.http, 'status --json names the gateway URL');
});

test('errors in OpenAI shape: unknown model 404, invalid role 400, malformed JSON 400, wrong content type 415; the service stays up', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'x' }] }), (e: InstanceType<typeof OpenAI.APIError>) => {
    assert.equal(e.status, 404);
    assert.equal(e.code, 'model_not_found');
    assert.match(e.message, /rustyclaw:default/);
    return true;
  });
  const badRole = await call(g, '/v1/chat/completions', { json: { model: 'rustyclaw:default', messages: [{ role: 'wizard', content: 'x' }] } });
  assert.equal(badRole.status, 400);
  const br = (await badRole.json()) as { error: { message: string; type: string; code: string } };
  assert.equal(br.error.type, 'invalid_request_error');
  assert.match(br.error.message, /messages\.0\.role/);
  assert.match(br.error.message, /system, developer, user, assistant, tool/);
  const noMessages = await call(g, '/v1/chat/completions', { json: { model: 'rustyclaw:default' } });
  assert.equal(noMessages.status, 400);
  const nm = ((await noMessages.json()) as { error: { message: string } }).error.message;
  assert.equal(nm.match(/'messages'/g)?.length, 1, `the missing field is named once: ${nm}`);
  const malformed = await call(g, '/v1/chat/completions', { method: 'POST', body: '{"model": "rustyclaw:default", "messages": [', headers: { 'content-type': 'application/json' } });
  assert.equal(malformed.status, 400);
  assert.match(((await malformed.json()) as { error: { message: string } }).error.message, /not valid JSON/);
  const wrongType = await call(g, '/v1/chat/completions', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
  assert.equal(wrongType.status, 415);
  assert.equal(((await wrongType.json()) as { error: { code: string } }).error.code, 'unsupported_media_type');
  const orphan = await call(g, '/v1/chat/completions', { json: { model: 'rustyclaw:default', messages: [{ role: 'tool', tool_call_id: 'nope', content: 'x' }] } });
  assert.equal(orphan.status, 400);
  const r = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'still here' }] });
  assert.equal(r.choices[0]!.message.content, 'echo: still here');
});

test('a client that disconnects mid-stream cancels the turn: the LLM stream is closed early, the service serves on', async () => {
  const text = 'word '.repeat(200);
  llm.script.push({ kind: 'reply', reply: { text, chunk_size: 5, chunk_delay_ms: 40 } });
  const ac = new AbortController();
  const res = await call(g, '/v1/chat/completions', { json: { model: 'rustyclaw:default', messages: [{ role: 'user', content: 'long one' }], stream: true }, signal: ac.signal });
  const reader = res.body!.getReader();
  let got = '';
  while (!got.includes('word')) got += new TextDecoder().decode((await reader.read()).value);
  const req = lastLlmRequest();
  ac.abort();
  await until(() => req.closed_early === true, 'the provider stream to be closed');
  assert.ok((req.pieces_sent ?? 0) < 200, `the LLM stopped early (${req.pieces_sent} of 200 pieces)`);
  const r = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'after the abort' }] });
  assert.equal(r.choices[0]!.message.content, 'echo: after the abort');
  assert.ok(noCrash(g.svc.stderr()), g.svc.stderr());
});
