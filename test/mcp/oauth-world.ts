/**
 * A hosted MCP server behind OAuth, on loopback, for the login tests:
 * - a Streamable HTTP MCP server built with the SDK (`createMcpHandler`), gated by the SDK's
 *   `requireBearerAuth` (401 + `WWW-Authenticate: Bearer resource_metadata=…`), serving its RFC 9728
 *   protected-resource metadata;
 * - a stand-in for the hosted authorization server (outside this machine in real use), speaking the
 *   real wire formats: RFC 8414 metadata, RFC 7591 registration, the authorization endpoint (it
 *   approves at once and redirects, as a consenting user would), PKCE S256 and RFC 8707 `resource`
 *   checked at the token endpoint, refresh tokens, RFC 9207 `iss` on the redirect.
 * Controls: revoke every token, expire the access tokens, count the requests per endpoint.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer, OAuthError, OAuthErrorCode, createMcpHandler, fromJsonSchema, getOAuthProtectedResourceMetadataUrl, oauthMetadataResponse, requireBearerAuth, type AuthInfo } from '@modelcontextprotocol/server';

interface Token { client_id: string; expires_at: number; revoked: boolean; resource: string; scope: string }

export interface OAuthWorld {
  mcpUrl: string;
  issuer: string;
  counts: Record<string, number>;
  /** Access tokens ever handed out (tests look for them where they must not be). */
  accessTokens: string[];
  refreshTokens: string[];
  clients: Map<string, { redirect_uris: string[] }>;
  revokeAll(): void;
  expireAccessTokens(): void;
  close(): Promise<void>;
}

async function toRequest(req: IncomingMessage, base: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  const body = chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
  return new Request(new URL(req.url ?? '/', base), { method: req.method!, headers, ...(body ? { body } : {}) });
}

async function send(res: ServerResponse, r: Response): Promise<void> {
  res.writeHead(r.status, Object.fromEntries(r.headers.entries()));
  if (!r.body) return void res.end();
  const reader = r.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    res.write(value);
  }
  res.end();
}

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

const b64url = (b: Buffer) => b.toString('base64url');

export async function startOAuthWorld(o: { accessTtlS?: number } = {}): Promise<OAuthWorld> {
  const ttl = o.accessTtlS ?? 3600;
  const counts: Record<string, number> = {};
  const count = (k: string) => void (counts[k] = (counts[k] ?? 0) + 1);
  const clients = new Map<string, { redirect_uris: string[] }>();
  const codes = new Map<string, { client_id: string; redirect_uri: string; challenge: string; resource: string; scope: string }>();
  const access = new Map<string, Token>();
  const refresh = new Map<string, Token>();
  const accessTokens: string[] = [];
  const refreshTokens: string[] = [];

  const asServer = createServer();
  const rsServer = createServer();
  const issuer = await listen(asServer);
  const rsBase = await listen(rsServer);
  const mcpUrl = `${rsBase}/mcp`;

  const asMetadata = {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    scopes_supported: ['tools'],
    authorization_response_iss_parameter_supported: true,
  };

  const json = (res: ServerResponse, status: number, body: unknown) => void res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  const issue = (client_id: string, resource: string, scope: string) => {
    const at = b64url(randomBytes(24));
    const rt = b64url(randomBytes(24));
    access.set(at, { client_id, resource, scope, expires_at: Date.now() + ttl * 1000, revoked: false });
    refresh.set(rt, { client_id, resource, scope, expires_at: Number.MAX_SAFE_INTEGER, revoked: false });
    accessTokens.push(at);
    refreshTokens.push(rt);
    return { access_token: at, token_type: 'Bearer', expires_in: ttl, refresh_token: rt, scope };
  };

  asServer.on('request', (req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', issuer);
      count(`${req.method} ${u.pathname}`);
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'GET' && u.pathname === '/.well-known/oauth-authorization-server') return json(res, 200, asMetadata);
      if (req.method === 'POST' && u.pathname === '/register') {
        let md: { redirect_uris?: unknown; client_name?: string };
        try {
          md = JSON.parse(raw) as typeof md;
        } catch {
          return json(res, 400, { error: 'invalid_client_metadata', error_description: 'not JSON' });
        }
        const uris = Array.isArray(md.redirect_uris) ? md.redirect_uris.filter((x): x is string => typeof x === 'string') : [];
        if (!uris.length || uris.some((x) => !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(x))) return json(res, 400, { error: 'invalid_redirect_uri', error_description: 'loopback http redirect URIs only' });
        const client_id = `client-${clients.size + 1}-${b64url(randomBytes(6))}`;
        clients.set(client_id, { redirect_uris: uris });
        return json(res, 201, { ...md, client_id, client_id_issued_at: Math.floor(Date.now() / 1000), token_endpoint_auth_method: 'none' });
      }
      if (req.method === 'GET' && u.pathname === '/authorize') {
        const q = u.searchParams;
        const client = clients.get(q.get('client_id') ?? '');
        const redirect = q.get('redirect_uri') ?? '';
        if (!client || !client.redirect_uris.includes(redirect)) return json(res, 400, { error: 'invalid_request', error_description: 'unknown client or unregistered redirect_uri' });
        const back = new URL(redirect);
        back.searchParams.set('iss', issuer);
        if (q.get('state')) back.searchParams.set('state', q.get('state')!);
        if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
          back.searchParams.set('error', 'invalid_request');
          back.searchParams.set('error_description', 'PKCE S256 required');
        } else if (q.get('resource') !== mcpUrl) {
          back.searchParams.set('error', 'invalid_target');
          back.searchParams.set('error_description', `resource must be ${mcpUrl}, got ${q.get('resource')}`);
        } else {
          const code = b64url(randomBytes(16));
          codes.set(code, { client_id: q.get('client_id')!, redirect_uri: redirect, challenge: q.get('code_challenge')!, resource: q.get('resource')!, scope: q.get('scope') ?? '' });
          back.searchParams.set('code', code);
        }
        res.writeHead(302, { location: String(back) }).end();
        return;
      }
      if (req.method === 'POST' && u.pathname === '/token') {
        const f = new URLSearchParams(raw);
        const grant = f.get('grant_type');
        if (grant === 'authorization_code') {
          const c = codes.get(f.get('code') ?? '');
          codes.delete(f.get('code') ?? '');
          if (!c) return json(res, 400, { error: 'invalid_grant', error_description: 'unknown or used code' });
          if (c.client_id !== f.get('client_id') || c.redirect_uri !== f.get('redirect_uri')) return json(res, 400, { error: 'invalid_grant', error_description: 'client or redirect_uri mismatch' });
          if (b64url(createHash('sha256').update(f.get('code_verifier') ?? '').digest()) !== c.challenge) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verifier mismatch' });
          if (f.get('resource') !== c.resource) return json(res, 400, { error: 'invalid_target', error_description: 'resource mismatch' });
          return json(res, 200, issue(c.client_id, c.resource, c.scope));
        }
        if (grant === 'refresh_token') {
          const t = refresh.get(f.get('refresh_token') ?? '');
          if (!t || t.revoked || t.client_id !== f.get('client_id')) return json(res, 400, { error: 'invalid_grant', error_description: 'refresh token revoked or unknown' });
          t.revoked = true; // rotation: a refresh token is used once
          return json(res, 200, issue(t.client_id, t.resource, t.scope));
        }
        return json(res, 400, { error: 'unsupported_grant_type' });
      }
      json(res, 404, { error: 'not_found' });
    })().catch((e: Error) => json(res, 500, { error: 'server_error', error_description: e.message }));
  });

  const verifier = {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      const t = access.get(token);
      if (!t || t.revoked || t.expires_at <= Date.now()) throw new OAuthError(OAuthErrorCode.InvalidToken, t?.revoked ? 'token revoked' : t ? 'token expired' : 'unknown token');
      return { token, clientId: t.client_id, scopes: t.scope ? t.scope.split(' ') : [], expiresAt: Math.floor(t.expires_at / 1000), resource: new URL(t.resource) };
    },
  };
  const resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(new URL(mcpUrl));
  const gate = requireBearerAuth({ verifier, resourceMetadataUrl, expectedResource: new URL(mcpUrl) });
  const handler = createMcpHandler(() => {
    const s = new McpServer({ name: 'oauth-fixture', version: '1.0.0' });
    s.registerTool('whoami', { description: 'who the token belongs to', inputSchema: fromJsonSchema<Record<string, never>>({ type: 'object', properties: {} }) }, (_args, ctx) => ({
      content: [{ type: 'text' as const, text: `hello ${ctx.http?.authInfo?.clientId ?? 'nobody'}` }],
    }));
    return s;
  });
  const metaOpts = { oauthMetadata: asMetadata, resourceServerUrl: new URL(mcpUrl), scopesSupported: ['tools'], dangerouslyAllowInsecureIssuerUrl: true };
  rsServer.on('request', (req, res) => {
    void (async () => {
      const request = await toRequest(req, rsBase);
      count(`${req.method} rs${new URL(request.url).pathname}`);
      const meta = oauthMetadataResponse(request, metaOpts);
      if (meta) return send(res, meta);
      if (new URL(request.url).pathname !== '/mcp') return send(res, new Response('not found', { status: 404 }));
      const authInfo = await gate(request);
      if (authInfo instanceof Response) {
        count('401');
        return send(res, authInfo);
      }
      return send(res, await handler.fetch(request, { authInfo }));
    })().catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500).end(e.message);
    });
  });

  return {
    mcpUrl, issuer, counts, accessTokens, refreshTokens, clients,
    revokeAll() {
      for (const t of access.values()) t.revoked = true;
      for (const t of refresh.values()) t.revoked = true;
    },
    expireAccessTokens() {
      for (const t of access.values()) t.expires_at = 0;
    },
    async close() {
      await handler.close?.();
      for (const s of [asServer, rsServer]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}
