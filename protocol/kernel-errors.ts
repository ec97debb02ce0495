/**
 * The kernel's error codes and what each means. A module of their own, without schemas: every
 * worker thread imports them (src/kernel/errors.ts) before it knows whether its actors use TypeBox.
 */
import { errorsOf } from './define.js';

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
