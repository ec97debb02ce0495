/**
 * The message envelope, version 1.
 *
 * Two encodings of the same envelope exist:
 * - in-process (between threads): compact frames posted over MessagePorts (`Frame`, below), never
 *   validated on the hop because both ends are our own code;
 * - external (WebSocket endpoint, NATS later): JSON objects (`ExternalRequest` / `ExternalResponse`),
 *   validated against the schemas here before anything is routed.
 */
import { Type, type Static } from '@sinclair/typebox';

export const PROTOCOL_VERSION = 1;

export * from './wire.js';

// ---- External envelope (WebSocket endpoint) -------------------------------------------------

const Path = Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_.\\-]+(/[A-Za-z0-9_.\\-]+)*$' });
const MessageType = Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$' });
const Topic = Type.String({ minLength: 1, maxLength: 256 });

export const HelloRequest = Type.Object(
  { v: Type.Literal(PROTOCOL_VERSION), op: Type.Literal('hello'), token: Type.String({ maxLength: 256 }) },
  { additionalProperties: false },
);
export const AskRequest = Type.Object(
  {
    v: Type.Literal(PROTOCOL_VERSION),
    op: Type.Literal('ask'),
    id: Type.Integer({ minimum: 0 }),
    to: Path,
    type: MessageType,
    payload: Type.Optional(Type.Unknown()),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000 })),
  },
  { additionalProperties: false },
);
export const TellRequest = Type.Object(
  {
    v: Type.Literal(PROTOCOL_VERSION),
    op: Type.Literal('tell'),
    to: Path,
    type: MessageType,
    payload: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
export const SubscribeRequest = Type.Object(
  { v: Type.Literal(PROTOCOL_VERSION), op: Type.Union([Type.Literal('sub'), Type.Literal('unsub')]), topic: Topic },
  { additionalProperties: false },
);
export const PublishRequest = Type.Object(
  { v: Type.Literal(PROTOCOL_VERSION), op: Type.Literal('pub'), topic: Topic, payload: Type.Optional(Type.Unknown()) },
  { additionalProperties: false },
);
export const ExternalRequest = Type.Union([HelloRequest, AskRequest, TellRequest, SubscribeRequest, PublishRequest]);
export type ExternalRequest = Static<typeof ExternalRequest>;

export const ErrorBody = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});

export const ExternalResponse = Type.Union([
  Type.Object({ v: Type.Literal(PROTOCOL_VERSION), op: Type.Literal('welcome'), server: Type.String() }),
  Type.Object({
    v: Type.Literal(PROTOCOL_VERSION),
    op: Type.Literal('reply'),
    id: Type.Integer(),
    ok: Type.Boolean(),
    payload: Type.Optional(Type.Unknown()),
    error: Type.Optional(ErrorBody),
  }),
  Type.Object({ v: Type.Literal(PROTOCOL_VERSION), op: Type.Literal('event'), topic: Topic, payload: Type.Unknown() }),
  /** A request that could not be matched to an id (malformed frame): the error names what was wrong. */
  Type.Object({ v: Type.Literal(PROTOCOL_VERSION), op: Type.Literal('error'), error: ErrorBody }),
]);
export type ExternalResponse = Static<typeof ExternalResponse>;
