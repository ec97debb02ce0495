/**
 * `POST /hooks/<routine id>`: the scheduler's webhooks on the gateway's port. The raw body (any
 * content type, up to scheduler.webhook.body_limit) and the signing headers go to the scheduler
 * (`scheduler.webhook`), which verifies HMAC, timestamp window and replay and fires the routine:
 * 202 {job_id}, 200 {skipped}, 401 bad signature, 404 unknown routine, 409 replay, 413 too large.
 */
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../actors/scheduler/webhook.js';
import { toActorError } from '../kernel/errors.js';
import { gatewayError } from './errors.js';
import type { RouteContext } from './server.js';

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export function registerHooks(ctx: RouteContext): void {
  const sched = (ctx.config as { scheduler?: { webhook?: { body_limit?: number } } }).scheduler?.webhook;
  const bodyLimit = sched?.body_limit ?? 65_536;
  void ctx.app.register(async (sub) => {
    // Signatures are over the exact bytes: no parsing, whatever the content type.
    sub.removeAllContentTypeParsers();
    sub.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
    sub.post<{ Params: { id: string } }>('/hooks/:id', { bodyLimit }, async (req, reply) => {
      if (!ctx.sys.router.directory.has('system/scheduler')) throw gatewayError('not_found', 'the scheduler is not running (kernel.system_actors)');
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const signature = one(req.headers[SIGNATURE_HEADER]);
      const timestamp = one(req.headers[TIMESTAMP_HEADER]);
      try {
        const r = await ctx.actors.ask('system/scheduler', 'scheduler.webhook', {
          routine_id: req.params.id, body_b64: body.toString('base64'),
          ...(signature !== undefined ? { signature } : {}), ...(timestamp !== undefined ? { timestamp } : {}),
        }, { timeoutMs: 30_000 });
        return reply.code(r.job_id ? 202 : 200).send(r);
      } catch (e) {
        throw toActorError(e);
      }
    });
  });
}
