/**
 * What RustyClaw processes say to each other on NATS (docs/nats.md), besides the external envelope
 * (`protocol/envelope.ts`), which every actor subject speaks as the WebSocket endpoint does.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AskRequest, PROTOCOL_VERSION, TellRequest } from './envelope.js';

const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

/** Published on `rustyclaw.<cluster>._nodes` every heartbeat, and `leaving` once on a graceful stop. */
export const NodeAnnouncement = Type.Object(
  {
    v: Type.Literal(PROTOCOL_VERSION),
    op: Type.Union([Type.Literal('node'), Type.Literal('leaving')]),
    node: Name,
    /** Changes with every start of the process: a new incarnation means the old one is gone. */
    incarnation: Type.String({ minLength: 1, maxLength: 64 }),
    pid: Type.Integer({ minimum: 0 }),
    host: Type.String({ maxLength: 256 }),
    started_at: Type.String({ maxLength: 64 }),
    seq: Type.Integer({ minimum: 0 }),
    /** Asks the others to announce themselves now (sent by a process that just joined). */
    hello: Type.Optional(Type.Boolean()),
    actors: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10_000 }),
    topics: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10_000 }),
  },
  { additionalProperties: false },
);
export type NodeAnnouncement = Static<typeof NodeAnnouncement>;

const Sender = {
  /** The sending process (`nats.node`) and the path of the actor that asks. */
  node: Name,
  from: Type.String({ minLength: 1, maxLength: 256 }),
};

/** Kernel-to-kernel request on `rustyclaw.<cluster>._node.<node>`: the external ask/tell plus its sender. */
export const NodeRequest = Type.Union([
  Type.Object({ ...AskRequest.properties, ...Sender }, { additionalProperties: false }),
  Type.Object({ ...TellRequest.properties, ...Sender }, { additionalProperties: false }),
]);
export type NodeRequest = Static<typeof NodeRequest>;

/** What an actor subject accepts: the external envelope's ask or tell. */
export const SubjectRequest = Type.Union([AskRequest, TellRequest]);
export type SubjectRequest = Static<typeof SubjectRequest>;
