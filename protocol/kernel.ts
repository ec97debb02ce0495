/** Messages of the kernel's own actor (path `kernel`, on the main thread). */
import { Type, type Static } from '@sinclair/typebox';
import { messagesOf } from './define.js';

export const ActorStatusSchema = Type.Object({
  path: Type.String(),
  thread: Type.String(),
  thread_id: Type.Union([Type.Integer(), Type.Null()]),
  /** running, on_demand (not set up yet: its first message will), restarting, stopped, ... */
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

/** One process of the cluster as this process knows it (from its announcements on NATS). */
export const ClusterNodeSchema = Type.Object({
  node: Type.String(),
  pid: Type.Integer(),
  host: Type.String(),
  self: Type.Boolean(),
  started_at: Type.String(),
  /** Milliseconds since its last announcement (0 for this process). */
  last_seen_ms: Type.Integer(),
  actors: Type.Array(Type.String()),
});
export const ClusterReply = Type.Object({
  /** `local` (this process only) or `nats`. */
  transport: Type.String(),
  cluster: Type.String(),
  node: Type.String(),
  connected: Type.Boolean(),
  /** The NATS server this process is connected to (empty when local or not connected). */
  server: Type.String(),
  nodes: Type.Array(ClusterNodeSchema),
});
export type ClusterReply = Static<typeof ClusterReply>;

export const kernelMessages = messagesOf('kernel', {
  'kernel.status': { request: Empty, reply: StatusReply },
  'kernel.ping': { request: Empty, reply: Type.Object({ pong: Type.Boolean(), pid: Type.Integer() }) },
  'kernel.stop': { request: Empty, reply: Type.Object({ stopping: Type.Boolean() }) },
  'kernel.cluster': { request: Empty, reply: ClusterReply },
});

/** Error codes every caller may see, whichever actor it asked (kept apart: the kernel's threads import them without the schema library). */
export { kernelErrors } from './kernel-errors.js';
