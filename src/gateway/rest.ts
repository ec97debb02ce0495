/**
 * REST for what the CLI does, one route per actor message: the request is the message's payload
 * (body for writes, validated by fastify against the message's schema from protocol/; query or path
 * for reads), the reply is the actor's reply as JSON, a failure its typed error with the matching
 * HTTP status (errors.ts). The table below is also what /openapi.json describes.
 */
import type { TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { messageSchemas } from '../../protocol/index.js';
import { toActorError } from '../kernel/errors.js';
import { gatewayError } from './errors.js';
import { firstError, payloadCheck } from '../transport/websocket.js';
import type { RouteContext } from './server.js';

type Method = 'GET' | 'POST' | 'DELETE';
type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: Record<string, unknown> }>;

export interface RestRoute {
  method: Method;
  url: string;
  summary: string;
  /** The actor message the route sends (its schemas describe the route). */
  type?: string;
  to?: (r: Req) => string;
  /** The payload; default: the body (writes) or {} (reads). */
  payload?: (r: Req) => Record<string, unknown>;
  /** 201 for creations. */
  status?: number;
}

const agentPath = (r: Req) => `agents/${r.params.agent}`;
const int = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw gatewayError('bad_request', `querystring.${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
};
const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export const REST_ROUTES: RestRoute[] = [
  { method: 'GET', url: '/api/status', summary: 'the actor tree: every actor with thread, state, restarts, mailbox depth, messages handled', type: 'kernel.status', to: () => 'kernel' },
  { method: 'GET', url: '/api/agents/:agent/sessions', summary: "an agent's sessions", type: 'agent.sessions', to: agentPath },
  {
    method: 'GET', url: '/api/agents/:agent/sessions/:session', summary: 'a session: counts, summary and its last messages (?last=N)', type: 'agent.session', to: agentPath,
    payload: (r) => defined({ session: r.params.session, last: int(r.query.last, 'last') }),
  },
  { method: 'DELETE', url: '/api/agents/:agent/sessions/:session', summary: 'clear a session', type: 'agent.reset', to: agentPath, payload: (r) => ({ session: r.params.session }) },
  { method: 'POST', url: '/api/agents/:agent/messages', summary: 'send a message to an agent and wait for the answer (agent.send)', type: 'agent.send', to: agentPath, payload: (r) => ({ channel: 'api', ...r.body }) },
  { method: 'POST', url: '/api/agents/:agent/cancel', summary: 'cancel running turns (by session or request_id)', type: 'agent.cancel', to: agentPath },
  { method: 'GET', url: '/api/usage', summary: 'tokens and cost per provider, model, agent and purpose', type: 'provider.usage', to: () => 'system/provider-router' },
  { method: 'GET', url: '/api/providers', summary: 'each provider entry: ready, cooling down or disabled, and why', type: 'provider.status', to: () => 'system/provider-router' },
  { method: 'POST', url: '/api/memory/search', summary: "search the agent's memory", type: 'memory.search', to: () => 'system/memory' },
  { method: 'POST', url: '/api/memory/add', summary: 'add text (or a path under the memory roots) to memory', type: 'memory.add', to: () => 'system/memory', status: 201 },
  { method: 'GET', url: '/api/memory/stats', summary: 'memory counters', type: 'memory.stats', to: () => 'system/memory' },
  {
    method: 'GET', url: '/api/jobs', summary: 'scheduled jobs (?state=&routine_id=&limit=)', type: 'job.list', to: () => 'system/scheduler',
    payload: (r) => defined({ state: r.query.state, routine_id: r.query.routine_id, limit: int(r.query.limit, 'limit') }),
  },
  { method: 'GET', url: '/api/jobs/:id', summary: 'one job', type: 'job.status', to: () => 'system/scheduler', payload: (r) => ({ id: r.params.id }) },
  { method: 'POST', url: '/api/jobs/:id/cancel', summary: 'cancel a job', type: 'job.cancel', to: () => 'system/scheduler', payload: (r) => ({ id: r.params.id }) },
  { method: 'GET', url: '/api/routines', summary: 'routines (webhook secrets masked)', type: 'routine.list', to: () => 'system/scheduler' },
  { method: 'POST', url: '/api/routines', summary: 'create a routine (webhook routines: the URL and secret, once)', type: 'routine.create', to: () => 'system/scheduler', status: 201 },
  { method: 'DELETE', url: '/api/routines/:id', summary: 'delete a routine', type: 'routine.delete', to: () => 'system/scheduler', payload: (r) => ({ id: r.params.id }) },
  { method: 'POST', url: '/api/routines/:id/run', summary: 'run a routine now', type: 'routine.run', to: () => 'system/scheduler', payload: (r) => ({ ...r.body, id: r.params.id }) },
  { method: 'POST', url: '/api/routines/:id/enable', summary: 'enable a routine', type: 'routine.enable', to: () => 'system/scheduler', payload: (r) => ({ id: r.params.id }) },
  { method: 'POST', url: '/api/routines/:id/disable', summary: 'disable a routine', type: 'routine.disable', to: () => 'system/scheduler', payload: (r) => ({ id: r.params.id }) },
  { method: 'POST', url: '/api/safety/check-url', summary: 'check a URL against the SSRF guard', type: 'safety.check_url', to: () => 'system/safety' },
  { method: 'GET', url: '/api/tools', summary: 'sandboxed tools', type: 'tool.list', to: () => 'system/tool-runner' },
];

/** Schema of a route's body: the message's request schema, when the route takes the body as it is. */
export function bodySchema(r: RestRoute): TSchema | undefined {
  if (r.method !== 'POST' || !r.type) return undefined;
  if (r.payload && r.type !== 'agent.send' && r.type !== 'routine.run') return undefined;
  const s = messageSchemas[r.type]?.request;
  if (!s) return undefined;
  // Path parameters are added by the route; the body may leave them out.
  if (r.type === 'routine.run') return { ...s, required: (s.required as string[] | undefined)?.filter((k) => k !== 'id') } as TSchema;
  return s;
}

export function registerRest(ctx: RouteContext): void {
  ctx.app.get('/api/agents', async () => ({
    agents: ((ctx.config as { agents?: Array<{ id: string; model?: string }> }).agents ?? []).map((a) => ({
      id: a.id, model: a.model ?? 'default', running: ctx.sys.router.directory.get(`agents/${a.id}`)?.state === 'up',
    })),
  }));
  for (const r of REST_ROUTES) {
    const schema = bodySchema(r);
    ctx.app.route({
      method: r.method,
      url: r.url,
      ...(schema ? { schema: { body: schema } } : {}),
      handler: async (req, reply) => {
        const q = req as Req;
        const payload = r.payload ? r.payload(q) : r.method === 'POST' ? (q.body ?? {}) : {};
        const to = r.to!(q);
        // Query- and path-built payloads are checked like the endpoint checks frames (the message's schema).
        const check = payloadCheck(r.type!);
        if (check && !check.Check(payload)) throw gatewayError('bad_request', firstError(check, payload, 'payload'));
        try {
          const out = await ctx.sys.ask(to, r.type!, payload, { timeoutMs: r.type === 'agent.send' ? 15 * 60_000 : 60_000 });
          return reply.code(r.status ?? 200).send(out);
        } catch (e) {
          const err = toActorError(e);
          if (err.code === 'unknown_actor') throw gatewayError('not_found', `${to}: not running (${err.message})`);
          throw err;
        }
      },
    });
  }
}
