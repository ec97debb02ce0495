/**
 * Messages of `system/tool-runner` (sandboxed WASM tools), the tool manifest schema and the
 * `tools:` config section. Version 1. See docs/tools.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { messagesOf, topicsOf } from './define.js';

export const TOOL_RUNNER_PROTOCOL_VERSION = 1;
export const TOOL_RUNNER_ACTOR = 'system/tool-runner';
/** Topic on which the registry announces changes (`{event: 'added'|'removed', name}`). */
export const TOOL_REGISTRY_TOPIC = 'tools/registry';

/**
 * Every way a sandboxed call can fail, one code per cause (the reply's `code`). The limits each
 * have their own code so that callers (and models) can tell an endless loop from a memory bomb.
 */
export const TOOL_ERROR_CODES = {
  fuel_exhausted: 'the module used up its fuel (limits.fuel): an endless or too long computation',
  memory_limit: 'the module needed more memory than limits.memory_mb',
  timeout: 'the call ran longer than limits.timeout_ms; its runner thread was replaced',
  output_limit: 'the module wrote more than limits.output_bytes to stdout',
  trap: 'the module trapped (a WebAssembly runtime error); the message says which',
  tool_failed: 'the module exited with a non-zero status (its log says why)',
  hash_mismatch: 'the module or manifest bytes do not match their pinned BLAKE3 hash',
  invalid_arguments: "the arguments do not match the tool's parameters schema",
  invalid_manifest: 'the manifest is malformed (the message names the field)',
  invalid_module: 'the module is not WebAssembly, not a WASI command, or imports what the runner does not offer',
  invalid_output: 'the module wrote something that is not valid UTF-8 text',
  unknown_tool: 'no registered tool has that name',
  tool_exists: 'a different tool with that name is already registered',
  network_denied: 'a host function request to a host the manifest does not allow, or blocked by the SSRF guard',
  blocked_by_safety: 'the output was withheld by the safety layer',
  runner_unavailable: 'no runner thread could take the call',
} as const;
export type ToolErrorCode = keyof typeof TOOL_ERROR_CODES;

export const TOOL_NAME_PATTERN = '^[a-z0-9_-]{1,64}$';

export const ToolLimitsSchema = Type.Object({
  fuel: Type.Integer({ minimum: 1, maximum: 1e15, description: 'function entries + loop iterations the module may execute' }),
  memory_mb: Type.Number({ exclusiveMinimum: 0, maximum: 4096, description: 'linear memory cap in MiB (rounded down to 64 KiB pages)' }),
  timeout_ms: Type.Integer({ minimum: 1, maximum: 3_600_000 }),
  output_bytes: Type.Integer({ minimum: 1, maximum: 256 * 1024 * 1024 }),
}, { additionalProperties: false });
export type ToolLimits = Static<typeof ToolLimitsSchema>;

export const PreopenSchema = Type.Object({
  guest: Type.String({ pattern: '^/[^\\0]*$', description: 'absolute path the module sees' }),
  host: Type.String({ minLength: 1, description: "'workspace' or a subpath of it (workspace/notes)" }),
  mode: Type.Union([Type.Literal('ro'), Type.Literal('rw')], { default: 'ro' }),
}, { additionalProperties: false });

export const SecretSchema = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$', description: 'environment variable of the service holding the value' }),
  host: Type.String({ minLength: 1, description: 'the secret is added only to requests to exactly this host' }),
  header: Type.String({ pattern: '^[A-Za-z0-9-]{1,128}$' }),
  format: Type.String({ default: '{value}' }),
}, { additionalProperties: false });

export const ToolManifestSchema = Type.Object({
  name: Type.String({ pattern: TOOL_NAME_PATTERN }),
  description: Type.String({ minLength: 1, maxLength: 4000 }),
  module: Type.String({ minLength: 1, description: 'path of the .wasm file, relative to the manifest' }),
  blake3: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'hex BLAKE3 of the module bytes' }),
  parameters: Type.Record(Type.String(), Type.Unknown(), { default: { type: 'object', properties: {} } }),
  preopens: Type.Array(PreopenSchema, { default: [], maxItems: 16 }),
  network: Type.Object({ allow: Type.Array(Type.String({ minLength: 1 }), { default: [] }) }, { additionalProperties: false, default: { allow: [] } }),
  secrets: Type.Array(SecretSchema, { default: [], maxItems: 32 }),
  env: Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String(), { default: {} }),
  limits: Type.Partial(ToolLimitsSchema, { default: {} }),
}, { additionalProperties: false });
export type ToolManifest = Static<typeof ToolManifestSchema>;

export const ToolsConfigSchema = Type.Object({
  /** Registry folder ('' = <data_dir>/tools): every `<dir>/<name>/tool.yaml` is a registered tool. */
  dir: Type.String({ default: '' }),
  /** Register the tools shipped with RustyClaw (json, grep, files, http_fetch). */
  shipped: Type.Boolean({ default: true }),
  /** Runner threads (each runs one call at a time). */
  pool_size: Type.Integer({ default: 2, minimum: 1, maximum: 64 }),
  /** When the runner threads start: with the first call (default), or while the actor sets up. */
  runners_start: Type.Union([Type.Literal('on_demand'), Type.Literal('eager')], { default: 'on_demand' }),
  /** Limits for manifests that leave one out (IronClaw's defaults). */
  defaults: Type.Object({
    fuel: Type.Integer({ default: 500_000_000, minimum: 1 }),
    memory_mb: Type.Number({ default: 10, exclusiveMinimum: 0 }),
    timeout_ms: Type.Integer({ default: 60_000, minimum: 1 }),
    output_bytes: Type.Integer({ default: 1_048_576, minimum: 1 }),
  }, { additionalProperties: false, default: {} }),
  /** Upper bounds no manifest can raise. */
  max: Type.Object({
    memory_mb: Type.Number({ default: 512, exclusiveMinimum: 0 }),
    timeout_ms: Type.Integer({ default: 600_000, minimum: 1 }),
  }, { additionalProperties: false, default: {} }),
  /** Guest stderr kept as the call's log. */
  log_bytes: Type.Integer({ default: 4096, minimum: 0 }),
  /** SSRF-guard exceptions for host-function requests (e.g. a LAN service you trust): CIDRs and host names. */
  network: Type.Object({
    allowed_cidrs: Type.Array(Type.String(), { default: [] }),
    allowed_hosts: Type.Array(Type.String(), { default: [] }),
    request_timeout_ms: Type.Integer({ default: 30_000, minimum: 1 }),
    max_response_bytes: Type.Integer({ default: 4 * 1024 * 1024, minimum: 1 }),
  }, { additionalProperties: false, default: {} }),
}, { additionalProperties: false });
export type ToolsConfig = Static<typeof ToolsConfigSchema>;

export const ToolInfoSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  parameters: Type.Record(Type.String(), Type.Unknown()),
  manifest: Type.String({ description: 'path of the manifest file' }),
  module_blake3: Type.String(),
  manifest_blake3: Type.String(),
  source: Type.Union([Type.Literal('registry'), Type.Literal('shipped')]),
  network: Type.Array(Type.String()),
  limits: ToolLimitsSchema,
});
export type ToolInfo = Static<typeof ToolInfoSchema>;

export const ToolListRequest = Type.Object({});
export const ToolListReply = Type.Object({ tools: Type.Array(ToolInfoSchema) });
export const ToolAddRequest = Type.Object({ manifest: Type.String({ minLength: 1, description: 'absolute path of a manifest file' }) });
export const ToolAddReply = Type.Object({ tool: ToolInfoSchema, replaced: Type.Boolean() });
export const ToolRemoveRequest = Type.Object({ name: Type.String() });
export const ToolRemoveReply = Type.Object({ removed: Type.Boolean() });
export const ToolTarget = { name: Type.Optional(Type.String()), manifest: Type.Optional(Type.String({ description: 'absolute path of a manifest file (unregistered tool)' })) };
export const ToolVerifyRequest = Type.Object(ToolTarget);
export const ToolVerifyReply = Type.Object({
  ok: Type.Boolean(),
  name: Type.String(),
  module: Type.String(),
  module_blake3: Type.String({ description: 'hash of the bytes on disk' }),
  expected_blake3: Type.String({ description: 'hash the manifest pins' }),
  manifest_blake3: Type.String(),
  pinned_manifest_blake3: Type.Optional(Type.String({ description: 'hash recorded at registration' })),
  code: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});
export const ToolRunRequest = Type.Object({
  ...ToolTarget,
  args: Type.Unknown({ description: 'the arguments object (checked against the manifest parameters)' }),
  /** The calling agent (workspace and safety scope); absent = the default agent's workspace. */
  agent: Type.Optional(Type.String()),
  workspace: Type.Optional(Type.String({ description: 'absolute workspace directory for the preopens' })),
  /** Caps limits.timeout_ms (the caller's own deadline). */
  timeout_ms: Type.Optional(Type.Integer({ minimum: 1 })),
});
export const ToolRunReply = Type.Object({
  ok: Type.Boolean(),
  output: Type.String({ description: 'stdout after the leak detector (secrets redacted)' }),
  code: Type.Optional(Type.String({ description: 'a TOOL_ERROR_CODES key when !ok' })),
  message: Type.Optional(Type.String()),
  ms: Type.Number(),
  fuel_used: Type.Optional(Type.Number()),
  memory_peak_bytes: Type.Optional(Type.Number()),
  log: Type.Optional(Type.String({ description: 'guest stderr, cut to tools.log_bytes' })),
  exit_code: Type.Optional(Type.Integer()),
});
export type ToolRunRequest = Static<typeof ToolRunRequest>;
export type ToolRunReply = Static<typeof ToolRunReply>;
export type ToolVerifyReply = Static<typeof ToolVerifyReply>;
export type ToolAddReply = Static<typeof ToolAddReply>;
export type ToolListReply = Static<typeof ToolListReply>;
export const ToolStatsReply = Type.Object({
  runners: Type.Array(Type.Object({ id: Type.String(), alive: Type.Boolean(), busy: Type.Boolean(), replaced: Type.Integer() })),
  runners_started: Type.Boolean({ description: 'false until the first call when tools.runners_start is on_demand' }),
  calls: Type.Integer(),
  compiled_cached: Type.Integer(),
  last_replacement_ms: Type.Optional(Type.Number({ description: 'deadline → replacement runner ready, last timeout' })),
});
export type ToolStatsReply = Static<typeof ToolStatsReply>;

export const toolRunnerMessages = messagesOf(TOOL_RUNNER_ACTOR, {
  'tool.list': { request: ToolListRequest, reply: ToolListReply },
  'tool.add': { request: ToolAddRequest, reply: ToolAddReply },
  'tool.remove': { request: ToolRemoveRequest, reply: ToolRemoveReply },
  'tool.verify': { request: ToolVerifyRequest, reply: ToolVerifyReply },
  'tool.run': { request: ToolRunRequest, reply: ToolRunReply },
  'tool.stats': { request: Type.Object({}), reply: ToolStatsReply },
});

/** Published on `tools/registry` when a tool is added or removed (agents refresh their tool list). */
export const ToolRegistryEventSchema = Type.Object({ event: Type.Union([Type.Literal('added'), Type.Literal('removed')]), name: Type.String() });
export const toolRunnerTopics = topicsOf({ [TOOL_REGISTRY_TOPIC]: ToolRegistryEventSchema });
