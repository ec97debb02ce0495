/**
 * Messages of agent actors (`agents/<id>`), their stream events (topic `agents/<id>/events`) and
 * the `agents:` config section. Version 1.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ChatMessageSchema, FinishReasonSchema, ToolCallSchema, ToolSpecSchema } from './provider.js';
import { messagesOf, topicsOf } from './define.js';

export const AGENT_PROTOCOL_VERSION = 1;

export const AgentPurposeSchema = Type.Union([Type.Literal('chat'), Type.Literal('job'), Type.Literal('heartbeat')]);

export const AgentSendRequestSchema = Type.Object({
  text: Type.String({ minLength: 1 }),
  /** Session id (default `main`). Sessions persist in lmdb. */
  session: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  purpose: Type.Optional(AgentPurposeSchema),
  /** Model alias override for this turn (e.g. a cheaper heartbeat model). */
  model: Type.Optional(Type.String()),
  /** No text/tool stream events (done/error still published). */
  silent: Type.Optional(Type.Boolean()),
  request_id: Type.Optional(Type.String()),
  /** Where the text came from (for safety.inspect_inbound), e.g. `cli`, `telegram`. */
  channel: Type.Optional(Type.String()),
  /**
   * Publish the provider's text deltas of this turn on `provider/stream/<request_id>:<step>…` too,
   * straight from the provider router: a consumer on another thread (the gateway's SSE) gets each
   * token one thread hop sooner than through this agent's `text` events. Needs `request_id`.
   * The turn's text deltas then go to that topic only: the agent publishes no `text` events for
   * them (tool, done and error events are published as usual).
   */
  stream_topic: Type.Optional(Type.Boolean()),
});
export type AgentSendRequest = Static<typeof AgentSendRequestSchema>;

export const TurnUsageSchema = Type.Object({
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  cost_usd: Type.Number(),
  /** The provider that served the last step. */
  provider: Type.String(),
  model: Type.String(),
});
export type TurnUsage = Static<typeof TurnUsageSchema>;

export const AgentSendReplySchema = Type.Object({
  session: Type.String(),
  request_id: Type.String(),
  text: Type.String(),
  /** LLM calls made for this turn. */
  steps: Type.Integer(),
  usage: TurnUsageSchema,
  /**
   * How the final answer ended (normalised across providers): `length` = cut off by the output
   * limit, `refusal` = the model refused, `content_filter` = cut by the provider's filter.
   */
  finish_reason: Type.Optional(FinishReasonSchema),
  /** The model's refusal message (when finish_reason is `refusal` and the provider sent one). */
  refusal: Type.Optional(Type.String()),
  /** The model's reasoning during this turn (all steps), when it produced any; shown only on request. */
  reasoning: Type.Optional(Type.String()),
  /** agent.complete: calls to the caller's own tools (`client_tools`); finish_reason is then `tool_calls` and the caller runs them. */
  tool_calls: Type.Optional(Type.Array(ToolCallSchema)),
});
export type AgentSendReply = Static<typeof AgentSendReplySchema>;

/**
 * A stateless turn over a whole conversation given by the caller (the OpenAI-compatible API): nothing
 * is stored. The last message is the user's (or the results of the caller's tools); system messages
 * are added to the agent's own system prompt. Server-side tools run as usual; a call to one of
 * `client_tools` ends the turn and is returned in `tool_calls` for the caller to run.
 */
export const AgentCompleteRequestSchema = Type.Object({
  messages: Type.Array(ChatMessageSchema, { minItems: 1 }),
  client_tools: Type.Optional(Type.Array(ToolSpecSchema)),
  model: Type.Optional(Type.String()),
  request_id: Type.Optional(Type.String()),
  channel: Type.Optional(Type.String()),
  /** As in agent.send. */
  stream_topic: Type.Optional(Type.Boolean()),
});
export type AgentCompleteRequest = Static<typeof AgentCompleteRequestSchema>;

export const AgentCancelRequestSchema = Type.Object({
  session: Type.Optional(Type.String()),
  request_id: Type.Optional(Type.String()),
});
export const AgentCancelReplySchema = Type.Object({ cancelled: Type.Integer() });

export const AgentSessionRequestSchema = Type.Object({
  session: Type.Optional(Type.String({ default: 'main' })),
  /** How many of the most recent messages to include (default 20). */
  last: Type.Optional(Type.Integer({ minimum: 0 })),
});
export const AgentSessionReplySchema = Type.Object({
  session: Type.String(),
  exists: Type.Boolean(),
  /** User messages ever received in this session. */
  turns: Type.Integer(),
  /** Messages currently in the context. */
  messages: Type.Integer(),
  tokens: Type.Integer(),
  context_window: Type.Integer(),
  compactions: Type.Integer(),
  summary: Type.Optional(Type.String()),
  notes: Type.Array(Type.String()),
  recent: Type.Array(Type.Object({ role: Type.String(), content: Type.String() })),
  updated_at: Type.Number(),
});
export type AgentSessionReply = Static<typeof AgentSessionReplySchema>;

export const AgentSessionsReplySchema = Type.Object({
  sessions: Type.Array(Type.Object({ session: Type.String(), turns: Type.Integer(), updated_at: Type.Number() })),
});
export const AgentResetRequestSchema = Type.Object({ session: Type.Optional(Type.String({ default: 'main' })) });
export const AgentResetReplySchema = Type.Object({ removed: Type.Boolean() });

export const agentMessages = messagesOf('agents/*', {
  'agent.send': { request: AgentSendRequestSchema, reply: AgentSendReplySchema },
  'agent.complete': { request: AgentCompleteRequestSchema, reply: AgentSendReplySchema },
  'agent.cancel': { request: AgentCancelRequestSchema, reply: AgentCancelReplySchema },
  'agent.session': { request: AgentSessionRequestSchema, reply: AgentSessionReplySchema },
  'agent.sessions': { request: Type.Object({}), reply: AgentSessionsReplySchema },
  'agent.reset': { request: AgentResetRequestSchema, reply: AgentResetReplySchema },
});

/** Published on `agents/<id>/events`. */
export const AgentEventSchema = Type.Object({
  request_id: Type.String(),
  session: Type.String(),
  agent: Type.String(),
  kind: Type.Union([
    Type.Literal('text'), Type.Literal('tool_start'), Type.Literal('tool_progress'), Type.Literal('tool_end'),
    Type.Literal('done'), Type.Literal('error'), Type.Literal('compaction'),
  ]),
  /** text: the delta; done: the whole answer. */
  text: Type.Optional(Type.String()),
  step: Type.Optional(Type.Integer()),
  tool: Type.Optional(Type.String()),
  call_id: Type.Optional(Type.String()),
  args: Type.Optional(Type.Unknown()),
  ok: Type.Optional(Type.Boolean()),
  /** tool_end: (start of) the result; tool_progress: the message. */
  result: Type.Optional(Type.String()),
  /** error: code (e.g. context_length, all_providers_failed, invalid_tool_arguments). */
  code: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  /** error: true when the turn ended with it; false for recoverable problems the model was told about. */
  fatal: Type.Optional(Type.Boolean()),
  provider: Type.Optional(Type.String()),
  usage: Type.Optional(TurnUsageSchema),
  steps: Type.Optional(Type.Integer()),
  /** done: how the answer ended (see AgentSendReply.finish_reason). */
  finish_reason: Type.Optional(FinishReasonSchema),
  refusal: Type.Optional(Type.String()),
  /** compaction: strategy used and tokens before/after. */
  strategy: Type.Optional(Type.String()),
  tokens_before: Type.Optional(Type.Integer()),
  tokens_after: Type.Optional(Type.Integer()),
});
export type AgentEvent = Static<typeof AgentEventSchema>;

export const agentEventsTopic = (id: string) => `agents/${id}/events` as const;
export const agentTopics = topicsOf({ 'agents/*/events': AgentEventSchema });

// ---- config ---------------------------------------------------------------------------------

export const CompactionConfigSchema = Type.Object({
  strategy: Type.Union([Type.Literal('summarize'), Type.Literal('truncate'), Type.Literal('move_to_workspace')], { default: 'summarize' }),
  /** Compact when the context reaches this fraction of the model's window. */
  threshold: Type.Number({ default: 0.75, exclusiveMinimum: 0, maximum: 1 }),
  /** After compacting, the context is at most this fraction of the window. */
  target: Type.Number({ default: 0.5, exclusiveMinimum: 0, maximum: 1 }),
  /** Turns (a user message and what followed it) kept verbatim. */
  keep_last_turns: Type.Integer({ default: 6, minimum: 1 }),
  /** Model alias for summaries ('' = the agent's model). */
  summary_model: Type.String({ default: '' }),
}, { additionalProperties: false, default: {} });
export type CompactionConfig = Static<typeof CompactionConfigSchema>;

export const AgentConfigSchema = Type.Object({
  id: Type.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$', default: 'default' }),
  system_prompt: Type.String({ default: 'You are RustyClaw, a helpful assistant. Answer concisely. Use tools when they help.' }),
  /** Model alias from `models:`. */
  model: Type.String({ default: 'default' }),
  /** Workspace directory ('' = <data_dir>/workspaces/<id>). */
  workspace: Type.String({ default: '' }),
  /** LLM calls per turn before the turn is stopped. */
  max_steps: Type.Integer({ default: 8, minimum: 1 }),
  /** Context window in tokens (0 = the model alias's `context_window`). */
  context_window: Type.Integer({ default: 0, minimum: 0 }),
  compaction: CompactionConfigSchema,
  /**
   * Tools this agent may use, enforced at call time: a list of names (built-in or sandboxed), or
   * `{allow, deny}` with names or `prefix*` patterns (`*` = every registered tool); deny wins.
   * Absent = `{allow: ['*']}`. (No schema default: a default would be merged into a list.)
   */
  tools: Type.Optional(Type.Union([
    Type.Array(Type.String()),
    Type.Object({
      allow: Type.Optional(Type.Array(Type.String())),
      deny: Type.Optional(Type.Array(Type.String())),
    }, { additionalProperties: false }),
  ])),
  /** Ask system/memory for context (when that actor runs). */
  memory_k: Type.Integer({ default: 4, minimum: 0 }),
  tool_timeout_ms: Type.Integer({ default: 30000, minimum: 1 }),
  /** Limit for one turn, all steps included. */
  turn_timeout_ms: Type.Integer({ default: 600000, minimum: 1 }),
  /**
   * Tool calls cut off by the output limit are never run. `retry`: ask again once with twice the
   * room, then tell the model; `tell`: tell the model at once (as the tool's error result).
   */
  truncated_tool_calls: Type.Optional(Type.Union([Type.Literal('retry'), Type.Literal('tell')], { default: 'retry' })),
}, { additionalProperties: false });
export type AgentConfig = Static<typeof AgentConfigSchema>;

export const AgentsConfigSchema = Type.Array(AgentConfigSchema, {
  default: [{
    id: 'default', system_prompt: 'You are RustyClaw, a helpful assistant. Answer concisely. Use tools when they help.',
    model: 'default', workspace: '', max_steps: 8, context_window: 0,
    compaction: { strategy: 'summarize', threshold: 0.75, target: 0.5, keep_last_turns: 6, summary_model: '' },
    memory_k: 4, tool_timeout_ms: 30000, turn_timeout_ms: 600000,
  }],
});
