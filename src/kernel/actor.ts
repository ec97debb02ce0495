/**
 * The actor API: everything an actor module under `actors/<name>/` may use from the kernel.
 *
 * An actor module's default export is `defineActor({...})`. The kernel loads the compiled module
 * inside a worker thread, calls `setup(ctx)` once per incarnation, and routes each incoming message
 * to the handler named by its `type`. A handler's return value (or thrown error) is the reply to
 * an `ask`; for a `tell` it is discarded (a thrown error is logged).
 */
import type { Logger } from 'pino';

/** Error codes every caller may see. `handler_error` wraps an error thrown inside a handler. */
export type ActorErrorCode =
  | 'timeout'
  | 'actor_crashed'
  | 'actor_stuck'
  | 'actor_stopped'
  | 'mailbox_full'
  | 'unknown_actor'
  | 'unknown_type'
  | 'invalid_message'
  | 'handler_error'
  | 'shutting_down'
  | 'payload_too_large'
  /** The tree did not become ready within `kernel.boot_timeout_ms`. */
  | 'boot_timeout';

/** A typed error that crosses thread and process boundaries as `{code, message, details}`. */
export class ActorError extends Error {
  readonly code: ActorErrorCode | string;
  readonly details?: unknown;
  constructor(code: ActorErrorCode | string, message: string, details?: unknown) {
    super(message);
    this.name = 'ActorError';
    this.code = code;
    if (details !== undefined) this.details = details;
  }
  toJSON(): SerializedError {
    return { code: this.code, message: this.message, ...(this.details !== undefined ? { details: this.details } : {}) };
  }
  static from(e: SerializedError): ActorError {
    return new ActorError(e.code, e.message, e.details);
  }
}

export interface SerializedError {
  code: string;
  message: string;
  details?: unknown;
}

export interface AskOptions {
  /** Reject with `ActorError('timeout')` after this many ms (default: `kernel.ask_timeout_ms`). */
  timeoutMs?: number;
  /** Abort the wait early (the reply, if it comes, is ignored). */
  signal?: AbortSignal;
}

/** Small key/value store backed by lmdb, namespaced per actor path; survives restarts. */
export interface ActorStore {
  get<T = unknown>(key: string): T | undefined;
  /** Durable once the returned promise resolves; writes are atomic per call. */
  put(key: string, value: unknown): Promise<boolean>;
  remove(key: string): Promise<boolean>;
  /** Several puts/removes applied atomically (all or none). */
  batch(ops: Array<{ key: string; value?: unknown; remove?: boolean }>): Promise<void>;
  /** Resolves when every write issued so far is committed (durable). */
  flushed(): Promise<void>;
  /** Keys in order, optionally limited to a prefix. */
  entries<T = unknown>(opts?: { prefix?: string; limit?: number }): Iterable<{ key: string; value: T }>;
}

export interface ActorContext<C = Record<string, unknown>> {
  /** This actor's address, e.g. `system/safety` or `agents/default`. */
  readonly path: string;
  /** This actor's section of `rustyclaw.yaml`, already validated. */
  readonly config: C;
  /** The whole validated config (read-only), for actors that need shared settings. */
  readonly rootConfig: Readonly<Record<string, any>>;
  /** Directory for this service's data (lmdb env, models, workspace defaults). */
  readonly dataDir: string;
  /** pino child logger bound to `{actor: path}`. */
  readonly log: Logger;
  readonly store: ActorStore;
  /** One-way message. Throws `ActorError('mailbox_full')` when the target's mailbox is full and overflow is `fail`. */
  tell(to: string, type: string, payload?: unknown): void;
  /** Request/reply; rejects with a typed `ActorError`, never stays pending. */
  ask<R = unknown>(to: string, type: string, payload?: unknown, opts?: AskOptions): Promise<R>;
  /** Publish an event on a topic (delivered to every subscriber in any thread or external client). */
  publish(topic: string, payload: unknown): void;
  /** Subscribe to a topic; returns the unsubscribe function. */
  subscribe(topic: string, handler: (payload: any, topic: string) => void): () => void;
}

/** Metadata of the message being handled. */
export interface MessageMeta {
  type: string;
  from: string;
  /** Present for asks: the caller waits for the return value. */
  id?: number;
}

export type Handler<C> = (payload: any, meta: MessageMeta, ctx: ActorContext<C>) => unknown;

export interface ActorInstance<C> {
  handlers: Record<string, Handler<C>>;
  /** Called on graceful shutdown (within the child's shutdown timeout). */
  stop?: () => unknown;
}

export interface ActorDefinition<C = Record<string, unknown>> {
  /**
   * What happens to messages still queued for this actor when it crashes:
   * `redeliver` hands them to its successor, `fail` rejects the waiting asks with `actor_crashed`.
   * The message being processed at the crash is never redelivered (it may be what crashed it).
   */
  onCrash?: 'redeliver' | 'fail';
  /**
   * How many messages may be in progress at once. Synchronous handlers always run one at a time;
   * async handlers interleave at their awaits up to this bound (default: unbounded, so a long
   * request never blocks e.g. a cancel). Messages beyond it wait in the mailbox and count
   * against the senders' credit window.
   */
  concurrency?: number;
  setup(ctx: ActorContext<C>): ActorInstance<C> | Promise<ActorInstance<C>>;
}

export function defineActor<C = Record<string, unknown>>(def: ActorDefinition<C>): ActorDefinition<C> {
  return def;
}
