/**
 * The provider router as an actor in its worker thread (what the agent and the gateway ask): a
 * request's schema defaults are applied, bad payloads are refused with the field named, and the
 * streamed chunks on `provider/stream/<id>` add up to the answer and arrive before the reply.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSystem } from '../../src/kernel/index.js';
import { validateMode } from '../../src/kernel/validate-mode.js';
import { closeHttpPools } from '../../actors/provider-router/http.js';
import { startLlmServer } from '../support/llm-servers.js';

after(() => closeHttpPools());

test('provider.chat through the actor: `model` defaults to the default alias, bad payloads name the field, chunks precede the reply', async () => {
  const s = await startLlmServer('openai', { fallback: () => ({ kind: 'reply', reply: { text: 'abcd'.repeat(30), chunk_size: 4 } }) });
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-provider-actor-'));
  const sys = await startSystem({
    config: {
      data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false },
      kernel: { system_actors: ['provider-router'] },
      providers: { local: { type: 'openai', enabled: true, base_url: s.url, api_key: 'k', model: 'm' } },
      models: { default: { chain: ['local'] } },
      agents: [],
    },
  });
  try {
    await sys.waitUp('system/provider-router');
    const chunks: string[] = [];
    let repliedAt = 0;
    let firstAt = 0;
    sys.subscribe('provider/stream/*', (c: { text: string }) => {
      if (!firstAt) firstAt = performance.now();
      chunks.push(c.text);
    });
    await new Promise((res) => setTimeout(res, 50)); // the subscription reaches the router's thread
    const noModel = { messages: [{ role: 'user', content: 'hi' }] };
    if (validateMode({ kernel: {} }) === 'all') {
      // `kernel.validate: all` checks the payload as sent, before the actor applies defaults.
      await assert.rejects(sys.ask('system/provider-router', 'provider.chat', noModel), (e: { code?: string; message: string }) => e.code === 'invalid_message' && /model/.test(e.message));
    } else {
      // No `model`: the schema's default ('default') picks the alias.
      const d = await sys.ask<{ text: string; usage: { provider: string } }>('system/provider-router', 'provider.chat', noModel);
      assert.deepEqual([d.text, d.usage.provider], ['abcd'.repeat(30), 'local']);
    }
    const r = await sys.ask<{ text: string; usage: { provider: string; model: string } }>('system/provider-router', 'provider.chat', {
      model: 'default', messages: [{ role: 'user', content: 'hi' }], request_id: 'r1', stream_topic: true,
      // A tool whose JSON schema carries `default` keywords of its own: passed through untouched.
      tools: [{ name: 't', description: 'd', parameters: { type: 'object', properties: { n: { type: 'integer', default: 3 } } } }],
    });
    repliedAt = performance.now();
    assert.equal(r.text, 'abcd'.repeat(30));
    assert.deepEqual([r.usage.provider, r.usage.model], ['local', 'm']);
    const sent = s.requests.at(-1)!.body;
    assert.deepEqual(sent.tools[0].function.parameters, { type: 'object', properties: { n: { type: 'integer', default: 3 } } });
    assert.ok(firstAt > 0 && firstAt <= repliedAt, 'the first chunk arrived before the reply');
    assert.equal(chunks.join(''), r.text, 'the streamed chunks add up to the answer');

    await assert.rejects(
      sys.ask('system/provider-router', 'provider.chat', { model: 'default', messages: [{ role: 'robot', content: 'x' }] }),
      (e: { code?: string; message: string }) => e.code === 'invalid_message' && /messages.{0,3}0.{0,3}role/.test(e.message),
    );
    await assert.rejects(
      sys.ask('system/provider-router', 'provider.chat', { model: 7, messages: [] }),
      (e: { code?: string; message: string }) => e.code === 'invalid_message' && /model/.test(e.message),
    );
  } finally {
    await sys.stop();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
