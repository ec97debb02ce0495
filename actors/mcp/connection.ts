/**
 * One supervised connection to one MCP server (the official SDK's `Client` over stdio or
 * Streamable HTTP, HTTP+SSE as fallback). It restarts itself with backoff when the server exits,
 * crashes, stops answering pings or cannot be reached; while it is down its tools are marked
 * unavailable and calls fail at once with `server_unavailable` instead of "Not connected".
 */
import { Client, SSEClientTransport, SdkError, SdkErrorCode, StreamableHTTPClientTransport, UnauthorizedError, auth, type PriorDiscovery, type Tool, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import type { Logger } from 'pino';
import { DEFAULT_ENV_DENYLIST, type McpConfig, type McpServerConfig, type McpServerStatus } from '../../protocol/mcp.js';
import { McpFailure } from './failure.js';
import type { PidFile } from './pid-file.js';
import { oauthFetch, type StoredOAuthProvider } from './oauth-provider.js';

type State = McpServerStatus['state'];

export interface ConnectionHooks {
  /** State changes and tool-list changes (published on mcp/events). */
  event(e: { event: 'connected' | 'disconnected' | 'tools_changed' | 'error'; state: State; tools?: number; message?: string }): void;
  /** The tool list was (re)read. */
  tools(tools: Tool[]): void;
}

const CLIENT_INFO = { name: 'rustyclaw', version: '0.1.0' };
/** A connection that lived this long before it was lost resets the backoff. */
const STABLE_MS = 5_000;
/** stderr lines logged per window; the rest are counted (a flooding server cannot flood the log). */
const STDERR_LINES = 40;
const STDERR_WINDOW_MS = 10_000;

/** `${VAR}` in config values takes the service's variable (secrets stay out of the YAML). */
export function interpolate(v: string, env: NodeJS.ProcessEnv): string {
  return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, k: string) => env[k] ?? '');
}

/** The child's environment: a minimal inherited one plus the entry's `env`, minus the denylist. */
export function childEnv(server: McpServerConfig, extraDeny: string[], env: NodeJS.ProcessEnv): { env: Record<string, string>; dropped: string[] } {
  const deny = new Set([...DEFAULT_ENV_DENYLIST, ...extraDeny].map((k) => k.toUpperCase()));
  const out: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [k, v] of Object.entries({ ...getDefaultEnvironment(), ...Object.fromEntries(Object.entries(server.env ?? {}).map(([k, v]) => [k, interpolate(v, env)])) })) {
    if (deny.has(k.toUpperCase())) dropped.push(k);
    else out[k] = v;
  }
  return { env: out, dropped };
}

/** A config entry's problem, naming the field (checked before anything is spawned). */
export function configProblem(name: string, s: McpServerConfig): string | undefined {
  if (s.transport === 'stdio') {
    if (!s.command) return `mcp.servers.${name}.command: required for transport stdio`;
    if (s.url) return `mcp.servers.${name}.url: only for transport http`;
  } else {
    if (!s.url) return `mcp.servers.${name}.url: required for transport http`;
    try {
      const u = new URL(s.url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return `mcp.servers.${name}.url: must be http(s), got ${u.protocol}`;
    } catch {
      return `mcp.servers.${name}.url: not a URL: '${s.url}'`;
    }
    if (s.command || s.args || s.cwd || s.env) return `mcp.servers.${name}: command/args/env/cwd are only for transport stdio`;
  }
  const p = s.protocol;
  if (p && p !== 'auto' && p !== 'legacy' && !/^\d{4}-\d{2}-\d{2}$/.test(p)) return `mcp.servers.${name}.protocol: 'auto', 'legacy' or a revision date (2026-07-28), got '${p}'`;
  return undefined;
}

/**
 * Concurrent calls to a stdio server share writes: the first request of an event-loop turn is
 * written at once (a lone call waits for nothing), the child's stdin is corked at the second and
 * uncorked when the turn's microtasks are done (process.nextTick), so N pipelined requests cost two
 * write syscalls instead of N (the largest single cost of a pipelined call on the actor's thread in
 * the profile). Uses the SDK transport's child process; when a future SDK renames it, writes simply
 * stay uncoalesced.
 */
export function coalesceStdinWrites(transport: StdioClientTransport): boolean {
  const stdin = (transport as unknown as { _process?: { stdin?: NodeJS.WritableStream & { cork?(): void; uncork?(): void; writableCorked?: number } } })._process?.stdin;
  if (!stdin || typeof stdin.cork !== 'function' || typeof stdin.uncork !== 'function') return false;
  const send = transport.send.bind(transport);
  let inTurn = false;
  let corked = false;
  const endTurn = () => {
    inTurn = false;
    if (corked) {
      corked = false;
      stdin.uncork!();
    }
  };
  transport.send = (message: Parameters<StdioClientTransport["send"]>[0]) => {
    if (!inTurn) {
      inTurn = true;
      process.nextTick(endTurn);
    } else if (!corked) {
      corked = true;
      stdin.cork!();
    }
    return send(message);
  };
  return true;
}

/** A 401 from the server, or the SDK's verdict that the OAuth flow needs a user. */
export function isAuthFailure(e: unknown): boolean {
  if (e instanceof UnauthorizedError) return true;
  if (e instanceof SdkError && e.code === SdkErrorCode.ClientHttpAuthentication) return true;
  const o = e as { status?: unknown; data?: { status?: unknown } };
  return o?.status === 401 || o?.data?.status === 401;
}

export class McpConnection {
  state: State = 'disconnected';
  client?: Client;
  transportKind: string;
  tools: Tool[] = [];
  restarts = 0;
  lastError?: string;
  pid?: number;
  connectMs?: number;
  connectPhases?: McpServerStatus['connect_phases'];
  inFlight = 0;
  /** When the connection was lost (or first wanted): the start of the next connect's backoff phase. */
  private downSince = performance.now();
  private wanted = false;
  private generation = 0;
  private attempt = 0;
  private upSince = 0;
  private lastTraffic = 0;
  private retryTimer?: NodeJS.Timeout;
  private pingTimer?: NodeJS.Timeout;
  private era?: PriorDiscovery;
  private opening?: Promise<void>;
  private stderrCount = 0;
  private stderrDropped = 0;
  private stderrWindow = 0;
  /** Resolved whenever the connection comes up (callers waiting for a restart). */
  private waiters: Array<(up: boolean) => void> = [];

  constructor(
    readonly name: string,
    public config: McpServerConfig,
    private readonly global: McpConfig,
    private readonly log: Logger,
    private readonly hooks: ConnectionHooks,
    private readonly pids: PidFile,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** Set for http servers with `oauth:` (tokens from the encrypted store, silent refresh). */
    readonly oauth?: StoredOAuthProvider,
  ) {
    this.transportKind = config.transport === 'stdio' ? 'stdio' : 'streamable-http';
    if (config.enabled === false) this.state = 'disabled';
  }

  status(): McpServerStatus {
    const info = this.client?.getServerVersion();
    return {
      name: this.name,
      transport: this.transportKind,
      state: this.state,
      ...(this.state === 'connected' && this.client?.getNegotiatedProtocolVersion() ? { protocol_version: this.client.getNegotiatedProtocolVersion()! } : {}),
      ...(this.state === 'connected' && info ? { server_info: { name: String(info.name), version: String(info.version) } } : {}),
      tools: this.state === 'connected' ? this.tools.length : 0,
      restarts: this.restarts,
      in_flight: this.inFlight,
      ...(this.lastError ? { last_error: this.lastError } : {}),
      ...(this.pid ? { pid: this.pid } : {}),
      ...(this.connectMs !== undefined ? { connect_ms: this.connectMs } : {}),
      ...(this.connectPhases ? { connect_phases: this.connectPhases } : {}),
    };
  }

  /** Want the connection up: connect now (or keep the restart loop going). */
  start(): Promise<void> {
    this.wanted = true;
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'disabled') this.state = 'disconnected';
    if (!this.opening) this.downSince = performance.now();
    clearTimeout(this.retryTimer);
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** Resolves when connected, or after `ms` (whichever first). */
  whenUp(ms: number): Promise<boolean> {
    if (this.state === 'connected') return Promise.resolve(true);
    if (!this.wanted || this.state === 'needs_login') return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.waiters.push((up) => {
        clearTimeout(t);
        resolve(up);
      });
    });
  }

  private transport(): Transport {
    const c = this.config;
    if (c.transport === 'stdio') {
      const { env, dropped } = childEnv(c, this.global.env_denylist, this.env);
      if (dropped.length) this.log.warn({ server: this.name, dropped }, `mcp ${this.name}: not passing ${dropped.join(', ')} to the server (mcp env denylist)`);
      const t = new StdioClientTransport({ command: c.command!, args: c.args ?? [], env, ...(c.cwd ? { cwd: c.cwd } : {}), stderr: 'pipe', maxBufferSize: this.global.max_message_bytes });
      const err = t.stderr;
      if (err) {
        let buf = '';
        err.on('data', (d: Buffer) => {
          buf += d.toString('utf8');
          if (buf.length > 64 * 1024) buf = buf.slice(-64 * 1024);
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            this.stderrLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
      }
      return t;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.headers ?? {})) headers[k] = interpolate(v, this.env);
    if (c.bearer_token_env) {
      const tok = this.env[c.bearer_token_env];
      if (!tok) throw new McpFailure('connect_failed', `mcp ${this.name}: ${c.bearer_token_env} (bearer_token_env) is not set in the service's environment`);
      headers.Authorization = `Bearer ${tok}`;
    }
    const url = new URL(c.url!);
    const authProvider = this.oauth ? { authProvider: this.oauth } : {};
    if (this.transportKind === 'sse') return new SSEClientTransport(url, { requestInit: { headers }, ...authProvider });
    // The SDK sets `Accept: application/json, text/event-stream` itself; reconnection of the GET stream is ours.
    return new StreamableHTTPClientTransport(url, { requestInit: { headers }, ...authProvider, reconnectionOptions: { maxReconnectionDelay: 30_000, initialReconnectionDelay: 1_000, reconnectionDelayGrowFactor: 1.5, maxRetries: 2 } });
  }

  private stderrLine(line: string): void {
    const now = Date.now();
    if (now - this.stderrWindow > STDERR_WINDOW_MS) {
      if (this.stderrDropped) this.log.warn({ server: this.name }, `mcp ${this.name}: ${this.stderrDropped} stderr lines not logged (flood)`);
      this.stderrWindow = now;
      this.stderrCount = 0;
      this.stderrDropped = 0;
    }
    if (++this.stderrCount > STDERR_LINES) {
      this.stderrDropped++;
      return;
    }
    this.log.info({ server: this.name, stderr: line.slice(0, 2000) }, `mcp ${this.name} stderr: ${line.slice(0, 200)}`);
  }

  private newClient(gen: number): Client {
    // HTTP+SSE is a 2025-era transport: no 2026-07-28 probe on it.
    const p = this.transportKind === 'sse' ? 'legacy' : this.config.protocol ?? 'auto';
    const mode = p === 'auto' || p === 'legacy' ? p : { pin: p };
    const client = new Client(CLIENT_INFO, {
      capabilities: {},
      versionNegotiation: { mode, probe: { timeoutMs: Math.min(5_000, this.global.connect_timeout_ms) } },
      listMaxPages: 64,
      listChanged: {
        tools: {
          debounceMs: 100,
          onChanged: (err, tools) => {
            if (gen !== this.generation) return;
            if (err) {
              this.log.warn({ server: this.name, err: err.message }, `mcp ${this.name}: re-reading the tool list failed`);
              return;
            }
            if (tools) this.setTools(tools, true);
          },
        },
      },
    });
    // Only an established connection is "lost"; a close during open() is that attempt's failure (its catch).
    client.onclose = () => {
      if (gen === this.generation && this.client === client && this.state === 'connected') this.lost('the connection closed (the server exited or dropped it)');
    };
    let errors = 0;
    let errorWindow = 0;
    client.onerror = (e: Error) => {
      const now = Date.now();
      if (now - errorWindow > STDERR_WINDOW_MS) {
        errorWindow = now;
        errors = 0;
      }
      const msg = e.message.replace(/\s+/g, ' ').slice(0, 300);
      if (++errors <= 10) this.log.warn({ server: this.name, err: msg }, `mcp ${this.name}: ${msg}`);
    };
    return client;
  }

  /** The list a restarted server really offers, read after it was marked connected. */
  private async relistTools(client: Client, gen: number): Promise<void> {
    try {
      const t0 = performance.now();
      const { tools } = await client.listTools(undefined, { timeout: this.global.connect_timeout_ms });
      if (gen !== this.generation) return;
      if (this.connectPhases) this.connectPhases.tools_ms = Math.round((performance.now() - t0) * 10) / 10;
      this.setTools(tools, JSON.stringify(tools) !== JSON.stringify(this.tools));
    } catch (e) {
      if (gen !== this.generation) return;
      this.log.warn({ server: this.name, err: (e as Error).message }, `mcp ${this.name}: re-reading the tool list after a restart failed; keeping the previous one`);
    }
  }

  private setTools(tools: Tool[], changed: boolean): void {
    this.tools = tools;
    this.hooks.tools(tools);
    if (changed) this.hooks.event({ event: 'tools_changed', state: this.state, tools: tools.length });
  }

  private async open(): Promise<void> {
    if (!this.wanted) return;
    const gen = ++this.generation;
    this.state = this.restarts > 0 || this.attempt > 0 ? 'reconnecting' : 'connecting';
    const t0 = performance.now();
    let client: Client | undefined;
    try {
      const problem = configProblem(this.name, this.config);
      if (problem) throw new McpFailure('invalid_config', problem);
      if (this.oauth) await this.authorize();
      client = this.newClient(gen);
      this.client = client;
      let transport = this.transport();
      const tConnect = performance.now();
      try {
        await client.connect(transport, { timeout: this.global.connect_timeout_ms, ...(this.era ? { prior: this.era } : {}) });
      } catch (e) {
        if (this.oauth && isAuthFailure(e) && !(e instanceof UnauthorizedError)) {
          // The version probe answers 401 without running the OAuth flow: refresh (or learn a login
          // is needed) ourselves, then connect once more.
          client.onclose = undefined;
          await client.close().catch(() => undefined);
          await this.authorize(true);
          client = this.newClient(gen);
          this.client = client;
          transport = this.transport();
          await client.connect(transport, { timeout: this.global.connect_timeout_ms, ...(this.era ? { prior: this.era } : {}) });
        } else {
        // An older server without Streamable HTTP answers its POST with 4xx: try HTTP+SSE once.
        const status = (e as { code?: unknown; status?: unknown }).status ?? (e as { code?: unknown }).code;
        if (this.transportKind === 'streamable-http' && (status === 404 || status === 405 || /\b40[45]\b/.test(String((e as Error).message)))) {
          client.onclose = undefined; // this client's close is not the connection's loss
          await client.close().catch(() => undefined);
          this.transportKind = 'sse';
          client = this.newClient(gen);
          this.client = client;
          transport = this.transport();
          await client.connect(transport, { timeout: this.global.connect_timeout_ms });
        } else throw e;
        }
      }
      if (gen !== this.generation) {
        await client.close().catch(() => undefined);
        return;
      }
      // Liveness counts any message from the server: a flood can delay a ping's answer behind
      // thousands of queued notifications without the server being hung.
      const deliver = transport.onmessage;
      if (deliver) {
        transport.onmessage = (...a: Parameters<typeof deliver>) => {
          this.lastTraffic = Date.now();
          deliver(...a);
        };
      }
      if (transport instanceof StdioClientTransport) coalesceStdinWrites(transport);
      if (transport instanceof StdioClientTransport && transport.pid) {
        this.pid = transport.pid;
        this.pids.add(this.name, transport.pid, this.config.command!);
      }
      // Remember the era: a restart then skips the probe (one spawn, not two, on stdio).
      const version = client.getNegotiatedProtocolVersion();
      if (version && version < '2026-07-28') this.era = { kind: 'legacy' };
      const caps = client.getServerCapabilities();
      const tHandshake = performance.now();
      // A restart of the same server (same connection, same command) serves the tools it listed
      // before at once and re-reads the list beside the first calls: a crash then costs the
      // server's own start, not start + a listing. A changed list is applied (tools_changed) when
      // it arrives; a call to a tool the new process lacks gets the server's own error meanwhile.
      const relist = caps?.tools && this.restarts > 0 && this.tools.length > 0;
      const tools = !caps?.tools ? [] : relist ? this.tools : (await client.listTools(undefined, { timeout: this.global.connect_timeout_ms })).tools;
      if (gen !== this.generation) return;
      this.setTools(tools, false);
      if (relist) void this.relistTools(client, gen);
      const tUp = performance.now();
      this.connectMs = tUp - t0;
      const r1 = (x: number) => Math.round(x * 10) / 10;
      this.connectPhases = { backoff_ms: r1(Math.max(0, t0 - this.downSince)), setup_ms: r1(tConnect - t0), handshake_ms: r1(tHandshake - tConnect), tools_ms: r1(tUp - tHandshake) };
      this.state = 'connected';
      this.upSince = Date.now();
      this.lastError = undefined;
      this.log.info({ server: this.name, protocol: version, tools: tools.length, ms: Math.round(this.connectMs) }, `mcp ${this.name}: connected (${this.transportKind}, protocol ${version}, ${tools.length} tools, ${Math.round(this.connectMs)} ms)`);
      this.hooks.event({ event: 'connected', state: 'connected', tools: tools.length });
      this.schedulePing(gen);
      for (const w of this.waiters.splice(0)) w(true);
    } catch (e) {
      if (gen !== this.generation) return;
      if (this.oauth && (isAuthFailure(e) || (e instanceof McpFailure && e.code === 'auth_required'))) {
        const c = client;
        this.client = undefined;
        if (c) c.onclose = undefined;
        await c?.close().catch(() => undefined);
        this.needsLogin(e instanceof McpFailure ? e.message : undefined);
        return;
      }
      const msg = e instanceof McpFailure ? e.message : `mcp ${this.name}: connect failed: ${(e as Error).message.replace(/\s+/g, ' ')}`;
      this.lastError = msg.slice(0, 1000);
      this.log.warn({ server: this.name, err: this.lastError }, this.lastError);
      this.hooks.event({ event: 'error', state: 'reconnecting', message: this.lastError });
      const c = client;
      this.client = undefined;
      if (c) c.onclose = undefined;
      await c?.close().catch(() => undefined);
      // Callers waiting for the first connect hear now that it failed (server_unavailable with the reason).
      for (const w of this.waiters.splice(0)) w(false);
      this.forgetPid();
      if (e instanceof McpFailure && e.code === 'invalid_config') {
        // A malformed entry never gets better by retrying.
        this.state = 'disconnected';
        this.wanted = false;
        return;
      }
      this.scheduleRetry();
    }
  }

  /**
   * Make sure the stored token is usable before a connect: refresh it when it expired (or, with
   * `force`, when the server refused it). Throws auth_required when only a new login can help.
   */
  private async authorize(force = false): Promise<void> {
    const o = this.oauth!;
    if (!o.hasTokens()) throw new McpFailure('auth_required', this.loginMessage('no OAuth login stored'));
    if (!force && !o.expired()) return;
    let r: string;
    try {
      o.authorizationUrl = undefined;
      r = await auth(o, { serverUrl: this.config.url!, fetchFn: oauthFetch, ...(this.config.oauth?.scope ? { scope: this.config.oauth.scope } : {}) });
    } catch (e) {
      throw new McpFailure('auth_required', this.loginMessage(`refreshing the token failed: ${(e as Error).message}`));
    }
    if (r !== 'AUTHORIZED') throw new McpFailure('auth_required', this.loginMessage('the token was refused and could not be refreshed (revoked or expired)'));
  }

  loginMessage(reason: string): string {
    const at = this.oauth?.issuer() ? ` at ${this.oauth.issuer()}` : '';
    return `mcp server '${this.name}' needs an OAuth login${at} (${reason}): run \`rustyclaw mcp login ${this.name}\``;
  }

  /** Only a new `mcp login` can help: stop retrying; calls fail with auth_required until then. */
  needsLogin(message = this.loginMessage('the token was refused and could not be refreshed (revoked or expired)')): void {
    ++this.generation;
    clearTimeout(this.pingTimer);
    clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = undefined;
    if (c) c.onclose = undefined;
    void c?.close().catch(() => undefined);
    this.state = 'needs_login';
    this.lastError = message;
    this.log.warn({ server: this.name }, message);
    this.hooks.event({ event: 'error', state: 'needs_login', message });
    for (const w of this.waiters.splice(0)) w(false);
  }

  /** After a login: connect again with the new token. */
  async reconnect(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private forgetPid(): void {
    if (this.pid) this.pids.remove(this.name);
    this.pid = undefined;
  }

  private schedulePing(gen: number): void {
    clearTimeout(this.pingTimer);
    const every = this.global.ping_interval_ms;
    if (!every) return;
    this.pingTimer = setTimeout(() => void this.pingOnce(gen), every);
    this.pingTimer.unref?.();
  }

  /** A server that does not answer a ping is hung: it is restarted (its calls fail as crashed). */
  async pingOnce(gen = this.generation): Promise<boolean> {
    const client = this.client;
    if (!client || gen !== this.generation || this.state !== 'connected') return false;
    try {
      await client.ping({ timeout: this.global.ping_timeout_ms });
      if (gen === this.generation) this.schedulePing(gen);
      return true;
    } catch (e) {
      if (gen !== this.generation) return false;
      if (Date.now() - this.lastTraffic < this.global.ping_timeout_ms) {
        this.schedulePing(gen); // busy, not hung: messages are still arriving
        return true;
      }
      // A hung child would not react to the SDK's polite close (stdin end, then SIGTERM after 2 s).
      if (this.pid) {
        try {
          process.kill(this.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      this.lost(`no answer to ping within ${this.global.ping_timeout_ms} ms (${(e as Error).message}); restarting it`);
      return false;
    }
  }

  /** The connection is gone (exit, crash, hang): fail its calls, mark tools unavailable, restart. */
  private lost(reason: string): void {
    if (this.state !== 'connected' && this.state !== 'connecting' && this.state !== 'reconnecting') return;
    const wasUp = this.state === 'connected';
    this.downSince = performance.now();
    ++this.generation;
    clearTimeout(this.pingTimer);
    this.lastError = `mcp ${this.name}: ${reason}`;
    this.log.warn({ server: this.name, reason }, this.lastError);
    const c = this.client;
    this.client = undefined;
    // Closing rejects every request still pending on it (SdkError ConnectionClosed → server_crashed).
    void c?.close().catch(() => undefined);
    this.forgetPid();
    this.state = this.wanted ? 'reconnecting' : 'disconnected';
    this.hooks.event({ event: 'disconnected', state: this.state, message: this.lastError });
    if (wasUp && Date.now() - this.upSince >= STABLE_MS) this.attempt = 0;
    if (this.wanted) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (!this.wanted) return;
    this.state = 'reconnecting';
    const { initial_ms, max_ms } = this.global.reconnect;
    // First retry at once (a crash is usually a one-off); then exponential with jitter.
    const base = this.attempt === 0 ? 0 : Math.min(max_ms, initial_ms * 2 ** (this.attempt - 1));
    const delay = base === 0 ? 0 : Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt++;
    this.restarts++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.opening ??= this.open().finally(() => (this.opening = undefined));
    }, delay);
  }

  /** Close the connection (the stdio child is killed with it) and stop restarting. */
  async stop(state: State = 'disconnected'): Promise<void> {
    this.wanted = false;
    ++this.generation;
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    const c = this.client;
    this.client = undefined;
    this.state = state;
    await c?.close().catch(() => undefined);
    this.forgetPid();
    for (const w of this.waiters.splice(0)) w(false);
    this.hooks.event({ event: 'disconnected', state });
  }
}
