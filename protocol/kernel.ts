/** Messages of the kernel's own actor (path `kernel`, on the main thread). */
import { Type, type Static } from '@sinclair/typebox';
import { errorsOf, messagesOf } from './define.js';

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

/** Error codes every caller may see, whichever actor it asked. */
export const kernelErrors = errorsOf({
  timeout: 'the reply did not come within the ask timeout (or the wait was aborted)',
  actor_crashed: 'the target crashed while handling the message',
  actor_stuck: 'the target stopped answering liveness pings and was restarted',
  actor_stopped: 'the target is stopped for good (its supervisor gave up)',
  mailbox_full: "the target's mailbox is full and kernel.mailbox.overflow is fail",
  unknown_actor: 'no actor at that path',
  unknown_type: 'the target does not handle that message type',
  invalid_message: 'the request does not match its schema (details name the field)',
  invalid_reply: "the handler's reply does not match its schema (details name the field)",
  handler_error: 'the handler threw an error without a code of its own',
  shutting_down: 'the actor system is stopping',
  payload_too_large: 'the frame is over endpoint.max_payload_bytes',
  boot_timeout: 'the tree did not become ready within kernel.boot_timeout_ms',
  actor_setup_failed: "an on-demand actor's setup failed on its first message (the message names why); the next message tries again",
  bus_unreachable: 'the message bus (NATS) cannot be reached; the message names the servers',
});
