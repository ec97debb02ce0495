import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { buildWebhookApp, signWebhook, startWebhookServer, SIGNATURE_HEADER, TIMESTAMP_HEADER, type WebhookServerOptions } from '../../actors/scheduler/webhook.js';
import type { FireResultT } from '../../protocol/scheduler.js';

const SECRET = 'a-very-secret-key-123';

function opts(fired: Buffer[], over: Partial<WebhookServerOptions> = {}): WebhookServerOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    bodyLimit: 1024,
    windowS: 300,
    lookup: (id) => (id === 'hook' ? { secret: SECRET } : undefined),
    fire: async (_id, body): Promise<FireResultT> => {
      fired.push(body);
      return { job_id: `job-${fired.length}` };
    },
    ...over,
  };
}

function signed(body: string, ts = Math.floor(Date.now() / 1000), secret = SECRET) {
  return { 'content-type': 'application/json', [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: signWebhook(secret, ts, body) };
}

test('webhook: good signature fires once; replay, bad, unsigned, stale and oversized requests are refused', async () => {
  const fired: Buffer[] = [];
  const app = await buildWebhookApp(opts(fired));
  const body = '{"event":"push","ref":"main"}';
  const headers = signed(body);

  const ok = await app.inject({ method: 'POST', url: '/hooks/hook', payload: body, headers });
  assert.equal(ok.statusCode, 202);
  assert.deepEqual(ok.json(), { job_id: 'job-1' });
  assert.equal(fired[0].toString(), body, 'the raw body reaches the routine');

  const replay = await app.inject({ method: 'POST', url: '/hooks/hook', payload: body, headers });
  assert.equal(replay.statusCode, 409);
  assert.match(replay.json().error, /replayed/);

  const tampered = await app.inject({ method: 'POST', url: '/hooks/hook', payload: body.replace('main', 'prod'), headers: signed(body) });
  assert.equal(tampered.statusCode, 401);
  assert.match(tampered.json().error, /signature mismatch/);

  const wrongKey = await app.inject({ method: 'POST', url: '/hooks/hook', payload: body, headers: signed(body, undefined, 'another-secret-key-456') });
  assert.equal(wrongKey.statusCode, 401);

  const unsigned = await app.inject({ method: 'POST', url: '/hooks/hook', payload: body, headers: { 'content-type': 'application/json' } });
  assert.equal(unsigned.statusCode, 401);
  assert.match(unsigned.json().error, /missing x-rustyclaw-signature/);

  const stale = await app.inject({ method: 'POST', url: '/hooks/hook', payload: body, headers: signed(body, Math.floor(Date.now() / 1000) - 3600) });
  assert.equal(stale.statusCode, 401);
  assert.match(stale.json().error, /outside the ±300 s window/);

  const big = 'x'.repeat(2000);
  const tooBig = await app.inject({ method: 'POST', url: '/hooks/hook', payload: big, headers: signed(big) });
  assert.equal(tooBig.statusCode, 413);
  assert.match(tooBig.json().error, /body too large \(limit 1024 bytes\)/);

  const unknown = await app.inject({ method: 'POST', url: '/hooks/nope', payload: body, headers: signed(body) });
  assert.equal(unknown.statusCode, 404);

  assert.equal(fired.length, 1, 'only the good request fired');
  await app.close();
});

test('webhook: a skipped firing (guardrail) is reported; a real loopback request with any content type works', async () => {
  const fired: Buffer[] = [];
  const srv = await startWebhookServer(opts(fired, { fire: async (_id, b) => (fired.push(b), fired.length > 1 ? { skipped: 'cooldown: 10 ms left' } : { job_id: 'j1' }) }));
  try {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const body = 'plain text payload';
    const r1 = await request(`${srv.url}/hooks/hook`, { method: 'POST', body, headers: { ...signed(body), 'content-type': 'text/plain' } });
    assert.equal(r1.statusCode, 202);
    assert.deepEqual(await r1.body.json(), { job_id: 'j1' });
    const b2 = 'second';
    const r2 = await request(`${srv.url}/hooks/hook`, { method: 'POST', body: b2, headers: signed(b2) });
    assert.equal(r2.statusCode, 200);
    assert.deepEqual(await r2.body.json(), { skipped: 'cooldown: 10 ms left' });
    const h = await request(`${srv.url}/health`);
    assert.equal(h.statusCode, 200);
    await h.body.dump();
  } finally {
    await srv.close();
  }
});
