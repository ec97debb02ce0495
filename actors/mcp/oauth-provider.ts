/**
 * The SDK's `OAuthClientProvider` for one MCP server, over the encrypted store (oauth-store.ts).
 * The SDK's `auth()` does the protocol (RFC 9728 resource metadata, RFC 8414 authorization-server
 * metadata, RFC 7591 registration, PKCE S256, RFC 8707 `resource`, RFC 9207 `iss`, refresh);
 * this class only keeps what it produces. Two modes:
 * - `service`: the live connection. It never starts a login: a needed authorization only marks the
 *   server `needs_login` (a refresh happens silently), and a login in progress is left alone.
 * - `login`: `mcp login` — records the authorization URL, state and PKCE verifier of a new login.
 * The redirect URI is the fixed loopback port `mcp.oauth.redirect_port`, so the registration made
 * once stays valid for every later login and refresh.
 */
import { randomBytes } from 'node:crypto';
import type { OAuthClientMetadata, OAuthClientProvider, OAuthDiscoveryState, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';
import type { McpServerConfig } from '../../protocol/mcp.js';
import type { OAuthStore } from './oauth-store.js';

/** fetch for the OAuth exchanges we start (discovery, registration, token): a hung authorization server fails them instead of hanging. */
export const oauthFetch = (url: string | URL, init?: RequestInit): Promise<Response> => fetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(30_000) });

export function redirectUri(port: number): string {
  return `http://127.0.0.1:${port}/callback`;
}

export class StoredOAuthProvider implements OAuthClientProvider {
  /** Set by the SDK when a (new) authorization is needed. */
  authorizationUrl?: URL;
  private readonly url: string;

  constructor(
    readonly name: string,
    private readonly server: McpServerConfig,
    private readonly store: OAuthStore,
    private readonly redirect: string,
    private readonly mode: 'service' | 'login',
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.url = server.url!;
  }

  get redirectUrl(): string {
    return this.redirect;
  }

  get clientMetadata(): OAuthClientMetadata {
    const secret = !!this.server.oauth?.client_secret_env;
    return {
      client_name: `RustyClaw (${this.name})`,
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: secret ? 'client_secret_post' : 'none',
      ...(this.server.oauth?.scope ? { scope: this.server.oauth.scope } : {}),
    };
  }

  private rec() {
    return this.store.get(this.name, this.url);
  }

  private update(fn: Parameters<OAuthStore['update']>[2]) {
    return this.store.update(this.name, this.url, fn);
  }

  state(): string {
    const state = randomBytes(24).toString('base64url');
    if (this.mode === 'login') this.update((r) => void (r.pending = { state, started_at: Date.now() }));
    return state;
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    const o = this.server.oauth;
    if (o?.client_id) {
      const secret = o.client_secret_env ? this.env[o.client_secret_env] : undefined;
      return { client_id: o.client_id, ...(secret ? { client_secret: secret } : {}), ...(this.rec().client?.issuer ? { issuer: this.rec().client!.issuer } : {}) };
    }
    return this.rec().client;
  }

  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.update((r) => void (r.client = info));
  }

  tokens(): StoredOAuthTokens | undefined {
    const t = this.rec().tokens;
    if (!t) return undefined;
    const { saved_at: _, ...tokens } = t;
    return tokens;
  }

  /** True when the stored access token's lifetime is over (a refresh is due before the next request). */
  expired(now = Date.now()): boolean {
    const t = this.rec().tokens;
    return !!t && typeof t.expires_in === 'number' && t.saved_at + t.expires_in * 1000 <= now + 5_000;
  }

  hasTokens(): boolean {
    return !!this.rec().tokens;
  }

  issuer(): string | undefined {
    return this.rec().issuer;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.update((r) => {
      // A refresh answer may omit the refresh token: the one we have stays valid (RFC 6749 §6).
      const refresh = tokens.refresh_token ?? r.tokens?.refresh_token;
      r.tokens = { ...tokens, ...(refresh ? { refresh_token: refresh } : {}), saved_at: Date.now() };
      if (tokens.issuer) r.issuer = tokens.issuer;
      if (this.mode === 'login') delete r.pending;
    });
  }

  redirectToAuthorization(url: URL): void {
    // Nothing is opened here: `mcp login` prints the URL; the service only learns that a login is needed.
    this.authorizationUrl = url;
  }

  saveCodeVerifier(verifier: string): void {
    if (this.mode !== 'login') return; // the service never starts a login: a pending one keeps its verifier
    this.update((r) => void (r.pending = { ...(r.pending ?? { state: '', started_at: Date.now() }), code_verifier: verifier }));
  }

  codeVerifier(): string {
    const v = this.rec().pending?.code_verifier;
    if (!v) throw new Error(`no OAuth login in progress for '${this.name}' (run \`rustyclaw mcp login ${this.name}\`)`);
    return v;
  }

  /** The state the login in progress expects back on its redirect. */
  pendingState(): string | undefined {
    return this.rec().pending?.state;
  }

  pendingStartedAt(): number | undefined {
    return this.rec().pending?.started_at;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.update((r) => void (r.discovery = state));
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.rec().discovery;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all') {
      this.store.delete(this.name);
      return;
    }
    this.update((r) => {
      if (scope === 'client') delete r.client;
      if (scope === 'tokens') delete r.tokens;
      if (scope === 'verifier' && this.mode === 'login') delete r.pending;
      if (scope === 'discovery') delete r.discovery;
    });
  }
}
