/**
 * Request schemas of the OpenAI-compatible routes (validated by fastify before a handler runs; the
 * error names the field). Only what the gateway reads is constrained; the many optional fields
 * clients send (top_p, seed, metadata, ...) pass through unread.
 */
import { Type, type Static } from '@sinclair/typebox';

/** A string from a fixed set, as one JSON Schema enum (the error then lists the allowed values). */
function StringEnum<const T extends string[]>(values: T) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: values });
}

const TextPart = Type.Object({ type: Type.String(), text: Type.Optional(Type.String()) });
const Content = Type.Union([Type.String(), Type.Null(), Type.Array(TextPart)]);

export const OpenAiToolCallSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  type: Type.Optional(Type.Literal('function')),
  function: Type.Object({ name: Type.String({ minLength: 1 }), arguments: Type.String() }),
});

export const ChatCompletionMessageSchema = Type.Object({
  role: StringEnum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: Type.Optional(Content),
  name: Type.Optional(Type.String()),
  tool_calls: Type.Optional(Type.Array(OpenAiToolCallSchema)),
  tool_call_id: Type.Optional(Type.String()),
});
export type ChatCompletionMessage = Static<typeof ChatCompletionMessageSchema>;

export const FunctionToolSchema = Type.Object({
  type: Type.Literal('function'),
  function: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9_-]+$' }),
    description: Type.Optional(Type.String()),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});

export const ChatCompletionRequestSchema = Type.Object({
  model: Type.String({ minLength: 1, maxLength: 200 }),
  messages: Type.Array(ChatCompletionMessageSchema, { minItems: 1, maxItems: 10_000 }),
  stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  stream_options: Type.Optional(Type.Union([Type.Null(), Type.Object({ include_usage: Type.Optional(Type.Boolean()) })])),
  tools: Type.Optional(Type.Array(FunctionToolSchema, { maxItems: 128 })),
  tool_choice: Type.Optional(Type.Unknown()),
  user: Type.Optional(Type.String({ maxLength: 200 })),
  n: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1 }), Type.Null()])),
});
export type ChatCompletionRequest = Static<typeof ChatCompletionRequestSchema>;

const ResponseContentPart = Type.Object({ type: Type.String(), text: Type.Optional(Type.String()) });
export const ResponseInputItemSchema = Type.Union([
  Type.Object({
    type: Type.Optional(Type.Literal('message')),
    role: StringEnum(['user', 'assistant', 'system', 'developer']),
    content: Type.Union([Type.String(), Type.Array(ResponseContentPart)]),
  }),
  Type.Object({ type: Type.Literal('function_call'), call_id: Type.String({ minLength: 1 }), name: Type.String({ minLength: 1 }), arguments: Type.String() }),
  Type.Object({ type: Type.Literal('function_call_output'), call_id: Type.String({ minLength: 1 }), output: Type.Union([Type.String(), Type.Array(ResponseContentPart)]) }),
]);
export type ResponseInputItem = Static<typeof ResponseInputItemSchema>;

export const ResponsesRequestSchema = Type.Object({
  model: Type.String({ minLength: 1, maxLength: 200 }),
  input: Type.Union([Type.String({ minLength: 1 }), Type.Array(ResponseInputItemSchema, { minItems: 1, maxItems: 10_000 })]),
  instructions: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  tools: Type.Optional(Type.Array(Type.Object({
    type: Type.Literal('function'),
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9_-]+$' }),
    description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    parameters: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
  }), { maxItems: 128 })),
  previous_response_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  user: Type.Optional(Type.String({ maxLength: 200 })),
});
export type ResponsesRequest = Static<typeof ResponsesRequestSchema>;
