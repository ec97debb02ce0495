/**
 * Webhook triggers: `POST /hooks/<routine id>` on the gateway's port (src/gateway/hooks.ts passes
 * the raw body and headers here through `scheduler.webhook`).
 *
 * Signature: header `x-rustyclaw-signature: sha256=<hex>` = HMAC-SHA256(secret, `<timestamp>.<raw body>`),
 * with `x-rustyclaw-timestamp: <unix seconds>`. The timestamp is inside the MAC, must be within
 * ±window of now, and a (routine, signature) pair is accepted once within the window, so a
 * captured request cannot be replayed. Compare is constant-time. Bodies over the limit get 413
 * from the gateway before any work. Replies: 202 {job_id}, 200 {skipped} (guardrail), 401
 * unsigned/bad/stale (`webhook_unauthorized`), 404 unknown routine, 409 replay (`webhook_replayed`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ActorError } from '../../src/kernel/errors.js';
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

/** The scheduler's side of `POST /hooks/<routine id>` (the gateway receives the request and asks `scheduler.webhook`). */
export class WebhookReceiver {
  private readonly replay: ReplayCache;
  constructor(private readonly o: {
    windowS: number;
    lookup(routineId: string): { secret: string } | undefined;
    fire(routineId: string, body: Buffer): Promise<FireResultT>;
    clock?: () => number;
  }) {
    this.replay = new ReplayCache(o.windowS * 1000);
  }

  /** Verifies signature, timestamp and replay, then fires; refusals are typed errors (the gateway maps them to 401/404/409). */
  async receive(a: { routineId: string; signature?: string; timestamp?: string; body: Buffer }): Promise<FireResultT> {
    const r = this.o.lookup(a.routineId);
    if (!r) throw new ActorError('not_found', `unknown webhook routine ${JSON.stringify(a.routineId)}`);
    const v = verifyWebhook({
      secret: r.secret, routineId: a.routineId, signature: a.signature, timestamp: a.timestamp, body: a.body,
      nowMs: (this.o.clock ?? Date.now)(), windowS: this.o.windowS, replay: this.replay,
    });
    if (!v.ok) throw new ActorError(v.status === 409 ? 'webhook_replayed' : 'webhook_unauthorized', v.error);
    return this.o.fire(a.routineId, a.body);
  }
}
