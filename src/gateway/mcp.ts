/**
 * `POST /mcp` (and GET/DELETE) on the gateway: RustyClaw as a Streamable HTTP MCP server — the
 * SDK's `createMcpHandler` (2026-07-28 per-request serving, stateless fallback for 2025-era
 * clients), the same tools as `rustyclaw mcp serve` (src/mcp-server.ts). The gateway's gate runs
 * first: bearer token, origin check, lockout, rate limits (server.ts onRequest).
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { createMcpHandler } from '@modelcontextprotocol/server';
import type { RouteContext } from './server.js';

type McpHandler = ReturnType<typeof createMcpHandler>;

export function registerMcp(ctx: RouteContext): void {
  // The MCP server SDK (and zod under it) loads on the first /mcp request: ~14 MB and ~190 ms of
  // the service's start for a route most deployments never call.
  let handler: Promise<McpHandler> | null = null;
  const load = async (): Promise<McpHandler> => {
    const [{ createMcpHandler: create }, { rustyclawMcpServer }] = await Promise.all([import('@modelcontextprotocol/server'), import('../mcp-server.js')]);
    return create(() => rustyclawMcpServer(ctx.actors.ask, ctx.config, 'mcp-http'), {
      onerror: (e) => ctx.log.warn({ err: e.message }, `gateway /mcp: ${e.message}`),
    });
  };
  const route = async (req: FastifyRequest, reply: FastifyReply) => {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string') headers.set(k, v);
      else if (Array.isArray(v)) headers.set(k, v.join(', '));
    }
    const hasBody = req.method === 'POST' && req.body !== undefined;
    const request = new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url}`, {
      method: req.method,
      headers,
      ...(hasBody ? { body: JSON.stringify(req.body) } : {}),
    });
    // A host that goes away ends the request (and any SSE stream it holds). The response's close,
    // not the request's: a request closes as soon as its body has been read.
    const ac = new AbortController();
    reply.raw.once('close', () => ac.abort());
    if (!handler) {
      handler = load();
      handler.catch(() => (handler = null));
    }
    const res = await (await handler).fetch(new Request(request, { signal: ac.signal }), hasBody ? { parsedBody: req.body } : {});
    reply.code(res.status);
    res.headers.forEach((v, k) => void reply.header(k, v));
    if (!res.body) return reply.send();
    return reply.send(Readable.fromWeb(res.body as unknown as WebReadableStream));
  };
  for (const method of ['POST', 'GET', 'DELETE'] as const) ctx.app.route({ method, url: '/mcp', handler: route });
}
