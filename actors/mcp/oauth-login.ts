/**
 * `mcp login NAME` on the service side: start (discovery from the server's 401 challenge,
 * registration, PKCE, the authorization URL) and finish (state check, code exchange with the
 * verifier, tokens stored encrypted, the connection reconnected). The CLI only listens on the
 * loopback redirect and relays the code; everything stored stays in this actor.
 */
import { timingSafeEqual } from 'node:crypto';
import { auth, extractWWWAuthenticateParams } from '@modelcontextprotocol/client';
import { McpFailure } from './failure.js';
import type { McpService } from './service.js';
import { oauthFetch } from './oauth-provider.js';

/** A login older than this is not finished any more (its code would be stale anyway). */
const LOGIN_MAX_AGE_MS = 30 * 60_000;

function oauthServer(svc: McpService, name: string) {
  const c = svc.get(name);
  if (!c.config.oauth) throw new McpFailure('invalid_config', `mcp.servers.${name}.oauth: not set (OAuth login is for transport http servers configured with \`oauth: {}\`)`);
  return c;
}

/** The server's own challenge (RFC 9728 §5.1): `resource_metadata` and `scope` from WWW-Authenticate on a 401. */
async function challenge(url: string): Promise<{ resourceMetadataUrl?: URL; scope?: string }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'ping' }),
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.status !== 401) return {};
    const p = extractWWWAuthenticateParams(res);
    return { ...(p.resourceMetadataUrl ? { resourceMetadataUrl: p.resourceMetadataUrl } : {}), ...(p.scope ? { scope: p.scope } : {}) };
  } catch {
    return {}; // the SDK then tries the well-known locations itself
  }
}

const message = (e: unknown) => ((e as Error).message ?? String(e)).replace(/\s+/g, ' ').slice(0, 500);

export async function startLogin(svc: McpService, name: string) {
  const c = oauthServer(svc, name);
  const provider = svc.oauthProvider(name, c.config, 'login');
  provider.invalidateCredentials('discovery'); // a login re-reads where the authorization server is
  const ch = await challenge(c.config.url!);
  const scope = c.config.oauth?.scope ?? ch.scope;
  try {
    await auth(provider, { serverUrl: c.config.url!, fetchFn: oauthFetch, forceReauthorization: true, ...(ch.resourceMetadataUrl ? { resourceMetadataUrl: ch.resourceMetadataUrl } : {}), ...(scope ? { scope } : {}) });
  } catch (e) {
    throw new McpFailure('login_failed', `mcp login ${name}: ${message(e)}`);
  }
  const state = provider.pendingState();
  if (!provider.authorizationUrl || !state) throw new McpFailure('login_failed', `mcp login ${name}: the authorization server gave no authorization URL`);
  return { authorization_url: String(provider.authorizationUrl), redirect_uri: provider.redirectUrl, state };
}

function sameState(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function finishLogin(svc: McpService, p: { name: string; code: string; state: string; iss?: string }) {
  const c = oauthServer(svc, p.name);
  const provider = svc.oauthProvider(p.name, c.config, 'login');
  const pending = provider.pendingState();
  if (!pending) throw new McpFailure('login_failed', `mcp login ${p.name}: no login in progress (run \`rustyclaw mcp login ${p.name}\`)`);
  if (!sameState(p.state, pending)) throw new McpFailure('login_failed', `mcp login ${p.name}: the redirect's state does not match the login in progress (a stale or forged redirect); run \`rustyclaw mcp login ${p.name}\` again`);
  const started = provider.pendingStartedAt();
  if (started && Date.now() - started > LOGIN_MAX_AGE_MS) throw new McpFailure('login_failed', `mcp login ${p.name}: the login started more than ${LOGIN_MAX_AGE_MS / 60_000} minutes ago; run it again`);
  try {
    const r = await auth(provider, { serverUrl: c.config.url!, fetchFn: oauthFetch, authorizationCode: p.code, ...(p.iss ? { iss: p.iss } : {}) });
    if (r !== 'AUTHORIZED') throw new Error('the code was not accepted');
  } catch (e) {
    throw new McpFailure('login_failed', `mcp login ${p.name}: exchanging the code failed: ${message(e)}`);
  }
  await c.reconnect();
  return { server: c.status(), issuer: provider.issuer() ?? '' };
}

export async function logout(svc: McpService, name: string) {
  const c = oauthServer(svc, name);
  const removed = svc.store().delete(name);
  if (c.state !== 'disconnected' && c.state !== 'disabled') c.needsLogin(c.loginMessage('logged out'));
  return { removed };
}
