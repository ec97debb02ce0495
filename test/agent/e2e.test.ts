/** Through the real kernel: agent and router actors in their own threads, talking by messages. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSystem, type ActorSystem } from '../../src/kernel/index.js';
import { startLlmServer, providerEntry, type LlmServer } from '../support/llm-servers.js';
import type { AgentEvent } from '../../protocol/agent.js';

const servers: LlmServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function boot(providers: Record<string, unknown>, chain: string[], agents: unknown[] = [{ id: 'default' }], systemActors = ['provider-router']) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-e2e-'));
  const config = {
    data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false },
    kernel: { system_actors: systemActors },
    providers, models: { default: { chain, context_window: 8000 } },
    provider_router: { cooldown_base_ms: 10, cooldown_max_ms: 50, max_retry_wait_ms: 0 },
    agents,
  };
  const sys = await startSystem({ config });
  await sys.waitUp('system/provider-router');
  await sys.waitUp('agents/default');
  return { sys, dir, config, close: async () => { await sys.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

function collect(sys: ActorSystem, id = 'default'): AgentEvent[] {
  const events: AgentEvent[] = [];
  sys.subscribe(`agents/${id}/events`, (e) => events.push(e));
  return events;
}

async function until(fn: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('agent.send through the kernel: streamed events, usage per provider/agent/purpose, sessions survive an agent crash', async () => {
  const s = await startLlmServer('openai', { fallback: () => ({ kind: 'reply', reply: { text: 'streamed through two threads', chunk_size: 3, chunk_delay_ms: 5, usage: { input_tokens: 20, output_tokens: 6 } } }) });
  servers.push(s);
  const t = await boot({ local: { ...providerEntry(s), prices: { 'openai-test-model': { input_per_mtok: 1, output_per_mtok: 1 } } } }, ['local']);
  try {
    const events = collect(t.sys);
    const r = await t.sys.ask('agents/default', 'agent.send', { text: 'hi', session: 'e2e' }, { timeoutMs: 10_000 });
    assert.equal(r.text, 'streamed through two threads');
    assert.equal(r.usage.provider, 'local');
    await until(() => events.some((e) => e.kind === 'done'));
    const texts = events.filter((e) => e.kind === 'text');
    // Deltas may be coalesced when the machine is loaded; streamed means more than one piece.
    assert.ok(texts.length >= 2, `${texts.length} text events`);
    assert.equal(texts.map((e) => e.text).join(''), r.text);
    await t.sys.ask('agents/default', 'agent.send', { text: 'beat', session: 'hb', purpose: 'heartbeat', silent: true }, { timeoutMs: 10_000 });
    const usage = await t.sys.ask('system/provider-router', 'provider.usage', { group_by: ['provider', 'agent', 'purpose'] });
    assert.deepEqual(usage.rows.map((x: any) => x.key.purpose).sort(), ['chat', 'heartbeat']);
    assert.ok(usage.rows.every((x: any) => x.key.provider === 'local' && x.key.agent === 'default'));
    assert.equal(usage.total.input_tokens, 40);
    assert.ok(Math.abs(usage.total.cost_usd - 52 / 1e6) < 1e-12);
    // The agent crashes: its supervisor restarts it and the session comes back from lmdb.
    const restartsBefore = (await t.sys.status()).actors.find((a) => a.path === 'agents/default')!.restarts;
    t.sys.threadOf('agents/default')!.kill('crash', 'killed by test');
    // The kill is asynchronous (the thread is asked to crash, then terminated): wait for the restart.
    for (const t0 = Date.now(); (await t.sys.status()).actors.find((a) => a.path === 'agents/default')!.restarts === restartsBefore;) {
      if (Date.now() - t0 > 20_000) throw new Error('agents/default was not restarted');
      await new Promise((r) => setTimeout(r, 20));
    }
    await t.sys.waitUp('agents/default', 20_000);
    const info = await t.sys.ask('agents/default', 'agent.session', { session: 'e2e' }, { timeoutMs: 10_000 });
    assert.equal(info.turns, 1);
    assert.deepEqual(info.recent.map((m: any) => m.role), ['user', 'assistant']);
  } finally {
    await t.close();
  }
});

test('a router crash mid-request gives the caller a typed error; the next request works', async () => {
  const s = await startLlmServer('anthropic', { fallback: () => ({ kind: 'reply', reply: { text: 'slow '.repeat(40), chunk_size: 5, chunk_delay_ms: 30 } }) });
  servers.push(s);
  const t = await boot({ a: providerEntry(s) }, ['a']);
  try {
    const events = collect(t.sys);
    const pending = t.sys.ask('agents/default', 'agent.send', { text: 'go' }, { timeoutMs: 20_000 }).then(() => null, (e) => e);
    await until(() => events.some((e) => e.kind === 'text'));
    t.sys.threadOf('system/provider-router')!.kill('crash', 'killed by test');
    const err: any = await pending;
    assert.ok(err, 'the turn failed');
    assert.equal(err.code, 'router_crashed');
    await until(() => events.some((e) => e.kind === 'error' && e.code === 'router_crashed'));
    s.fallback = () => ({ kind: 'reply', reply: { text: 'back again' } });
    await new Promise((r) => setTimeout(r, 50));
    await t.sys.waitUp('system/provider-router');
    const r = await t.sys.ask('agents/default', 'agent.send', { text: 'again' }, { timeoutMs: 10_000 });
    assert.equal(r.text, 'back again');
  } finally {
    await t.close();
  }
});

test('no provider configured: the service starts, a chat fails with the env variables to set', async () => {
  const t = await boot({ openai: { type: 'openai', enabled: 'auto', api_key_env: 'RC_TEST_UNSET_KEY', base_url_env: 'RC_TEST_UNSET_URL' } }, ['openai']);
  try {
    const err: any = await t.sys.ask('agents/default', 'agent.send', { text: 'hello?' }, { timeoutMs: 10_000 }).then(() => null, (e) => e);
    assert.equal(err.code, 'no_provider');
    assert.match(err.message, /OPENAI_API_KEY/);
    assert.match(err.message, /OLLAMA_HOST/);
    const again: any = await t.sys.ask('agents/default', 'agent.session', { session: 'main' });
    // The agent is still up, and the failed turn was not kept in the session.
    assert.equal(again.turns, 0, 'the failed turn is not kept');
  } finally {
    await t.close();
  }
});

test('agent.cancel aborts a running turn through the router', async () => {
  const s = await startLlmServer('ollama', { fallback: () => ({ kind: 'reply', reply: { text: 'tick '.repeat(100), chunk_size: 5, chunk_delay_ms: 20 } }) });
  servers.push(s);
  const t = await boot({ o: providerEntry(s) }, ['o']);
  try {
    const events = collect(t.sys);
    const pending = t.sys.ask('agents/default', 'agent.send', { text: 'long', request_id: 'req-1' }, { timeoutMs: 20_000 }).then(() => null, (e) => e);
    await until(() => events.some((e) => e.kind === 'text'));
    const c = await t.sys.ask('agents/default', 'agent.cancel', { request_id: 'req-1' });
    assert.equal(c.cancelled, 1);
    const err: any = await pending;
    assert.equal(err.code, 'cancelled');
  } finally {
    await t.close();
  }
});

test('with system/safety running, tool output reaches the model wrapped as untrusted content', async () => {
  const s = await startLlmServer('openai', {
    fallback: (req) => {
      const last = req.body.messages.at(-1);
      return last.role === 'tool' ? { kind: 'reply', reply: { text: 'done' } } : { kind: 'reply', reply: { text: '', tool_calls: [{ name: 'current_time', arguments: '{}' }] } };
    },
  });
  servers.push(s);
  const t = await boot({ a: providerEntry(s) }, ['a'], [{ id: 'default' }], ['safety', 'provider-router']);
  try {
    await t.sys.waitUp('system/safety');
    const r = await t.sys.ask('agents/default', 'agent.send', { text: 'time please' }, { timeoutMs: 10_000 });
    assert.equal(r.text, 'done');
    const toolMsg = s.requests[1].body.messages.at(-1);
    assert.equal(toolMsg.role, 'tool');
    assert.match(toolMsg.content, /<untrusted_content[^>]*>[\s\S]*"iso"/);
  } finally {
    await t.close();
  }
});
