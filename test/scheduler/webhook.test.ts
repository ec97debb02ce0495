/**
 * The scheduler's webhook receiver (HMAC, timestamp window, replay); the HTTP side (POST /hooks/<id>
 * on the gateway's port, 413, status codes) is tested through the running service in test/gateway/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebhookReceiver, signWebhook } from '../../actors/scheduler/webhook.js';
import type { FireResultT } from '../../protocol/scheduler.js';

const SECRET = 'a-very-secret-key-123';

function receiver(fired: Buffer[], fire?: (b: Buffer) => FireResultT): WebhookReceiver {
  return new WebhookReceiver({
    windowS: 300,
    lookup: (id) => (id === 'hook' ? { secret: SECRET } : undefined),
    fire: async (_id, body) => {
      fired.push(body);
      return fire ? fire(body) : { job_id: `job-${fired.length}` };
    },
  });
}

function signed(body: string, ts = Math.floor(Date.now() / 1000), secret = SECRET) {
  return { timestamp: String(ts), signature: signWebhook(secret, ts, body) };
}

const refused = async (p: Promise<unknown>, code: string, msg: RegExp) =>
  assert.rejects(p, (e: { code?: string; message?: string }) => e.code === code && msg.test(e.message ?? ''));

test('webhook: good signature fires once; replay, bad, unsigned, stale and unknown are refused with typed errors', async () => {
  const fired: Buffer[] = [];
  const r = receiver(fired);
  const body = '{"event":"push","ref":"main"}';
  const h = signed(body);
  assert.deepEqual(await r.receive({ routineId: 'hook', body: Buffer.from(body), ...h }), { job_id: 'job-1' });
  assert.equal(fired[0]!.toString(), body, 'the raw body reaches the routine');
  await refused(r.receive({ routineId: 'hook', body: Buffer.from(body), ...h }), 'webhook_replayed', /replayed/);
  await refused(r.receive({ routineId: 'hook', body: Buffer.from(body.replace('main', 'prod')), ...signed(body) }), 'webhook_unauthorized', /signature mismatch/);
  await refused(r.receive({ routineId: 'hook', body: Buffer.from(body), ...signed(body, undefined, 'another-secret-key-456') }), 'webhook_unauthorized', /signature mismatch/);
  await refused(r.receive({ routineId: 'hook', body: Buffer.from(body) }), 'webhook_unauthorized', /missing x-rustyclaw-signature/);
  await refused(r.receive({ routineId: 'hook', body: Buffer.from(body), ...signed(body, Math.floor(Date.now() / 1000) - 3600) }), 'webhook_unauthorized', /outside the ±300 s window/);
  await refused(r.receive({ routineId: 'nope', body: Buffer.from(body), ...signed(body) }), 'not_found', /unknown webhook routine/);
  assert.equal(fired.length, 1, 'only the good request fired');
});

test('webhook: a skipped firing (guardrail) is reported; binary bodies are signed as bytes', async () => {
  const fired: Buffer[] = [];
  const r = receiver(fired, () => (fired.length > 1 ? { skipped: 'cooldown: 10 ms left' } : { job_id: 'j1' }));
  const bin = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
  const ts = Math.floor(Date.now() / 1000);
  assert.deepEqual(await r.receive({ routineId: 'hook', body: bin, timestamp: String(ts), signature: signWebhook(SECRET, ts, bin) }), { job_id: 'j1' });
  assert.deepEqual(await r.receive({ routineId: 'hook', body: Buffer.from('second'), ...signed('second') }), { skipped: 'cooldown: 10 ms left' });
});
