/**
 * The web console (`/`): a page, a script and a stylesheet, no build step, under a strict
 * Content-Security-Policy (nothing inline, nothing from elsewhere). The token is typed into the page
 * and kept in sessionStorage; every request sends it as a bearer header (never in a URL).
 *
 * Live data comes pushed over `GET /api/events` (SSE, read with fetch so it can carry the header):
 * `status` — the actor tree, sent whenever state, restarts, mailbox depth or messages handled change (sampled here
 * every `STATUS_EVERY_MS`, only changes leave); `agent` — every agent's turn events (tokens, tool
 * calls); `job` — the scheduler's job events.
 */
import type { RouteContext } from './server.js';
import { hijackStream } from './openai.js';
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_JS } from './console-assets.js';

const STATUS_EVERY_MS = 500;
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function registerConsole(ctx: RouteContext): void {
  const { app } = ctx;
  const asset = (type: string, body: string) => async (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply
      .header('content-type', type)
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-cache')
      .send(body);
  app.get('/', asset('text/html; charset=utf-8', CONSOLE_HTML));
  app.get('/console/app.js', asset('text/javascript; charset=utf-8', CONSOLE_JS));
  app.get('/console/app.css', asset('text/css; charset=utf-8', CONSOLE_CSS));

  app.get('/api/events', async (req, reply) => {
    const res = hijackStream(reply, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (event: string, data: unknown) => {
      if (res.destroyed || res.writableEnded) return;
      if (res.writableLength > 4 * 1048576) return; // a reader that stopped reading loses events, not our memory
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    let last = '';
    let busy = false;
    const sample = async () => {
      if (busy) return;
      busy = true;
      try {
        const st = await ctx.sys.status();
        const key = JSON.stringify(st.actors.map((a) => [a.path, a.state, a.restarts, a.mailbox, a.thread_id, a.handled]));
        if (key !== last) {
          last = key;
          send('status', st);
        }
      } catch {
        /* stopping: the stream ends with the server */
      } finally {
        busy = false;
      }
    };
    await sample();
    const timer = setInterval(() => void sample(), STATUS_EVERY_MS);
    const keepalive = setInterval(() => !res.destroyed && res.write(': keepalive\n\n'), 15_000);
    const offAgents = ctx.sys.subscribe('agents/*', (e, topic) => topic.endsWith('/events') && send('agent', { topic, ...e }));
    const offJobs = ctx.sys.subscribe('scheduler.jobs', (e) => send('job', e));
    res.once('close', () => {
      clearInterval(timer);
      clearInterval(keepalive);
      offAgents();
      offJobs();
    });
    void req;
    return reply;
  });
}
