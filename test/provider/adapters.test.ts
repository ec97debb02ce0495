import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLlmServer, providerEntry, type WireKind } from '../support/llm-servers.js';
import { closeHttpPools } from '../../actors/provider-router/http.js';
import { makeRouter, chatCollect } from './helpers.js';

after(() => closeHttpPools());

const KINDS: WireKind[] = ['openai', 'anthropic', 'ollama'];

for (const kind of KINDS) {
  test(`${kind}: streams text in pieces, reports usage from the response and the serving provider`, async () => {
    const s = await startLlmServer(kind, { script: [{ kind: 'reply', reply: { text: 'Hello there, streaming world', chunk_size: 5, usage: { input_tokens: 11, output_tokens: 7 } } }] });
    try {
      const router = makeRouter({ p: { ...providerEntry(s), prices: { [`${kind}-test-model`]: { input_per_mtok: 1, output_per_mtok: 2 } } } }, ['p']);
      const pieces: string[] = [];
      const r = await router.chat({ model: 'default', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }] }, (t) => pieces.push(t));
      assert.equal(r.text, 'Hello there, streaming world');
      assert.ok(pieces.length >= 5, `streamed in ${pieces.length} pieces`);
      assert.equal(pieces.join(''), r.text);
      assert.equal(r.usage.provider, 'p');
      assert.equal(r.usage.model, `${kind}-test-model`);
      assert.equal(r.usage.input_tokens, 11);
      assert.equal(r.usage.output_tokens, 7);
      assert.ok(Math.abs(r.usage.cost_usd - (11 * 1 + 7 * 2) / 1e6) < 1e-12);
      assert.equal(r.usage.estimated, undefined);
      const req = s.requests[0];
      if (kind === 'anthropic') {
        assert.equal(req.headers['x-api-key'], 'test-key');
        assert.equal(req.headers['anthropic-version'], '2023-06-01');
        assert.equal(req.body.system, 'be brief');
        assert.equal(req.body.messages.length, 1);
        assert.ok(req.body.max_tokens > 0);
      } else {
        assert.equal(req.headers.authorization, 'Bearer test-key');
        assert.equal(req.body.messages[0].role, 'system');
      }
      assert.equal(req.body.stream, true);
    } finally {
      await s.close();
    }
  });

  test(`${kind}: tool calls (arguments streamed in pieces) are assembled; tools are sent in the provider's shape`, async () => {
    const s = await startLlmServer(kind, {
      script: [{ kind: 'reply', reply: { text: 'Let me look.', tool_calls: [
        { id: 'call_a', name: 'read_workspace_file', arguments: '{"path":"notes/today.md"}' },
        { id: 'call_b', name: 'current_time', arguments: '{}' },
      ] } }],
    });
    try {
      const router = makeRouter({ p: providerEntry(s) }, ['p']);
      const tools = [{ name: 'current_time', description: 'time', parameters: { type: 'object', properties: {} } }];
      const { result } = await chatCollect(router, 'what time', { tools });
      assert.equal(result.text, 'Let me look.');
      assert.equal(result.tool_calls.length, 2);
      assert.equal(result.tool_calls[0].name, 'read_workspace_file');
      assert.deepEqual(JSON.parse(result.tool_calls[0].arguments), { path: 'notes/today.md' });
      assert.equal(result.tool_calls[1].name, 'current_time');
      assert.equal(result.finish_reason, 'tool_calls');
      if (kind !== 'ollama') assert.equal(result.tool_calls[0].id, 'call_a');
      const sent = s.requests[0].body.tools[0];
      if (kind === 'anthropic') assert.deepEqual(sent.input_schema, tools[0].parameters);
      else assert.equal(sent.function.name, 'current_time');
    } finally {
      await s.close();
    }
  });

  test(`${kind}: a tool-call round trip is sent back in the provider's wire shape`, async () => {
    const s = await startLlmServer(kind);
    try {
      const router = makeRouter({ p: providerEntry(s) }, ['p']);
      await router.chat({
        model: 'default',
        messages: [
          { role: 'user', content: 'time?' },
          { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'current_time', arguments: '{"tz":"UTC"}' }] },
          { role: 'tool', content: '12:00', tool_call_id: 'c1', name: 'current_time' },
        ],
      }, () => {});
      const msgs = s.requests[0].body.messages;
      if (kind === 'anthropic') {
        assert.deepEqual(msgs[1].content[0], { type: 'tool_use', id: 'c1', name: 'current_time', input: { tz: 'UTC' } });
        assert.equal(msgs[2].role, 'user');
        assert.deepEqual(msgs[2].content[0], { type: 'tool_result', tool_use_id: 'c1', content: '12:00' });
      } else if (kind === 'openai') {
        assert.equal(msgs[1].tool_calls[0].function.arguments, '{"tz":"UTC"}');
        assert.equal(msgs[2].tool_call_id, 'c1');
      } else {
        assert.deepEqual(msgs[1].tool_calls[0].function.arguments, { tz: 'UTC' });
        assert.equal(msgs[2].role, 'tool');
      }
    } finally {
      await s.close();
    }
  });

  test(`${kind}: without usage in the response tokens are counted locally (estimated)`, async () => {
    const s = await startLlmServer(kind, { script: [{ kind: 'reply', reply: { text: 'counted locally by the tokenizer', no_usage: true } }] });
    try {
      const router = makeRouter({ p: providerEntry(s) }, ['p']);
      const { result } = await chatCollect(router, 'count me please');
      assert.equal(result.usage.estimated, true);
      assert.ok(result.usage.input_tokens >= 3, String(result.usage.input_tokens));
      assert.ok(result.usage.output_tokens >= 4 && result.usage.output_tokens <= 12, String(result.usage.output_tokens));
    } finally {
      await s.close();
    }
  });
}
