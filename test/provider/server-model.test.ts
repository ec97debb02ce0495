/**
 * OPENAI_BASE_URL alone (a llama.cpp / vLLM / LM Studio server, no OPENAI_MODEL): the router asks the
 * server which model it serves instead of sending a hosted model's name and billing its prices.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLlmServer, LOOPBACK_MODEL } from '../support/llm-servers.js';
import { closeHttpPools } from '../../actors/provider-router/http.js';
import { ProviderRouter } from '../../actors/provider-router/router.js';
import { captureLog, chatCollect, rejection } from './helpers.js';

after(() => closeHttpPools());

const routerFor = (env: NodeJS.ProcessEnv, rootConfig: Record<string, unknown> = {}) => {
  const cap = captureLog();
  return { router: new ProviderRouter({ rootConfig, env, log: cap.log }), lines: cap.lines };
};

test('the one model the server lists is used: in the request, usage and status; no hosted prices', async () => {
  const s = await startLlmServer('openai');
  try {
    const { router, lines } = routerFor({ OPENAI_BASE_URL: s.url });
    const { result } = await chatCollect(router, 'hi');
    assert.equal(result.text, 'echo: hi');
    assert.equal(s.requests[0].body.model, LOOPBACK_MODEL);
    assert.equal(result.usage.model, LOOPBACK_MODEL);
    assert.equal(result.usage.cost_usd, 0);
    assert.deepEqual(result.attempts.map((a) => a.model), [LOOPBACK_MODEL]);
    assert.equal(router.status().providers.find((p) => p.provider === 'openai')?.model, LOOPBACK_MODEL);
    assert.ok(lines.some((l) => /using 'loopback-model', the one http:\/\/127\.0\.0\.1:\d+\/v1 serves/.test(String(l.msg))));
    await chatCollect(router, 'again');
    assert.ok(s.modelListRequests <= 2, `asked once (start-up and first use share one probe): ${s.modelListRequests}`);
  } finally {
    await s.close();
  }
});

test('OPENAI_MODEL or providers.openai.model wins: the server is not asked', async () => {
  const s = await startLlmServer('openai');
  try {
    const { router } = routerFor({ OPENAI_BASE_URL: s.url, OPENAI_MODEL: 'chosen' });
    const { result } = await chatCollect(router, 'hi');
    assert.equal(result.usage.model, 'chosen');
    assert.equal(s.modelListRequests, 0);
  } finally {
    await s.close();
  }
});

test('several models served: a clear error naming them and the variable to set; the next provider answers', async () => {
  const a = await startLlmServer('openai', { models: ['qwen2.5-7b', 'llama-3.1-8b', 'phi-4'] });
  const b = await startLlmServer('anthropic');
  try {
    const { router } = routerFor({ OPENAI_BASE_URL: a.url }, {
      providers: { openai: {}, b: { type: 'anthropic', enabled: true, base_url: b.url, api_key: 'k', model: 'claude-test' } },
      models: { default: { chain: ['openai', 'b'] } },
    });
    const { result } = await chatCollect(router, 'hi');
    assert.equal(result.usage.provider, 'b');
    assert.equal(result.attempts[0].code, 'config');
    assert.match(result.attempts[0].error ?? '', /serves 3 models \(qwen2\.5-7b, llama-3\.1-8b, phi-4\); set OPENAI_MODEL or providers\.openai\.model/);
    assert.equal(a.requests.length, 0, 'no chat request with a guessed model');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('a server without /models, or one not up yet: the chat fails naming the URL; once it is up the model is learned', async () => {
  const s = await startLlmServer('openai', { models: null });
  try {
    const { router } = routerFor({ OPENAI_BASE_URL: s.url });
    let err = await rejection(chatCollect(router, 'hi'));
    assert.match(err.message, /\/v1\/models/);
    assert.equal(s.requests.length, 0);
    s.models = ['came-up-later'];
    await new Promise((r) => setTimeout(r, 1100)); // a failed probe is reused for a second, then asked again
    const { result } = await chatCollect(router, 'hi');
    assert.equal(result.usage.model, 'came-up-later');

    // Not listening at all: a connection error naming the provider, by its deadline.
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const r2 = routerFor({ OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` });
    err = await rejection(chatCollect(r2.router, 'hi'));
    assert.match(err.message, /openai: .*(connection failed|ECONNREFUSED)/);
  } finally {
    await s.close();
  }
});

test('a hostile /models answer (HTML, not a list, huge) is a bad_response naming the URL, never a crash', async () => {
  let mode = 'html';
  const srv = http.createServer((req, res) => {
    if (mode === 'html') { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html><title>Login</title></html>'); return; }
    if (mode === 'shape') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"models": 3}'); return; }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"data": ["${'x'.repeat(6 * 1024 * 1024)}`);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`;
  try {
    for (const [m, re] of [['html', /answered HTML \("Login"\)/], ['shape', /no "data" list/], ['huge', /not JSON/]] as const) {
      mode = m;
      const { router } = routerFor({ OPENAI_BASE_URL: url });
      const err = await rejection(chatCollect(router, 'hi'));
      assert.match(err.message, re, m);
      assert.match(err.message, /\/v1\/models/, m);
    }
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
