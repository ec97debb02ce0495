/**
 * Messages of the provider router (`system/provider-router`) and the `providers:` / `models:` /
 * `provider_router:` config sections. Version 1.
 *
 * `provider.chat` is an ask whose reply is the final result; when `stream_to` names an actor, text
 * deltas are sent to it as `provider.chunk` tells while the answer streams (and are published on
 * `provider/stream/<request_id>` when `stream_topic` is true, for callers that are not actors).
 */
import { Type, type Static } from '@sinclair/typebox';
import { messagesOf, topicsOf } from './define.js';

export const PROVIDER_PROTOCOL_VERSION = 1;

export const ToolCallSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  /** The raw JSON text the model produced; parsed (and validated) by the agent. */
  arguments: Type.String(),
});
export type ToolCall = Static<typeof ToolCallSchema>;

/**
 * A model's reasoning, kept so it can be sent back the way its provider requires (DeepSeek thinking
 * mode wants `reasoning_content` on assistant messages with tool calls; Anthropic wants thinking
 * blocks with their signatures before a `tool_use`). Never shown to the user unless asked.
 */
export const ReasoningSchema = Type.Object({
  /** The reasoning text (all blocks joined). */
  text: Type.String(),
  /** The wire field it came in on OpenAI-compatible APIs (`reasoning_content`: DeepSeek, older vLLM; `reasoning`: OpenRouter, vLLM). */
  field: Type.Optional(Type.Union([Type.Literal('reasoning_content'), Type.Literal('reasoning')])),
  /** Anthropic thinking blocks in order, with their signatures (or redacted_thinking data). */
  blocks: Type.Optional(Type.Array(Type.Object({
    thinking: Type.Optional(Type.String()),
    signature: Type.Optional(Type.String()),
    /** `redacted_thinking` block data (opaque). */
    redacted: Type.Optional(Type.String()),
  }))),
});
export type Reasoning = Static<typeof ReasoningSchema>;

export const ChatMessageSchema = Type.Object({
  role: Type.Union([Type.Literal('system'), Type.Literal('user'), Type.Literal('assistant'), Type.Literal('tool')]),
  content: Type.String(),
  tool_calls: Type.Optional(Type.Array(ToolCallSchema)),
  /** For role `tool`: the id of the call this message answers. */
  tool_call_id: Type.Optional(Type.String()),
  /** For role `tool`: the tool's name. */
  name: Type.Optional(Type.String()),
  /** For role `assistant`: the model's reasoning for this message (sent back where the provider requires it). */
  reasoning: Type.Optional(ReasoningSchema),
});
export type ChatMessage = Static<typeof ChatMessageSchema>;

export const ToolSpecSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  /** JSON schema of the arguments object. */
  parameters: Type.Record(Type.String(), Type.Unknown()),
});
export type ToolSpec = Static<typeof ToolSpecSchema>;

export const PurposeSchema = Type.Union([
  Type.Literal('chat'), Type.Literal('job'), Type.Literal('heartbeat'), Type.Literal('compaction'),
]);
export type Purpose = Static<typeof PurposeSchema>;

export const ChatRequestSchema = Type.Object({
  /** Model alias from `models:` (or `provider/model` to bypass the alias table). */
  model: Type.String({ default: 'default' }),
  messages: Type.Array(ChatMessageSchema),
  tools: Type.Optional(Type.Array(ToolSpecSchema)),
  max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
  temperature: Type.Optional(Type.Number()),
  request_id: Type.Optional(Type.String()),
  /** Actor path that receives `provider.chunk` tells while the answer streams. */
  stream_to: Type.Optional(Type.String()),
  /** Publish chunks on `provider/stream/<request_id>` too. */
  stream_topic: Type.Optional(Type.Boolean()),
  /** Usage tags. */
  agent: Type.Optional(Type.String()),
  purpose: Type.Optional(PurposeSchema),
});
export type ChatRequest = Static<typeof ChatRequestSchema>;

export const UsageSchema = Type.Object({
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  cost_usd: Type.Number(),
  /** The provider that actually served the answer. */
  provider: Type.String(),
  model: Type.String(),
  /** True when the tokens were counted locally because the response carried no usage. */
  estimated: Type.Optional(Type.Boolean()),
  /** Reasoning tokens (already included in output_tokens) when the provider reports them. */
  reasoning_tokens: Type.Optional(Type.Integer()),
});
export type Usage = Static<typeof UsageSchema>;

export const AttemptSchema = Type.Object({
  provider: Type.String(),
  model: Type.String(),
  ok: Type.Boolean(),
  error: Type.Optional(Type.String()),
  code: Type.Optional(Type.String()),
  ms: Type.Number(),
});
export type Attempt = Static<typeof AttemptSchema>;

/**
 * Why an answer ended, the same across adapters: `stop` (complete), `length` (cut by max_tokens or
 * the context window), `tool_calls`, `content_filter` (the provider's filter cut it), `refusal` (the
 * model refused; see `refusal`), `error` (the provider signalled an error after the answer began).
 */
export const FinishReasonSchema = Type.Union([
  Type.Literal('stop'), Type.Literal('length'), Type.Literal('tool_calls'), Type.Literal('content_filter'),
  Type.Literal('refusal'), Type.Literal('error'),
]);
export type FinishReason = Static<typeof FinishReasonSchema>;

export const ChatResultSchema = Type.Object({
  request_id: Type.String(),
  text: Type.String(),
  tool_calls: Type.Array(ToolCallSchema),
  finish_reason: FinishReasonSchema,
  /** The provider's own finish/stop reason, for diagnostics. */
  raw_finish_reason: Type.Optional(Type.String()),
  /** The refusal message (OpenAI `refusal`), when the model refused. */
  refusal: Type.Optional(Type.String()),
  reasoning: Type.Optional(ReasoningSchema),
  usage: UsageSchema,
  attempts: Type.Array(AttemptSchema),
});
export type ChatResult = Static<typeof ChatResultSchema>;

export const ChunkSchema = Type.Object({
  request_id: Type.String(),
  text: Type.String(),
  provider: Type.String(),
});
export type Chunk = Static<typeof ChunkSchema>;

export const CancelRequestSchema = Type.Object({ request_id: Type.String() });
export const CancelReplySchema = Type.Object({ cancelled: Type.Boolean() });

export const UsageGroupKeySchema = Type.Union([
  Type.Literal('provider'), Type.Literal('model'), Type.Literal('agent'), Type.Literal('purpose'), Type.Literal('day'),
  /** `ok`, or `failed` for billed tokens of a stream that broke after it began. */
  Type.Literal('status'),
]);
export type UsageGroupKey = Static<typeof UsageGroupKeySchema>;

export const UsageRequestSchema = Type.Object({
  group_by: Type.Optional(Type.Array(UsageGroupKeySchema)),
  /** ISO date or epoch ms; records before it are skipped. */
  since: Type.Optional(Type.Union([Type.String(), Type.Number()])),
});
export type UsageRequest = Static<typeof UsageRequestSchema>;

export const UsageRowSchema = Type.Object({
  key: Type.Record(Type.String(), Type.String()),
  requests: Type.Integer(),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  cost_usd: Type.Number(),
});
export type UsageRow = Static<typeof UsageRowSchema>;

export const UsageReplySchema = Type.Object({
  group_by: Type.Array(UsageGroupKeySchema),
  rows: Type.Array(UsageRowSchema),
  total: UsageRowSchema,
});
export type UsageReply = Static<typeof UsageReplySchema>;

export const ProviderStateSchema = Type.Object({
  provider: Type.String(),
  model: Type.String(),
  /** ok | cooldown | disabled | unconfigured */
  state: Type.String(),
  cooldown_until: Type.Optional(Type.Number()),
  failures: Type.Integer(),
  reason: Type.Optional(Type.String()),
  /** The error class that caused the cooldown/disable (see docs/providers.md), e.g. `quota`, `rate_limited`, `auth`. */
  kind: Type.Optional(Type.String()),
  /** When the cooldown or disable began (epoch ms). */
  since: Type.Optional(Type.Number()),
});
export const StatusReplySchema = Type.Object({
  providers: Type.Array(ProviderStateSchema),
  aliases: Type.Record(Type.String(), Type.Array(Type.String())),
});

export const CountTokensRequestSchema = Type.Object({ messages: Type.Array(ChatMessageSchema) });
export const CountTokensReplySchema = Type.Object({ tokens: Type.Integer() });

export const providerMessages = messagesOf('system/provider-router', {
  'provider.chat': { request: ChatRequestSchema, reply: ChatResultSchema },
  'provider.cancel': { request: CancelRequestSchema, reply: CancelReplySchema },
  'provider.usage': { request: UsageRequestSchema, reply: UsageReplySchema },
  'provider.status': { request: Type.Object({}), reply: StatusReplySchema },
});

/** Sent by the router to the request's `stream_to` actor (a tell), e.g. the agent that asked. */
export const providerStreamMessages = messagesOf('agents/*', {
  'provider.chunk': { request: ChunkSchema, reply: Type.Null() },
});

/** `provider/stream/<request_id>`, when `stream_topic` is set: the same chunks, for callers that are not actors. */
export const providerTopics = topicsOf({ 'provider/stream/*': ChunkSchema });

/** Error codes the router replies with (ActorError.code). */
export type ProviderErrorCode =
  | 'context_length' // the prompt is larger than the model's window: compact, don't fail over
  | 'all_providers_failed'
  | 'no_provider' // nothing configured for this alias (names the env variables to set)
  | 'unknown_model'
  | 'bad_request' // 400/422: not retried
  | 'stream_failed' // the stream broke after tokens were sent to the caller
  | 'cancelled';

// ---- config ---------------------------------------------------------------------------------

export const PriceSchema = Type.Object({
  input_per_mtok: Type.Optional(Type.Number({ default: 0, minimum: 0 })),
  output_per_mtok: Type.Optional(Type.Number({ default: 0, minimum: 0 })),
}, { additionalProperties: false });

export const ProviderEntrySchema = Type.Object({
  type: Type.Optional(Type.Union([Type.Literal('openai'), Type.Literal('anthropic'), Type.Literal('ollama')], { default: 'openai' })),
  /** `auto`: on when its key (or base-URL / host env variable) is present. */
  enabled: Type.Optional(Type.Union([Type.Literal('auto'), Type.Boolean()], { default: 'auto' })),
  base_url: Type.Optional(Type.String({ default: '' })),
  base_url_env: Type.Optional(Type.String({ default: '' })),
  api_key: Type.Optional(Type.String({ default: '' })),
  api_key_env: Type.Optional(Type.String({ default: '' })),
  model: Type.Optional(Type.String({ default: '' })),
  model_env: Type.Optional(Type.String({ default: '' })),
  headers: Type.Optional(Type.Record(Type.String(), Type.String(), { default: {} })),
  /** Extra top-level request body fields merged into every request (e.g. Anthropic `thinking`, DeepSeek `thinking`, `reasoning_effort`). */
  body: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { default: {} })),
  prices: Type.Optional(Type.Record(Type.String(), PriceSchema, { default: {} })),
}, { additionalProperties: false });
/** Entries are partial in YAML (a record's values get no defaults from the loader); resolved with defaults in the router. */
export type ProviderEntry = Required<Static<typeof ProviderEntrySchema>>;

export const ProvidersConfigSchema = Type.Record(Type.String(), ProviderEntrySchema, {
  default: {
    openai: { type: 'openai', enabled: 'auto', base_url: '', base_url_env: 'OPENAI_BASE_URL', api_key: '', api_key_env: 'OPENAI_API_KEY', model: '', model_env: 'OPENAI_MODEL', headers: {}, body: {}, prices: {} },
    anthropic: { type: 'anthropic', enabled: 'auto', base_url: '', base_url_env: 'ANTHROPIC_BASE_URL', api_key: '', api_key_env: 'ANTHROPIC_API_KEY', model: '', model_env: 'ANTHROPIC_MODEL', headers: {}, body: {}, prices: {} },
    ollama: { type: 'ollama', enabled: 'auto', base_url: '', base_url_env: 'OLLAMA_HOST', api_key: '', api_key_env: '', model: '', model_env: 'OLLAMA_MODEL', headers: {}, body: {}, prices: {} },
  },
});
export type ProvidersConfig = Record<string, ProviderEntry>;

export const ModelAliasSchema = Type.Object({
  /** Ordered failover chain: `provider` (its default model) or `provider/model`. */
  chain: Type.Optional(Type.Array(Type.String(), { default: ['openai', 'anthropic', 'ollama'] })),
  context_window: Type.Optional(Type.Integer({ default: 128000, minimum: 256 })),
  max_output_tokens: Type.Optional(Type.Integer({ default: 4096, minimum: 1 })),
}, { additionalProperties: false });
export type ModelAlias = Required<Static<typeof ModelAliasSchema>>;

export const ModelsConfigSchema = Type.Record(Type.String(), ModelAliasSchema, {
  default: { default: { chain: ['openai', 'anthropic', 'ollama'], context_window: 128000, max_output_tokens: 4096 } },
});
export type ModelsConfig = Record<string, ModelAlias>;

export const ProviderRouterConfigSchema = Type.Object({
  connect_timeout_ms: Type.Integer({ default: 10000, minimum: 1 }),
  /** Time allowed until the first token (or tool-call delta) arrives. */
  first_token_timeout_ms: Type.Integer({ default: 60000, minimum: 1 }),
  /** Longest silence between two chunks once streaming. */
  idle_timeout_ms: Type.Integer({ default: 60000, minimum: 1 }),
  /** Hard limit for one attempt. */
  request_timeout_ms: Type.Integer({ default: 600000, minimum: 1 }),
  cooldown_base_ms: Type.Integer({ default: 1000, minimum: 0 }),
  cooldown_max_ms: Type.Integer({ default: 300000, minimum: 0 }),
  /** Longest Retry-After the router sleeps on when every provider in the chain is cooling down. */
  max_retry_wait_ms: Type.Integer({ default: 30000, minimum: 0 }),
  /** Cooldown of an entry after a quota/billing error (insufficient_quota, 402, daily caps): not transient. */
  quota_cooldown_ms: Type.Integer({ default: 3600000, minimum: 0 }),
  /** Cooldown of an entry whose model the server does not have (404 model not found). */
  not_found_cooldown_ms: Type.Integer({ default: 600000, minimum: 0 }),
  /** Attempts per request across the whole chain. */
  max_attempts: Type.Integer({ default: 6, minimum: 1 }),
  /** Usage records older than this are dropped at start (0 = keep forever). */
  usage_retention_days: Type.Integer({ default: 400, minimum: 0 }),
}, { additionalProperties: false });
export type ProviderRouterConfig = Static<typeof ProviderRouterConfigSchema>;
