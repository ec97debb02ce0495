/**
 * Webhook triggers: `POST /hooks/<routine id>` on a fastify server (127.0.0.1 by default).
 *
 * Signature: header `x-rustyclaw-signature: sha256=<hex>` = HMAC-SHA256(secret, `<timestamp>.<raw body>`),
 * with `x-rustyclaw-timestamp: <unix seconds>`. The timestamp is inside the MAC, must be within
 * ±window of now, and a (routine, signature) pair is accepted once within the window, so a
 * captured request cannot be replayed. Compare is constant-time. Bodies over the limit get 413
 * before any work. Replies: 202 {job_id}, 200 {skipped} (guardrail), 401 unsigned/bad/stale,
 * 404 unknown routine, 409 replay, 413 too large.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { FireResultT } from '../../protocol/scheduler.js';

export const SIGNATURE_HEADER = 'x-rustyclaw-signature';
export const TIMESTAMP_HEADER = 'x-rustyclaw-timestamp';

export function signWebhook(secret: string, timestampS: number | string, body: Buffer | string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestampS}.`).update(body).digest('hex');
}

/** Remembers accepted signatures until they fall out of the timestamp window. */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs: number) {}
  /** True if `key` was new (and is now remembered). */
  add(key: string, now: number): boolean {
    if (this.seen.size > 10_000) for (const [k, exp] of this.seen) if (exp < now) this.seen.delete(k);
    const exp = this.seen.get(key);
    if (exp !== undefined && exp >= now) return false;
    this.seen.set(key, now + 2 * this.windowMs);
    return true;
  }
}

export type VerifyResult = { ok: true } | { ok: false; status: number; error: string };

export function verifyWebhook(a: {
  secret: string;
  routineId: string;
  signature: string | undefined;
  timestamp: string | undefined;
  body: Buffer;
  nowMs: number;
  windowS: number;
  replay: ReplayCache;
}): VerifyResult {
  if (!a.signature) return { ok: false, status: 401, error: `missing ${SIGNATURE_HEADER} header` };
  if (!a.timestamp) return { ok: false, status: 401, error: `missing ${TIMESTAMP_HEADER} header` };
  if (!/^\d{1,12}$/.test(a.timestamp)) return { ok: false, status: 401, error: `${TIMESTAMP_HEADER}: not unix seconds` };
  const skew = Math.abs(a.nowMs / 1000 - Number(a.timestamp));
  if (skew > a.windowS) return { ok: false, status: 401, error: `${TIMESTAMP_HEADER}: outside the ±${a.windowS} s window` };
  const expected = Buffer.from(signWebhook(a.secret, a.timestamp, a.body));
  const given = Buffer.from(a.signature);
  // timingSafeEqual needs equal lengths; compare against the expected value either way.
  const same = given.length === expected.length ? timingSafeEqual(given, expected) : (timingSafeEqual(expected, expected), false);
  if (!same) return { ok: false, status: 401, error: `${SIGNATURE_HEADER}: signature mismatch` };
  if (!a.replay.add(`${a.routineId}:${a.signature}`, a.nowMs)) return { ok: false, status: 409, error: 'replayed request (signature already used)' };
  return { ok: true };
}

export interface WebhookServerOptions {
  host: string;
  port: number;
  bodyLimit: number;
  windowS: number;
  lookup(routineId: string): { secret: string } | undefined;
  fire(routineId: string, body: Buffer): Promise<FireResultT>;
  clock?: () => number;
}

export async function buildWebhookApp(o: WebhookServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: o.bodyLimit, logger: false });
  const replay = new ReplayCache(o.windowS * 1000);
  const clock = o.clock ?? Date.now;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: o.bodyLimit }, (_req, body, done) => done(null, body));
  app.get('/health', async () => ({ ok: true }));
  app.post<{ Params: { id: string } }>('/hooks/:id', async (req, reply) => {
    const id = req.params.id;
    const r = o.lookup(id);
    if (!r) return reply.code(404).send({ error: `unknown webhook routine ${JSON.stringify(id)}` });
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const v = verifyWebhook({
      secret: r.secret,
      routineId: id,
      signature: header(req.headers[SIGNATURE_HEADER]),
      timestamp: header(req.headers[TIMESTAMP_HEADER]),
      body,
      nowMs: clock(),
      windowS: o.windowS,
      replay,
    });
    if (!v.ok) return reply.code(v.status).send({ error: v.error });
    const res = await o.fire(id, body);
    return reply.code(res.job_id ? 202 : 200).send(res);
  });
  app.setErrorHandler((err: { statusCode?: number; message: string; code?: string }, _req, reply) => {
    const status = err.statusCode ?? 500;
    const msg = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `body too large (limit ${o.bodyLimit} bytes)` : err.message;
    void reply.code(status).send({ error: msg });
  });
  return app;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export async function startWebhookServer(o: WebhookServerOptions): Promise<{ url: string; app: FastifyInstance; close(): Promise<void> }> {
  const app = await buildWebhookApp(o);
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return { url: `http://${host}:${port}`, app, close: () => app.close() };
}
