/**
 * The MCP client side of RustyClaw: the connections by name, the lookup table of qualified tool
 * names, argument validation against each tool's input schema, and the safety pass over what a
 * tool returns. Calls never throw: every failure is a reply with an mcpErrors code.
 */
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ProtocolError, SdkError, SdkErrorCode, UnauthorizedError, type Tool } from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import { SAFETY_ACTOR } from '../../protocol/safety.js';
import type { BuiltinMessages, TypedAsk } from '../../protocol/index.js';
import type { McpCallReply, McpCallRequest, McpConfig, McpServerConfig, McpServerStatus, McpToolInfo, McpProgress } from '../../protocol/mcp.js';
import { McpConnection, isAuthFailure, type ConnectionHooks } from './connection.js';
import { OAuthStore, loadKey } from './oauth-store.js';
import { StoredOAuthProvider, redirectUri } from './oauth-provider.js';
import { contentText } from './content.js';
import { McpFailure } from './failure.js';
import { SERVER_NAME_PATTERN, ToolTable } from './names.js';
import { PidFile } from './pid-file.js';

export interface McpServiceOptions {
  config: McpConfig;
  dataDir: string;
  log: Logger;
  ask?: TypedAsk<BuiltinMessages>;
  publishEvent(e: { server: string; event: 'connected' | 'disconnected' | 'tools_changed' | 'error'; state?: McpServerStatus['state']; tools?: number; message?: string }): void;
  publishProgress(p: McpProgress): void;
  env?: NodeJS.ProcessEnv;
}

const ajv7 = new Ajv({ strict: false, allErrors: false, validateFormats: false });
const ajv2020 = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
/** Compiled input validators per tool definition (a new list brings new objects). */
const validators = new WeakMap<Tool, ValidateFunction | null>();

function validator(tool: Tool, log: Logger, server: string): ValidateFunction | null {
  let v = validators.get(tool);
  if (v !== undefined) return v;
  try {
    const schema = tool.inputSchema as Record<string, unknown>;
    const { $schema, ...rest } = schema;
    v = String($schema ?? '').includes('2020-12') ? ajv2020.compile(rest) : ajv7.compile(rest);
  } catch (e) {
    // A schema ajv cannot compile is left to the server to enforce.
    log.warn({ server, tool: tool.name, err: (e as Error).message }, `mcp ${server}: the input schema of ${tool.name} does not compile; arguments are passed unchecked`);
    v = null;
  }
  validators.set(tool, v);
  return v;
}

export class McpService {
  readonly connections = new Map<string, McpConnection>();
  readonly table = new ToolTable();
  private readonly calls = new Map<string, AbortController>();
  private readonly pids: PidFile;
  private oauthStore?: OAuthStore;

  constructor(private readonly o: McpServiceOptions) {
    this.pids = new PidFile(path.join(o.dataDir, 'run', 'mcp-pids.json'));
  }

  /** The encrypted token store, opened on first use (a bad key fails the OAuth servers only, naming the key's source). */
  store(): OAuthStore {
    if (this.oauthStore) return this.oauthStore;
    const k = this.o.config.oauth;
    let key;
    try {
      key = loadKey(k.key_env, k.key_file || path.join(this.o.dataDir, 'keys', 'mcp-oauth.key'), this.o.env ?? process.env).key;
    } catch (e) {
      throw new McpFailure('invalid_config', `mcp.oauth: ${(e as Error).message}`);
    }
    this.oauthStore = new OAuthStore(path.join(this.o.dataDir, 'mcp', 'oauth'), key, (name, why) => this.o.log.warn({ server: name }, `mcp ${name}: ${why}; a new \`rustyclaw mcp login ${name}\` is needed`));
    return this.oauthStore;
  }

  /** An OAuth provider for server `name` over the store (`login` mode for `mcp login`). */
  oauthProvider(name: string, server: McpServerConfig, mode: 'service' | 'login'): StoredOAuthProvider {
    if (server.transport !== 'http' || !server.url) throw new McpFailure('invalid_config', `mcp.servers.${name}.oauth: OAuth is for transport http servers`);
    return new StoredOAuthProvider(name, server, this.store(), redirectUri(this.o.config.oauth.redirect_port), mode, this.o.env ?? process.env);
  }

  start(): void {
    this.pids.reap((m) => this.o.log.warn(m));
    for (const [name, server] of Object.entries(this.o.config.servers)) this.add(name, server);
  }

  add(name: string, server: McpServerConfig): McpConnection {
    if (!SERVER_NAME_PATTERN.test(name)) throw new McpFailure('invalid_config', `mcp.servers.${name}: a server name is 1-32 of A-Z a-z 0-9 _ - (it prefixes its tools' names)`);
    if (this.connections.has(name)) throw new McpFailure('invalid_config', `mcp.servers.${name}: a server of that name exists (remove it first)`);
    const hooks: ConnectionHooks = {
      event: (e) => this.o.publishEvent({ server: name, ...e }),
      tools: (tools) => void this.table.set(name, tools.map((t) => t.name)),
    };
    let oauth: StoredOAuthProvider | undefined;
    let problem: string | undefined;
    if (server.oauth) {
      try {
        oauth = this.oauthProvider(name, server, 'service');
      } catch (e) {
        problem = (e as Error).message;
      }
    }
    const c = new McpConnection(name, server, this.o.config, this.o.log, hooks, this.pids, this.o.env ?? process.env, oauth);
    if (problem) {
      c.lastError = problem;
      this.connections.set(name, c);
      return c;
    }
    this.connections.set(name, c);
    if (server.enabled !== false) void c.start();
    return c;
  }

  async remove(name: string): Promise<boolean> {
    const c = this.connections.get(name);
    if (!c) return false;
    await c.stop();
    this.connections.delete(name);
    this.table.drop(name);
    return true;
  }

  get(name: string): McpConnection {
    const c = this.connections.get(name);
    if (!c) throw new McpFailure('unknown_server', `no MCP server '${name}' (configured: ${[...this.connections.keys()].join(', ') || 'none'})`);
    return c;
  }

  /** Wait (bounded) for servers still on their first connect, so a listing right after start is not all "connecting". */
  async settled(ms: number, name?: string): Promise<void> {
    const conns = name ? [this.get(name)] : [...this.connections.values()];
    await Promise.all(conns.filter((c) => c.state === 'connecting').map((c) => c.whenUp(ms)));
  }

  list(): McpServerStatus[] {
    return [...this.connections.values()].map((c) => c.status());
  }

  tools(name?: string, availableOnly = false): McpToolInfo[] {
    const conns = name ? [this.get(name)] : [...this.connections.values()];
    const out: McpToolInfo[] = [];
    for (const c of conns) {
      const available = c.state === 'connected';
      if (availableOnly && !available) continue;
      for (const t of c.tools) {
        const qualified = this.table.qualified(c.name, t.name);
        if (!qualified) continue;
        out.push({
          server: c.name, name: t.name, qualified, description: t.description ?? t.title ?? '',
          inputSchema: t.inputSchema as Record<string, unknown>,
          ...(t.outputSchema ? { outputSchema: t.outputSchema as Record<string, unknown> } : {}),
          available,
        });
      }
    }
    return out;
  }

  cancel(callId: string): boolean {
    const ac = this.calls.get(callId);
    if (!ac) return false;
    ac.abort(new McpFailure('cancelled', 'cancelled by the caller'));
    return true;
  }

  /** A connected client for `c`; a server still starting for the first time is waited for. */
  private async ready(c: McpConnection, waitMs: number) {
    if (c.state === 'connecting') await c.whenUp(waitMs);
    if (c.state === 'needs_login') throw new McpFailure('auth_required', c.lastError ?? c.loginMessage('no OAuth login stored'));
    if (c.state !== 'connected' || !c.client) {
      const why = c.lastError ? ` (last error: ${c.lastError})` : '';
      throw new McpFailure('server_unavailable', `mcp server '${c.name}' is ${c.state}${why}`);
    }
    return c.client;
  }

  async call(p: McpCallRequest): Promise<McpCallReply> {
    const t0 = performance.now();
    let server = p.server ?? '';
    let tool = p.tool;
    const fail = (code: string, message: string): McpCallReply => ({ ok: false, server, tool, content: `error: ${code}: ${message}`, code, message, ms: performance.now() - t0 });
    try {
      if (!p.server) {
        const r = this.table.route(p.tool);
        if (!r) throw new McpFailure('unknown_tool', `no MCP tool '${p.tool}' (qualified names: ${this.tools().map((t) => t.qualified).slice(0, 20).join(', ') || 'none'})`);
        server = r.server;
        tool = r.tool;
      }
      const c = this.get(server);
      const timeout = p.timeout_ms ?? c.config.timeout_ms ?? this.o.config.call_timeout_ms;
      const client = await this.ready(c, Math.min(timeout, this.o.config.connect_timeout_ms));
      const def = c.tools.find((t) => t.name === tool);
      if (!def) throw new McpFailure('unknown_tool', `mcp server '${server}' has no tool '${tool}' (it lists: ${c.tools.map((t) => t.name).join(', ') || 'none'})`);
      const args = p.args ?? {};
      if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new McpFailure('invalid_arguments', `${server}/${tool}: the arguments must be a JSON object`);
      const v = validator(def, this.o.log, server);
      if (v && !v(args)) {
        const e = v.errors?.[0];
        throw new McpFailure('invalid_arguments', `${server}/${tool}: ${e ? `${e.instancePath || '/'} ${e.message ?? ''}`.trim() : 'invalid'} (input schema of the tool)`);
      }
      // Only a call with an id can be cancelled (mcp.cancel): the others skip the controller.
      const ac = p.call_id ? new AbortController() : undefined;
      if (p.call_id && ac) this.calls.set(p.call_id, ac);
      c.inFlight++;
      let result;
      try {
        result = await client.callTool({ name: tool, arguments: args as Record<string, unknown> }, {
          timeout, maxTotalTimeout: timeout, ...(ac ? { signal: ac.signal } : {}),
          ...(p.call_id ? { onprogress: (pr: { progress: number; total?: number; message?: string }) => this.o.publishProgress({ call_id: p.call_id!, server, tool, progress: pr.progress, ...(pr.total !== undefined ? { total: pr.total } : {}), ...(pr.message ? { message: pr.message } : {}) }) } : {}),
        });
      } catch (e) {
        throw this.classify(e, c, server, tool, timeout, ac?.signal);
      } finally {
        c.inFlight--;
        if (p.call_id) this.calls.delete(p.call_id);
      }
      const text = contentText(result.content);
      const checked = await this.safetyPass(text, result.structuredContent, p.agent);
      if (checked.blocked) return fail('blocked_by_safety', `${server}/${tool}: ${checked.blocked}`);
      const base = { server, tool, content: checked.text, ...(checked.structured !== undefined ? { structuredContent: checked.structured } : {}), ms: performance.now() - t0 };
      if (result.isError) return { ok: false, ...base, code: 'tool_error', message: `${server}/${tool} reported an error: ${checked.text.slice(0, 500)}` };
      return { ok: true, ...base };
    } catch (e) {
      if (e instanceof McpFailure) return fail(e.code, e.message);
      this.o.log.error({ err: e, server, tool }, `mcp ${server}/${tool}: unexpected failure`);
      return fail('protocol_error', `${server}/${tool}: ${(e as Error).message}`);
    }
  }

  /** SDK and transport errors → one mcp code each, the message naming server and tool. */
  private classify(e: unknown, c: McpConnection, server: string, tool: string, timeout: number, signal?: AbortSignal): McpFailure {
    const where = `${server}/${tool}`;
    if (signal?.aborted) return new McpFailure('cancelled', `${where}: cancelled by the caller`);
    if (c.oauth && (e instanceof UnauthorizedError || isAuthFailure(e))) {
      // The SDK already tried a refresh on the 401: only a new login helps now.
      const message = c.loginMessage('the token was refused and could not be refreshed (revoked or expired)');
      c.needsLogin(message);
      return new McpFailure('auth_required', `${where}: ${message}`);
    }
    if (e instanceof SdkError) {
      if (e.code === SdkErrorCode.RequestTimeout) {
        // Silence may be a hung server: a ping tells; no answer restarts it.
        void c.pingOnce();
        return new McpFailure('timeout', `${where}: no answer within ${timeout} ms (cancelled on the server)`);
      }
      if (e.code === SdkErrorCode.ConnectionClosed || e.code === SdkErrorCode.NotConnected || e.code === SdkErrorCode.SendFailed) {
        return new McpFailure('server_crashed', `${where}: the server's connection closed during the call (${e.message}); it is being restarted`);
      }
      return new McpFailure('protocol_error', `${where}: ${e.message}`);
    }
    if (e instanceof ProtocolError) {
      if (/output schema|structured content/i.test(e.message)) return new McpFailure('output_schema_violation', `${where}: ${e.message}`);
      return new McpFailure('protocol_error', `${where}: the server answered with JSON-RPC error ${e.code}: ${e.message}`);
    }
    if (c.state !== 'connected') return new McpFailure('server_crashed', `${where}: the connection was lost during the call (${(e as Error).message})`);
    return new McpFailure('protocol_error', `${where}: ${(e as Error).message}`);
  }

  /** Injection scan (untrusted tool output) and leak redaction; fails closed when safety cannot answer. */
  async safetyPass(text: string, structured: unknown, agent?: string): Promise<{ text: string; structured?: unknown; blocked?: string }> {
    const ask = this.o.ask;
    if (!ask) return { text, structured };
    const scope = agent ? { agent } : {};
    const json = structured === undefined ? '' : JSON.stringify(structured);
    try {
      const scanned = text || json;
      // One ask: the scan of the text, its redaction, and the redaction of the structured JSON.
      const g = scanned ? await ask(SAFETY_ACTOR, 'safety.guard_tool_output', { text: scanned, source: 'tool', ...(text && json ? { also_redact: [json] } : {}), ...scope }, { timeoutMs: 10_000 }) : undefined;
      const inspected = g?.inspected;
      const red = text ? g?.redacted : undefined;
      const redJson = json ? (text ? g?.also_redacted[0] : g?.redacted) : undefined;
      if (inspected?.action === 'block') {
        const rules = [...new Set(inspected.findings.map((f) => f.rule))].join(', ');
        return { text: '', blocked: `the output was withheld by the safety layer (${rules || `injection score ${inspected.injection.score}`})` };
      }
      let out: unknown = structured;
      if (redJson && redJson.text !== json) {
        try {
          out = JSON.parse(redJson.text);
        } catch {
          out = undefined; // redaction broke the JSON: the model keeps the redacted text only
        }
      }
      return { text: red?.text ?? text, structured: out };
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'error';
      return { text: '', blocked: `the safety layer could not check the output (${code}: ${(e as Error).message})` };
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.stop()));
    await this.oauthStore?.close();
  }
}
