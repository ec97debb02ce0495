import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startLlmServer, providerEntry, type Behaviour, type WireKind } from '../support/llm-servers.js';
import { closeHttpPools } from '../../actors/provider-router/http.js';
import { FailoverChain, parseChainEntry } from '../../actors/provider-router/failover.js';
import { makeAdapter, ProviderRouter } from '../../actors/provider-router/router.js';
import { resolveSettings } from '../../actors/provider-router/config.js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { actorStore } from '../../src/kernel/store.js';
import { captureLog, chatCollect, makeRouter, rejection } from './helpers.js';

after(() => closeHttpPools());

async function pair(first: Behaviour[], kindA: WireKind = 'openai', kindB: WireKind = 'anthropic', router: Record<string, unknown> = {}) {
  const a = await startLlmServer(kindA, { script: first });
  const b = await startLlmServer(kindB);
  const cap = captureLog();
  const r = makeRouter({ a: providerEntry(a), b: providerEntry(b) }, ['a', 'b'], { log: cap.log, router: { first_token_timeout_ms: 300, ...router } });
  const router_ = r;
  return { a, b, router: router_, lines: cap.lines, close: () => Promise.all([a.close(), b.close()]) };
}

const retryable: Array<[string, Behaviour, string]> = [
  ['429 with Retry-After', { kind: 'status', status: 429, retry_after: '7' }, 'rate_limited'],
  ['500', { kind: 'status', status: 500 }, 'server'],
  ['502', { kind: 'status', status: 502 }, 'server'],
  ['503', { kind: 'status', status: 503 }, 'server'],
  ['504', { kind: 'status', status: 504 }, 'server'],
  ['529 overloaded', { kind: 'status', status: 529, error_type: 'overloaded_error', message: 'Overloaded' }, 'overloaded'],
  ['timeout (no first token)', { kind: 'hang' }, 'timeout'],
  ['connection reset', { kind: 'reset' }, 'connection'],
  ['stream dying before its first token', { kind: 'die', chunks: 0 }, 'stream_died'],
  ['HTML instead of JSON (502 page)', { kind: 'html', status: 502 }, 'server'],
  ['HTML instead of an event stream (200)', { kind: 'html', status: 200 }, 'bad_response'],
  ['malformed first chunk', { kind: 'malformed', after: 0 }, 'bad_response'],
  ['an in-stream error event before the first token', { kind: 'stream_error', message: 'upstream overloaded' }, 'server'],
];

for (const [name, behaviour, code] of retryable) {
  test(`failover on ${name}: the next provider answers, the failed one cools down`, async () => {
    const kindA: WireKind = name.startsWith('529') ? 'anthropic' : 'openai';
    // A long backoff: the state is checked after the request, however slow a loaded machine is.
    const t = await pair([behaviour], kindA, kindA === 'anthropic' ? 'openai' : 'anthropic', { cooldown_base_ms: 60_000, cooldown_max_ms: 60_000 });
    try {
      const { result, streamed } = await chatCollect(t.router, 'hello');
      assert.equal(result.usage.provider, 'b');
      assert.equal(streamed, 'echo: hello');
      assert.equal(result.attempts.length, 2);
      assert.equal(result.attempts[0].provider, 'a');
      assert.equal(result.attempts[0].code, code);
      assert.match(result.attempts[0].error ?? '', /^a: /, 'error names the provider');
      const st = t.router.status().providers.find((p) => p.provider === 'a')!;
      assert.equal(st.state, 'cooldown');
      if (behaviour.kind === 'status' && behaviour.retry_after) {
        const left = (st.cooldown_until ?? 0) - Date.now();
        assert.ok(left > 5000 && left <= 7000, `Retry-After honoured: ${left} ms`);
      }
      assert.ok(t.lines.some((l) => l.level === 40 && l.provider === 'a'), 'a warn line names the provider');
    } finally {
      await t.close();
    }
  });
}

test('Retry-After as an HTTP date sets the cooldown', async () => {
  const when = new Date(Date.now() + 4000).toUTCString();
  const t = await pair([{ kind: 'status', status: 429, retry_after: when }]);
  try {
    await chatCollect(t.router, 'x');
    const st = t.router.status().providers.find((p) => p.provider === 'a')!;
    const left = (st.cooldown_until ?? 0) - Date.now();
    assert.ok(left > 2000 && left <= 4000, `cooldown ${left} ms`);
  } finally {
    await t.close();
  }
});

test('retry-after-ms (OpenAI/Azure) wins over Retry-After', async () => {
  const t = await pair([{ kind: 'status', status: 429, retry_after: '30', retry_after_ms: '2500' }]);
  try {
    await chatCollect(t.router, 'x');
    const left = (t.router.status().providers.find((p) => p.provider === 'a')!.cooldown_until ?? 0) - Date.now();
    assert.ok(left > 1500 && left <= 2500, `cooldown ${left} ms`);
  } finally {
    await t.close();
  }
});

test('a single provider answering 429 + Retry-After is retried after the wait when it fits max_retry_wait_ms', async () => {
  const a = await startLlmServer('openai', { script: [{ kind: 'status', status: 429, retry_after: '1' }] });
  try {
    const router = makeRouter({ a: providerEntry(a) }, ['a'], { router: { max_retry_wait_ms: 5000 } });
    const t0 = Date.now();
    const { result } = await chatCollect(router, 'patience');
    assert.equal(result.text, 'echo: patience');
    assert.ok(Date.now() - t0 >= 950, 'waited for Retry-After');
    assert.equal(a.requests.length, 2);
  } finally {
    await a.close();
  }
});

test('a stream that dies after its first token fails to the caller and is never spliced', async () => {
  const t = await pair([{ kind: 'die', chunks: 2, text: 'partial answer' }]);
  try {
    const streamed: string[] = [];
    const err = await rejection(t.router.chat({ model: 'default', messages: [{ role: 'user', content: 'x' }] }, (s) => streamed.push(s)));
    assert.equal(err.code, 'stream_failed');
    assert.match(err.message, /^a: /);
    assert.equal(streamed.join(''), 'partial ');
    assert.equal(t.b.requests.length, 0, 'the second provider was not asked');
  } finally {
    await t.close();
  }
});

test('a malformed chunk after text fails the request with an error naming the provider', async () => {
  const t = await pair([{ kind: 'malformed', after: 1 }]);
  try {
    const err = await rejection(chatCollect(t.router, 'x'));
    assert.equal(err.code, 'stream_failed');
    assert.match(err.message, /a: malformed stream chunk/);
  } finally {
    await t.close();
  }
});

test('400 is not retried and not failed over', async () => {
  const t = await pair([{ kind: 'status', status: 400, message: 'invalid value for temperature' }]);
  try {
    const err = await rejection(chatCollect(t.router, 'x'));
    assert.equal(err.code, 'bad_request');
    assert.match(err.message, /a: HTTP 400: invalid value for temperature/);
    assert.equal(t.a.requests.length, 1);
    assert.equal(t.b.requests.length, 0);
    assert.equal(t.router.status().providers.find((p) => p.provider === 'a')!.state, 'ok');
  } finally {
    await t.close();
  }
});

for (const kind of ['openai', 'anthropic'] as WireKind[]) {
  test(`${kind}: a context-length error is a typed context_length error, not a failover`, async () => {
    const message = kind === 'openai'
      ? "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."
      : 'prompt is too long: 210000 tokens > 200000 maximum';
    const t = await pair([{ kind: 'status', status: 400, message, ...(kind === 'openai' ? { code: 'context_length_exceeded' } : {}) }], kind, 'ollama');
    try {
      const err = await rejection(chatCollect(t.router, 'x'));
      assert.equal(err.code, 'context_length');
      assert.equal(t.b.requests.length, 0);
    } finally {
      await t.close();
    }
  });
}

for (const status of [401, 403]) {
  test(`${status} disables the provider until its configuration changes`, async () => {
    const a = await startLlmServer('openai', {
      fallback: (req) => (req.headers.authorization === 'Bearer right-key' ? { kind: 'reply' } : { kind: 'status', status, message: 'invalid api key' }),
    });
    const b = await startLlmServer('ollama');
    const cap = captureLog();
    const store = tempStore();
    const cfg = (key: string) => ({ a: { ...providerEntry(a), api_key: key }, b: providerEntry(b) });
    try {
      const r1 = makeRouter(cfg('wrong-key'), ['a', 'b'], { log: cap.log, store });
      assert.equal((await chatCollect(r1, 'one')).result.usage.provider, 'b');
      assert.equal((await chatCollect(r1, 'two')).result.usage.provider, 'b');
      assert.equal(a.requests.length, 1, 'a disabled provider is not asked again');
      const line = cap.lines.find((l) => l.level === 50 && /disabled/.test(l.msg));
      assert.ok(line, 'an error log line says the provider is disabled');
      assert.match(line.msg, /provider a disabled: HTTP 40[13].*until its configuration changes/);
      assert.equal(JSON.stringify(cap.lines).includes('wrong-key'), false, 'the key is never logged');
      // After a restart with the same config it stays disabled (persisted) ...
      await store.flushed();
      const r2 = makeRouter(cfg('wrong-key'), ['a', 'b'], { store });
      await chatCollect(r2, 'three');
      assert.equal(a.requests.length, 1);
      assert.equal(r2.status().providers.find((p) => p.provider === 'a')!.state, 'disabled');
      // ... and a config change enables it again.
      const r3 = makeRouter(cfg('right-key'), ['a', 'b'], { store });
      assert.equal((await chatCollect(r3, 'four')).result.usage.provider, 'a');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
}

test('all providers down: one clear error naming each provider and its failure', async () => {
  const a = await startLlmServer('openai', { fallback: () => ({ kind: 'status', status: 503, message: 'upstream unavailable' }) });
  const b = await startLlmServer('anthropic', { fallback: () => ({ kind: 'status', status: 529, error_type: 'overloaded_error', message: 'Overloaded' }) });
  const c = await startLlmServer('ollama');
  const cPort = new URL(c.url).port;
  await c.close(); // connection refused
  try {
    // Long cooldowns: the second request must land inside them however slow the machine is.
    const router = makeRouter({ a: providerEntry(a), b: providerEntry(b), c: { type: 'ollama', enabled: true, base_url: `127.0.0.1:${cPort}`, model: 'm' } }, ['a', 'b', 'c'], {
      router: { cooldown_base_ms: 60_000, cooldown_max_ms: 60_000 },
    });
    const err = await rejection(chatCollect(router, 'anyone?'));
    assert.equal(err.code, 'all_providers_failed');
    assert.match(err.message, /all providers failed for model 'default'/);
    assert.match(err.message, /a\/openai-test-model: HTTP 503: upstream unavailable/);
    assert.match(err.message, /b\/anthropic-test-model: HTTP 529: Overloaded/);
    assert.match(err.message, /c\/m: connection failed \(ECONNREFUSED/);
    // The next request fails fast while they cool down, still naming each one.
    const err2 = await rejection(chatCollect(router, 'again'));
    assert.match(err2.message, /a\/openai-test-model: cooling down/);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('the provider that served last is tried first', async () => {
  const t = await pair([{ kind: 'status', status: 503 }]);
  try {
    assert.equal((await chatCollect(t.router, '1')).result.usage.provider, 'b');
    await new Promise((r) => setTimeout(r, 60)); // a's cooldown (20 ms) is over
    assert.equal((await chatCollect(t.router, '2')).result.usage.provider, 'b');
    assert.equal(t.a.requests.length, 1);
  } finally {
    await t.close();
  }
});

test('circuit breaker: cooldown doubles per consecutive failure, capped, reset by a success', async () => {
  const a = await startLlmServer('openai', { fallback: () => ({ kind: 'status', status: 500 }) });
  try {
    const settings = resolveSettings({ providers: { a: providerEntry(a) } }, {});
    const adapters = new Map([['a', makeAdapter(settings.providers.get('a')!, { connect_timeout_ms: 1000, first_token_timeout_ms: 1000, idle_timeout_ms: 1000, request_timeout_ms: 5000 }, 100)]]);
    let clock = 1_000_000;
    const chain = new FailoverChain(adapters, { cooldown_base_ms: 1000, cooldown_max_ms: 5000, max_retry_wait_ms: 0, max_attempts: 3 }, pino({ level: 'silent' }), {}, () => clock);
    const entries = [parseChainEntry('a', settings.providers)];
    const cooldowns: number[] = [];
    for (let i = 0; i < 5; i++) {
      await rejection(chain.run('default', entries, { messages: [{ role: 'user', content: 'x' }] }, { onText() {} }, new AbortController().signal, ''));
      cooldowns.push(chain.status(entries)[0].cooldown_until! - clock);
      clock += 10_000;
    }
    assert.deepEqual(cooldowns, [1000, 2000, 4000, 5000, 5000]);
    a.fallback = () => ({ kind: 'reply' });
    await chain.run('default', entries, { messages: [{ role: 'user', content: 'x' }] }, { onText() {} }, new AbortController().signal, '');
    assert.equal(chain.status(entries)[0].failures, 0);
  } finally {
    await a.close();
  }
});

test('no provider configured: the service starts and a chat fails with the env variables to set', async () => {
  const router = new ProviderRouter({ rootConfig: {}, env: {}, log: pino({ level: 'silent' }) });
  const err = await rejection(chatCollect(router, 'hi'));
  assert.equal(err.code, 'no_provider');
  for (const v of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'ANTHROPIC_API_KEY', 'OLLAMA_HOST']) assert.match(err.message, new RegExp(v));
});

test('env conventions: OPENAI_BASE_URL alone (local server, no key) is enough to chat', async () => {
  const s = await startLlmServer('openai');
  try {
    const router = new ProviderRouter({ rootConfig: {}, env: { OPENAI_BASE_URL: s.url, OPENAI_MODEL: 'local-llama' }, log: pino({ level: 'silent' }) });
    const { result } = await chatCollect(router, 'local');
    assert.equal(result.text, 'echo: local');
    assert.equal(result.usage.model, 'local-llama');
    assert.equal(s.requests[0].headers.authorization, undefined);
  } finally {
    await s.close();
  }
});

test('missing API key: a hosted provider is skipped with a clear reason naming the variable', async () => {
  const router = new ProviderRouter({ rootConfig: { providers: { anthropic: { type: 'anthropic', enabled: true, api_key_env: 'ANTHROPIC_API_KEY' } }, models: { default: { chain: ['anthropic'] } } }, env: {}, log: pino({ level: 'silent' }) });
  const err = await rejection(chatCollect(router, 'hi'));
  assert.match(err.message, /anthropic: missing API key \(set ANTHROPIC_API_KEY\)/);
});

test('cancel aborts a running stream', async () => {
  const s = await startLlmServer('openai', { script: [{ kind: 'reply', reply: { text: 'slow slow slow slow slow', chunk_delay_ms: 50 } }] });
  try {
    const router = makeRouter({ a: providerEntry(s) }, ['a']);
    const p = router.chat({ model: 'default', request_id: 'r1', messages: [{ role: 'user', content: 'x' }] }, () => {
      router.cancel('r1');
    });
    const err = await rejection(p);
    assert.equal(err.code, 'cancelled');
  } finally {
    await s.close();
  }
});

/** The kernel's real lmdb-backed store in a temp dir. */
function tempStore() {
  return actorStore(mkdtempSync(path.join(os.tmpdir(), 'rc-router-')), 'system/provider-router');
}

test('anthropic: an in-stream overloaded_error event before the first token fails over', async () => {
  const t = await pair([{ kind: 'stream_error', message: 'Overloaded', error_type: 'overloaded_error' }], 'anthropic', 'ollama');
  try {
    const { result } = await chatCollect(t.router, 'hello');
    assert.equal(result.usage.provider, 'b');
    assert.equal(result.attempts[0].code, 'overloaded');
    assert.match(result.attempts[0].error ?? '', /overloaded_error: Overloaded/);
  } finally {
    await t.close();
  }
});

test('a stream that goes silent after its first token times out as stream_failed', async () => {
  const a = await startLlmServer('openai', { script: [{ kind: 'reply', reply: { text: 'one two three', chunk_size: 4, chunk_delay_ms: 400 } }] });
  try {
    const router = makeRouter({ a: providerEntry(a) }, ['a'], { router: { idle_timeout_ms: 100 } });
    const err = await rejection(chatCollect(router, 'x'));
    assert.equal(err.code, 'stream_failed');
    assert.match(err.message, /a: no data for 100 ms while streaming/);
  } finally {
    await a.close();
  }
});

test('an unreachable provider is not waited for: the request fails fast, naming it', async () => {
  const c = await startLlmServer('openai');
  const port = new URL(c.url).port;
  await c.close();
  const router = makeRouter({ a: { type: 'openai', enabled: true, base_url: `http://127.0.0.1:${port}/v1`, model: 'm' } }, ['a'], { router: { max_retry_wait_ms: 30000, cooldown_base_ms: 1000 } });
  const t0 = Date.now();
  const err = await rejection(chatCollect(router, 'x'));
  assert.ok(Date.now() - t0 < 900, 'no backoff sleep');
  assert.match(err.message, /a\/m: connection failed \(ECONNREFUSED/);
});
