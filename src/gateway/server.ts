/**
 * The gateway: one fastify server on the endpoint's host and port carrying the OpenAI-compatible
 * API (/v1), the REST API (/api), the scheduler's webhooks (/hooks), the web console (/) and, on
 * HTTP upgrade, the WebSocket endpoint protocol (same envelope as before: `rustyclaw/client` and the
 * CLI speak it unchanged).
 *
 * Every request passes one gate (onRequest) in this order: a credential in the query string is
 * refused; a locked-out address gets 429; a foreign Origin gets 403; then the bearer token (public
 * routes: health, webhooks — HMAC-signed —, the console's static files); then the sliding-window
 * limits per token and per address.
 */
import { createServer, type IncomingMessage } from 'node:http';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import type { Logger } from 'pino';
import type { ActorSystem } from '../kernel/system.js';
import { ActorError, toActorError } from '../kernel/errors.js';
import type { RootConfig } from '../config/load.js';
import { WebSocketTransport } from '../transport/websocket.js';
import { GatewayConfigSchema, type GatewayConfig } from './config.js';
import { Value } from '@sinclair/typebox/value';
import { Lockout, TokenSet, bearer, tokenInQuery } from './auth.js';
import { SlidingWindow } from './rate-limit.js';
import { gatewayError, httpStatus, openaiErrorBody, projectErrorBody } from './errors.js';
import { registerOpenAi } from './openai.js';
import { registerHooks } from './hooks.js';
import { registerRest } from './rest.js';
import { registerConsole } from './console.js';
import { registerMcp } from './mcp.js';
import { openApiDocument } from './openapi.js';
import { gatewayActors, type GatewayActors } from './actors.js';

export interface GatewayOptions {
  sys: ActorSystem;
  config: RootConfig;
  /** The endpoint's token (endpoint.json), always accepted. */
  token: string;
  env?: NodeJS.ProcessEnv;
  log: Logger;
}

export interface Gateway {
  /** http://host:port */
  url: string;
  /** ws://host:port (the endpoint protocol) */
  wsUrl: string;
  app: FastifyInstance;
  stop(): Promise<void>;
}

/** What every route module gets. */
export interface RouteContext {
  app: FastifyInstance;
  sys: ActorSystem;
  actors: GatewayActors;
  config: RootConfig;
  gateway: GatewayConfig;
  log: Logger;
  url: () => string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;

/** Routes reachable without a bearer token (their own check or nothing to protect). */
function isPublic(url: string): boolean {
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  return p === '/health' || p.startsWith('/hooks/') || p === '/' || p.startsWith('/console/');
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Id of the token that authenticated the request (never the token itself). */
    caller?: string;
  }
}

export function gatewayConfig(config: RootConfig): GatewayConfig {
  const raw = (config as { gateway?: unknown }).gateway ?? {};
  return Value.Default(GatewayConfigSchema, structuredClone(raw)) as GatewayConfig;
}

export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const env = o.env ?? process.env;
  const g = gatewayConfig(o.config);
  const ep = o.config.endpoint;
  const tokenFile = g.token_file ? path.resolve(o.config.data_dir, g.token_file) : undefined;
  const tokens = new TokenSet({ endpointToken: o.token, envToken: env[g.token_env] || undefined, tokenFile });
  if (!LOOPBACK.test(ep.host) && !tokens.configured) {
    throw new Error(
      `refusing to bind ${ep.host} (not loopback) without a configured token: set ${g.token_env} in the environment or gateway.token_file ` +
        '(the generated token in endpoint.json is meant for this machine only)',
    );
  }
  const lockout = new Lockout(g.lockout);
  const windows = new SlidingWindow(g.rate_limit.window_ms);
  const allowed = new Set(g.cors_origins);
  const app = Fastify({
    logger: false,
    bodyLimit: g.body_limits.rest,
    // Slow clients: headers and body must arrive within request_timeout_ms; Node checks every
    // connectionsCheckingInterval (30 s by default, far too coarse for a short timeout).
    serverFactory: (handler) => createServer({
      requestTimeout: g.request_timeout_ms,
      headersTimeout: Math.min(g.request_timeout_ms, 60_000),
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(g.request_timeout_ms / 2))),
    }, handler),
    forceCloseConnections: true,
    return503OnClosing: true,
    // Route schemas are TypeBox (JSON Schema); coercion would hide a client's wrong types.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  // JSON only (fastify also parses text/plain by default): any other body is a 415 naming its type.
  app.removeContentTypeParser('text/plain');

  const retryAfter = (reply: FastifyReply, ms: number) => reply.header('retry-after', String(Math.max(1, Math.ceil(ms / 1000))));

  /** The address's and the token's windows; a refusal names which and when to retry. */
  const limit = (reply: FastifyReply, ip: string, caller: string | undefined, read: boolean): void => {
    if (!g.rate_limit.enabled) return;
    const kind = read ? 'reads' : 'writes';
    const ipWait = windows.take(`ip:${ip}:${kind}`, g.rate_limit.per_ip[kind]);
    if (ipWait) {
      retryAfter(reply, ipWait);
      throw gatewayError('rate_limited', `rate limit: more than ${g.rate_limit.per_ip[kind]} ${kind} per ${g.rate_limit.window_ms} ms from ${ip}; retry in ${Math.ceil(ipWait / 1000)} s`);
    }
    if (!caller) return;
    const tokWait = windows.take(`tok:${caller}:${kind}`, g.rate_limit.per_token[kind]);
    if (tokWait) {
      retryAfter(reply, tokWait);
      throw gatewayError('rate_limited', `rate limit: more than ${g.rate_limit.per_token[kind]} ${kind} per ${g.rate_limit.window_ms} ms for this token; retry in ${Math.ceil(tokWait / 1000)} s`);
    }
  };

  /** Same origin as the Host, or listed; requests without Origin (not from a browser) pass. */
  const originOk = (origin: string | undefined, host: string | undefined): boolean => {
    if (!origin) return true;
    if (allowed.has(origin)) return true;
    try {
      return host !== undefined && new URL(origin).host === host;
    } catch {
      return false;
    }
  };

  if (allowed.size) {
    await app.register(cors, {
      origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
      allowedHeaders: ['authorization', 'content-type', 'x-rustyclaw-agent', 'x-rustyclaw-session'],
      methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      maxAge: 600,
    });
  }

  /** The gate every request passes; it throws the refusal. */
  const gate = (req: FastifyRequest, reply: FastifyReply): void => {
    const ip = req.socket.remoteAddress ?? 'unknown';
    const q = tokenInQuery(req.url);
    if (q) throw gatewayError('token_in_query', `query parameter '${q}': credentials are never accepted in a URL (URLs end up in logs and histories); send Authorization: Bearer <token>`);
    const locked = lockout.lockedFor(ip);
    if (locked) {
      retryAfter(reply, locked);
      throw gatewayError('locked_out', `too many failed authentications from ${ip}; locked for ${Math.ceil(locked / 1000)} s`);
    }
    if (!originOk(req.headers.origin, req.headers.host)) throw gatewayError('forbidden_origin', `Origin ${req.headers.origin}: not allowed (gateway.cors_origins)`);
    // CORS preflights carry no credentials by design.
    if (req.method === 'OPTIONS' && allowed.size) return;
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (isPublic(req.url)) return limit(reply, ip, undefined, read);
    const id = tokens.match(bearer(req.headers.authorization));
    if (!id) {
      const lockedNow = lockout.fail(ip);
      if (lockedNow) {
        retryAfter(reply, lockedNow);
        throw gatewayError('locked_out', `too many failed authentications from ${ip}; locked for ${Math.ceil(lockedNow / 1000)} s`);
      }
      void reply.header('www-authenticate', 'Bearer realm="rustyclaw"');
      throw gatewayError('unauthorized', req.headers.authorization ? 'Authorization: the bearer token does not match this service' : 'Authorization: missing (send Authorization: Bearer <token>; the token is in <data_dir>/run/endpoint.json)');
    }
    lockout.succeed(ip);
    req.caller = id;
    limit(reply, ip, id, read);
  };
  // Callback style: the gate is synchronous, and an async hook costs a promise per request.
  app.addHook('onRequest', (req, reply, done) => {
    try {
      gate(req, reply);
    } catch (e) {
      done(e as Error);
      return;
    }
    done();
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    const e = fromFastify(err, req);
    const status = httpStatus(e.code);
    if (status >= 500) o.log.warn({ code: e.code, url: req.url.split('?')[0], err: e.message }, 'gateway request failed');
    void reply.code(status).send(req.url.startsWith('/v1/') ? openaiErrorBody(e) : projectErrorBody(e));
  });
  app.setNotFoundHandler((req, reply) => {
    const e = gatewayError('not_found', `${req.method} ${req.url.split('?')[0]}: no such route (see /openapi.json)`);
    void reply.code(404).send(req.url.startsWith('/v1/') ? openaiErrorBody(e) : projectErrorBody(e));
  });

  const actors = gatewayActors(o.sys);
  let url = '';
  const ctx: RouteContext = { app, sys: o.sys, actors, config: o.config, gateway: g, log: o.log, url: () => url };
  app.get('/health', { schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));
  if (g.openai) registerOpenAi(ctx);
  registerHooks(ctx);
  registerRest(ctx);
  registerMcp(ctx);
  if (g.console) registerConsole(ctx);
  app.get('/openapi.json', async () => openApiDocument(app, url));

  await app.listen({ host: ep.host, port: ep.port });
  const addr = app.server.address() as { address: string; port: number };
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  url = `http://${host}:${addr.port}`;

  const transport = new WebSocketTransport({
    host: ep.host,
    port: addr.port,
    maxPayloadBytes: ep.max_payload_bytes,
    token: o.token,
    log: o.log.child({ component: 'endpoint' }),
    attach: {
      server: app.server,
      verifyUpgrade: (req: IncomingMessage) => {
        const ip = req.socket.remoteAddress ?? 'unknown';
        const refuse = (e: ActorError, headers?: Record<string, string>) => ({ status: httpStatus(e.code), body: JSON.stringify(projectErrorBody(e)), headers });
        const q = tokenInQuery(req.url ?? '');
        if (q) return refuse(gatewayError('token_in_query', `query parameter '${q}': credentials are never accepted in a URL; send the token in the hello frame`));
        const locked = lockout.lockedFor(ip);
        if (locked) return refuse(gatewayError('locked_out', `too many failed authentications from ${ip}`), { 'retry-after': String(Math.ceil(locked / 1000)) });
        if (!originOk(req.headers.origin, req.headers.host)) return refuse(gatewayError('forbidden_origin', `Origin ${req.headers.origin}: not allowed (gateway.cors_origins)`));
        return null;
      },
      authenticate: (token: string, ip: string) => {
        if (lockout.lockedFor(ip)) return false;
        if (tokens.match(token)) {
          lockout.succeed(ip);
          return true;
        }
        lockout.fail(ip);
        return false;
      },
    },
  });
  const { url: wsUrl } = await transport.start(o.sys);
  await actors.announce(url);
  return {
    url,
    wsUrl,
    app,
    async stop() {
      await transport.stop();
      await app.close();
    },
  };
}

/** Fastify's own errors (validation, parsing, limits) and actors' errors as one typed error. */
function fromFastify(err: unknown, req: FastifyRequest): ActorError {
  if (err instanceof ActorError) return err;
  const f = err as { code?: string; statusCode?: number; message?: string; validation?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }>; validationContext?: string };
  if (f.validation?.length) {
    const v = f.validation[0]!;
    const missing = v.params && 'missingProperty' in v.params ? `'${String(v.params.missingProperty)}'` : '';
    // Ajv's own message names a missing property already ("must have required property 'x'").
    const extra = v.params && 'allowedValues' in v.params ? ` (${(v.params.allowedValues as unknown[]).join(', ')})` : missing && !v.message?.includes(missing) ? ` ${missing}` : '';
    return gatewayError('bad_request', `${f.validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}: ${v.message ?? 'invalid'}${extra}`);
  }
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return gatewayError('payload_too_large', `body: larger than this route's limit (${req.routeOptions.bodyLimit ?? '?'} bytes)`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return gatewayError('unsupported_media_type', `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}: expected application/json`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return gatewayError('bad_request', 'body: empty (expected a JSON object)');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return gatewayError('bad_request', `body: not valid JSON (${f.message})`);
  }
  if (err instanceof SyntaxError) return gatewayError('bad_request', `body: not valid JSON (${err.message})`);
  if (typeof f.statusCode === 'number' && f.statusCode < 500) {
    return gatewayError(f.statusCode === 413 ? 'payload_too_large' : f.statusCode === 415 ? 'unsupported_media_type' : 'bad_request', f.message ?? 'bad request');
  }
  return toActorError(err);
}
