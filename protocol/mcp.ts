/**
 * Messages of `system/mcp` (Model Context Protocol client: one supervised connection per
 * configured server), the `mcp:` config section and the error codes. Version 1. See docs/mcp.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { errorsOf, messagesOf, topicsOf } from './define.js';

export const MCP_PROTOCOL_VERSION = 1;
export const MCP_ACTOR = 'system/mcp';
/** Connection state changes and tool-list changes (`{server, event, ...}`). */
export const MCP_EVENTS_TOPIC = 'mcp/events';
/** Progress notifications of calls in flight (`{call_id, server, tool, progress, total?, message?}`). */
export const MCP_PROGRESS_TOPIC = 'mcp/progress';

/** Every way an MCP call or connection fails, one code per cause (a reply's `code`). */
export const mcpErrors = errorsOf({
  unknown_server: 'no server of that name is configured (mcp.servers)',
  unknown_tool: 'the server lists no tool of that name (or the qualified name is not in the lookup table)',
  server_unavailable: "the server is not connected (starting, reconnecting, disconnected or failed); its tools are not callable until it is back",
  server_crashed: 'the connection closed while the call was in flight (the server exited, crashed or was killed); it is being restarted',
  timeout: 'the server did not answer within the call timeout (the call was cancelled on the server)',
  cancelled: 'the call was cancelled by its caller (an agent turn cancelled, a client gone)',
  invalid_arguments: "the arguments do not match the tool's input schema (checked before the call)",
  tool_error: 'the tool ran and reported an error (isError)',
  output_schema_violation: "the tool's structuredContent does not match the outputSchema it declared",
  protocol_error: 'the server answered with a JSON-RPC error or something that is not a valid MCP result',
  blocked_by_safety: 'the output was withheld by the safety layer (injection verdict block, or safety could not check it)',
  invalid_config: 'the server entry is malformed (the message names the field)',
  connect_failed: 'the server could not be started or reached, or the handshake failed',
  auth_required: 'the server needs an OAuth login (none stored, or the token was revoked or expired and refreshing it failed): `rustyclaw mcp login NAME`',
  login_failed: 'an OAuth login did not complete (the authorization server refused it, the state did not match, or no login was started)',
});
export type McpErrorCode = keyof typeof mcpErrors;

/** Variables never passed to a stdio server, whatever its `env` says (they change how the child runs code). */
export const DEFAULT_ENV_DENYLIST = [
  'NODE_OPTIONS', 'NODE_PATH', 'NODE_REPL_EXTERNAL_MODULE', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT',
  'DYLD_INSERT_LIBRARIES', 'DYLD_LIBRARY_PATH', 'PYTHONSTARTUP', 'PYTHONPATH', 'PERL5OPT', 'PERL5LIB',
  'RUBYOPT', 'BASH_ENV', 'ENV', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'GIT_SSH_COMMAND',
];

export const McpOAuthServerSchema = Type.Object({
  /** Scopes to ask for (default: what the server's WWW-Authenticate / resource metadata names). */
  scope: Type.Optional(Type.String({ minLength: 1 })),
  /** A pre-registered client id (default: dynamic client registration, RFC 7591). */
  client_id: Type.Optional(Type.String({ minLength: 1 })),
  /** The pre-registered client's secret, from this environment variable of the service. */
  client_secret_env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })),
}, { additionalProperties: false });

export const McpServerConfigSchema = Type.Object({
  /** `stdio`: a child process speaking JSON-RPC on stdin/stdout; `http`: Streamable HTTP (HTTP+SSE as fallback). */
  transport: Type.Union([Type.Literal('stdio'), Type.Literal('http')]),
  command: Type.Optional(Type.String({ minLength: 1, description: 'stdio: the executable' })),
  args: Type.Optional(Type.Array(Type.String())),
  env: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String(), { description: "stdio: added to a minimal environment (PATH, HOME, …); '${VAR}' takes the service's VAR" })),
  cwd: Type.Optional(Type.String({ minLength: 1, description: 'stdio: working directory of the child' })),
  url: Type.Optional(Type.String({ minLength: 1, description: 'http: the endpoint URL' })),
  headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: "http: extra request headers; '${VAR}' takes the service's VAR" })),
  /** Static bearer token from the service's environment (`Authorization: Bearer $VAR`). */
  bearer_token_env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })),
  /** `auto`: probe 2026-07-28 (`server/discover`), fall back to the 2025 `initialize`; `legacy`: 2025 only; or pin a revision. */
  protocol: Type.Optional(Type.String({ minLength: 1 })),
  enabled: Type.Optional(Type.Boolean()),
  /** Per-call timeout for this server (default mcp.call_timeout_ms). */
  timeout_ms: Type.Optional(Type.Integer({ minimum: 1 })),
  /** http: OAuth per the MCP authorization spec (`rustyclaw mcp login NAME`); `{}` = discover everything. */
  oauth: Type.Optional(McpOAuthServerSchema),
}, { additionalProperties: false });
export type McpServerConfig = Static<typeof McpServerConfigSchema>;

export const McpConfigSchema = Type.Object({
  /** One connection per entry, by name (`^[A-Za-z0-9_-]{1,32}$`; it prefixes the tool names agents see). */
  servers: Type.Record(Type.String(), McpServerConfigSchema, { default: {} }),
  call_timeout_ms: Type.Integer({ default: 60_000, minimum: 1 }),
  connect_timeout_ms: Type.Integer({ default: 30_000, minimum: 1 }),
  /** A connected server is pinged this often; no answer within ping_timeout_ms restarts it (a hung server). 0 = off. */
  ping_interval_ms: Type.Integer({ default: 15_000, minimum: 0 }),
  ping_timeout_ms: Type.Integer({ default: 5_000, minimum: 1 }),
  reconnect: Type.Object({
    initial_ms: Type.Integer({ default: 250, minimum: 0 }),
    max_ms: Type.Integer({ default: 30_000, minimum: 0 }),
  }, { additionalProperties: false, default: {} }),
  /** Added to the built-in denylist (DEFAULT_ENV_DENYLIST) of variables a stdio server never gets. */
  env_denylist: Type.Array(Type.String(), { default: [] }),
  /** Largest single JSON-RPC message read from a stdio server. */
  max_message_bytes: Type.Integer({ default: 10 * 1024 * 1024, minimum: 1024 }),
  registry: Type.Object({
    base_url: Type.String({ default: 'https://registry.modelcontextprotocol.io' }),
    /** npm registry holding the packages `mcp add` checks against a declared fileSha256 (the one npx installs from). */
    npm_url: Type.String({ default: 'https://registry.npmjs.org' }),
  }, { additionalProperties: false, default: {} }),
  oauth: Type.Object({
    /** `rustyclaw mcp login` listens on http://127.0.0.1:<port>/callback (the redirect URI registered with the authorization server). */
    redirect_port: Type.Integer({ default: 33418, minimum: 1, maximum: 65535 }),
    /** The token store's key (32 bytes, hex or base64) from this environment variable; else key_file. */
    key_env: Type.String({ default: 'RUSTYCLAW_MCP_KEY' }),
    /** Key file ('' = <data_dir>/keys/mcp-oauth.key, created 0600 on first use). */
    key_file: Type.String({ default: '' }),
    /** How long `mcp login` waits for the browser's redirect. */
    login_timeout_ms: Type.Integer({ default: 300_000, minimum: 1 }),
  }, { additionalProperties: false, default: {} }),
  serve: Type.Object({
    /** Offer `memory_search` to MCP hosts (`rustyclaw mcp serve`, the gateway's POST /mcp). */
    memory: Type.Boolean({ default: true }),
    /** Agents offered as `ask_<agent>` (empty = every configured agent). */
    agents: Type.Array(Type.String(), { default: [] }),
  }, { additionalProperties: false, default: {} }),
}, { additionalProperties: false });
export type McpConfig = Static<typeof McpConfigSchema>;

export const McpServerState = Type.Union([
  Type.Literal('connecting'), Type.Literal('connected'), Type.Literal('reconnecting'),
  Type.Literal('disconnected'), Type.Literal('disabled'), Type.Literal('needs_login'),
]);
export const McpServerStatusSchema = Type.Object({
  name: Type.String(),
  transport: Type.String({ description: 'stdio, streamable-http or sse (the one in use)' }),
  state: McpServerState,
  protocol_version: Type.Optional(Type.String()),
  server_info: Type.Optional(Type.Object({ name: Type.String(), version: Type.String() })),
  tools: Type.Integer({ description: 'tools listed by the server (0 while not connected)' }),
  restarts: Type.Integer(),
  in_flight: Type.Integer(),
  last_error: Type.Optional(Type.String()),
  pid: Type.Optional(Type.Integer()),
  connect_ms: Type.Optional(Type.Number({ description: 'time of the last successful connect' })),
  connect_phases: Type.Optional(Type.Object({
    backoff_ms: Type.Number({ description: 'from the loss of the connection (or the start) to this connect attempt: the backoff delay and timer lag' }),
    setup_ms: Type.Number({ description: 'config check, token check, client and transport creation' }),
    handshake_ms: Type.Number({ description: 'client.connect: spawn of a stdio server (its own start-up) and the version handshake' }),
    tools_ms: Type.Number({ description: 'the first tools/list; on a restart the re-read of the list, which runs after the server is marked connected (not part of the downtime)' }),
  }, { description: 'where the last successful connect spent its time' })),
});
export type McpServerStatus = Static<typeof McpServerStatusSchema>;

export const McpToolInfoSchema = Type.Object({
  server: Type.String(),
  name: Type.String({ description: "the server's own tool name" }),
  qualified: Type.String({ description: '<server>__<tool>, sanitised to ^[A-Za-z0-9_-]{1,64}$: the name agents see' }),
  description: Type.String(),
  inputSchema: Type.Record(Type.String(), Type.Unknown()),
  outputSchema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  available: Type.Boolean(),
});
export type McpToolInfo = Static<typeof McpToolInfoSchema>;

const ServerName = Type.String({ minLength: 1 });
export const McpCallRequest = Type.Object({
  /** With `server`, `tool` is the server's own name; without, `tool` is a qualified name looked up in the table. */
  server: Type.Optional(ServerName),
  tool: Type.String({ minLength: 1 }),
  args: Type.Optional(Type.Unknown({ description: 'the arguments object' })),
  timeout_ms: Type.Optional(Type.Integer({ minimum: 1 })),
  /** The calling agent (safety scope). */
  agent: Type.Optional(Type.String()),
  /** Caller-chosen id for `mcp.cancel` and progress events. */
  call_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});
export const McpCallReply = Type.Object({
  ok: Type.Boolean(),
  server: Type.String(),
  tool: Type.String(),
  /** Text for the model: text blocks joined, other blocks summarised (after the safety pass). */
  content: Type.String(),
  structuredContent: Type.Optional(Type.Unknown()),
  code: Type.Optional(Type.String({ description: 'an mcpErrors key when !ok' })),
  message: Type.Optional(Type.String()),
  ms: Type.Number(),
});
export type McpCallRequest = Static<typeof McpCallRequest>;
export type McpCallReply = Static<typeof McpCallReply>;

const Named = Type.Object({ name: ServerName });
export const McpServerReply = Type.Object({ server: McpServerStatusSchema });
export const McpResourceSchema = Type.Object({ uri: Type.String(), name: Type.String(), mimeType: Type.Optional(Type.String()), description: Type.Optional(Type.String()) });
export const McpResourceContentSchema = Type.Object({ uri: Type.String(), mimeType: Type.Optional(Type.String()), text: Type.Optional(Type.String()), blob_bytes: Type.Optional(Type.Integer()) });
export const McpPromptSchema = Type.Object({
  name: Type.String(), description: Type.Optional(Type.String()),
  arguments: Type.Array(Type.Object({ name: Type.String(), description: Type.Optional(Type.String()), required: Type.Optional(Type.Boolean()) })),
});

export const mcpMessages = messagesOf(MCP_ACTOR, {
  'mcp.list': { request: Type.Object({}), reply: Type.Object({ servers: Type.Array(McpServerStatusSchema) }) },
  'mcp.connect': { request: Named, reply: McpServerReply },
  'mcp.disconnect': { request: Named, reply: McpServerReply },
  'mcp.add_server': { request: Type.Object({ name: ServerName, server: McpServerConfigSchema }), reply: McpServerReply },
  'mcp.remove_server': { request: Named, reply: Type.Object({ removed: Type.Boolean() }) },
  'mcp.tools': {
    request: Type.Object({ name: Type.Optional(ServerName), available_only: Type.Optional(Type.Boolean()) }),
    reply: Type.Object({ tools: Type.Array(McpToolInfoSchema) }),
  },
  'mcp.call': { request: McpCallRequest, reply: McpCallReply },
  'mcp.cancel': { request: Type.Object({ call_id: Type.String({ minLength: 1 }) }), reply: Type.Object({ cancelled: Type.Boolean() }) },
  'mcp.resources': { request: Named, reply: Type.Object({ resources: Type.Array(McpResourceSchema) }) },
  'mcp.read_resource': { request: Type.Object({ name: ServerName, uri: Type.String({ minLength: 1 }), agent: Type.Optional(Type.String()) }), reply: Type.Object({ contents: Type.Array(McpResourceContentSchema) }) },
  'mcp.login_start': {
    request: Named,
    reply: Type.Object({ authorization_url: Type.String(), redirect_uri: Type.String(), state: Type.String() }),
  },
  'mcp.login_finish': {
    request: Type.Object({ name: ServerName, code: Type.String({ minLength: 1, maxLength: 4096 }), state: Type.String({ minLength: 1, maxLength: 512 }), iss: Type.Optional(Type.String({ maxLength: 2048 })) }),
    reply: Type.Object({ server: McpServerStatusSchema, issuer: Type.String() }),
  },
  'mcp.logout': { request: Named, reply: Type.Object({ removed: Type.Boolean() }) },
  'mcp.prompts': { request: Named, reply: Type.Object({ prompts: Type.Array(McpPromptSchema) }) },
  'mcp.get_prompt': {
    request: Type.Object({ name: ServerName, prompt: Type.String({ minLength: 1 }), args: Type.Optional(Type.Record(Type.String(), Type.String())), agent: Type.Optional(Type.String()) }),
    reply: Type.Object({ messages: Type.Array(Type.Object({ role: Type.String(), text: Type.String() })) }),
  },
});

export const McpEventSchema = Type.Object({
  server: Type.String(),
  event: Type.Union([Type.Literal('connected'), Type.Literal('disconnected'), Type.Literal('tools_changed'), Type.Literal('error')]),
  state: Type.Optional(McpServerState),
  tools: Type.Optional(Type.Integer()),
  message: Type.Optional(Type.String()),
});
export const McpProgressSchema = Type.Object({
  call_id: Type.String(),
  server: Type.String(),
  tool: Type.String(),
  progress: Type.Number(),
  total: Type.Optional(Type.Number()),
  message: Type.Optional(Type.String()),
});
export type McpProgress = Static<typeof McpProgressSchema>;
export const mcpTopics = topicsOf({ [MCP_EVENTS_TOPIC]: McpEventSchema, [MCP_PROGRESS_TOPIC]: McpProgressSchema });
