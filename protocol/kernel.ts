/** Messages of the kernel's own actor (path `kernel`, on the main thread). */
import { Type, type Static } from '@sinclair/typebox';

export const ActorStatusSchema = Type.Object({
  path: Type.String(),
  thread: Type.String(),
  thread_id: Type.Union([Type.Integer(), Type.Null()]),
  state: Type.String(),
  restarts: Type.Integer(),
  mailbox: Type.Integer(),
  handled: Type.Integer(),
});

export const StatusReply = Type.Object({
  uptime_ms: Type.Number(),
  ready_ms: Type.Number(),
  pid: Type.Integer(),
  placement: Type.String(),
  threads: Type.Integer(),
  rss_mb: Type.Number(),
  actors: Type.Array(ActorStatusSchema),
  supervisors: Type.Array(Type.Object({ id: Type.String(), state: Type.String(), restarts: Type.Integer() })),
});
export type StatusReply = Static<typeof StatusReply>;

const Empty = Type.Object({}, { additionalProperties: false });

export const kernelMessages = {
  'kernel.status': { request: Empty, reply: StatusReply },
  'kernel.ping': { request: Empty, reply: Type.Object({ pong: Type.Boolean(), pid: Type.Integer() }) },
  'kernel.stop': { request: Empty, reply: Type.Object({ stopping: Type.Boolean() }) },
};
