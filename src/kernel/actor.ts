/**
 * The actor API: everything an actor module under `actors/<name>/` may use from the kernel.
 *
 * An actor module's default export is `defineActor({...})`. The kernel loads the compiled module
 * inside a worker thread, calls `setup(ctx)` once per incarnation, and routes each incoming message
 * to the handler named by its `type`. A handler's return value (or thrown error) is the reply to
 * an `ask`; for a `tell` it is discarded (a thrown error is logged).
 */
import type { Logger } from 'pino';
import type { Static, TSchema } from '@sinclair/typebox';
import type { BuiltinMessages, BuiltinTopics } from '../../protocol/index.js';
import type { AskOptions, MessageMap, NoEntries, ReplyOf, RequestOf, TopicMap, TypedAsk, TypedPublish, TypedSubscribe, TypedTell } from '../../protocol/define.js';

export { ActorError, type ActorErrorCode, type SerializedError } from './errors.js';
export type { AskOptions } from '../../protocol/define.js';

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

/** What every actor context has, typed or not. */
interface ContextBase<C> {
  /** This actor's address, e.g. `system/safety` or `agents/default`. */
  readonly path: string;
  /** This actor's section of `rustyclaw.yaml`, already validated. */
  readonly config: C;
  /** The whole validated config (read-only), for actors that need shared settings. */
  readonly rootConfig: Readonly<Record<string, any>>;
  /** Directory for this service's data (lmdb env, models, workspace defaults). */
  readonly dataDir: string;
  /**
   * The other actors in this actor's thread (empty: it has the thread to itself). Absent where
   * the kernel does not say (an actor on the main thread, a test's hand-made context).
   */
  readonly threadmates?: readonly string[];
  /** pino child logger bound to `{actor: path}`. */
  readonly log: Logger;
  readonly store: ActorStore;
  /**
   * An ask whose message type is chosen at run time (e.g. a routine's configured action): the
   * compiler cannot type it, the kernel still checks it against its schema under `validate: all`.
   */
  askDynamic(to: string, type: string, payload: unknown, opts?: AskOptions): Promise<unknown>;
  /**
   * Posts what this thread has queued for other threads now. The kernel sends a thread's messages
   * in one batch when the current task's synchronous work ends; a message that must not wait for
   * the rest of that work (the first token of a stream, parsed mid-read) is flushed right away.
   */
  flush(): void;
}

/**
 * The context of an actor defined with a message map: `ask`, `tell`, `publish` and `subscribe` take
 * their payload and reply types from the message type (or topic) name, out of the built-in maps
 * plus the actor's own (`messages`, `topics`) and those it declares it `uses`.
 */
export interface ActorContext<C = Record<string, unknown>, M extends MessageMap = BuiltinMessages, T extends TopicMap = BuiltinTopics> extends ContextBase<C> {
  /** One-way message. Throws `ActorError('mailbox_full')` when the target's mailbox is full and overflow is `fail`. */
  tell: TypedTell<M>;
  /** Request/reply; rejects with a typed `ActorError`, never stays pending. */
  ask: TypedAsk<M>;
  /** Publish an event on a topic (delivered to every subscriber in any thread or external client). */
  publish: TypedPublish<T>;
  /** Subscribe to a topic or pattern; returns the unsubscribe function. */
  subscribe: TypedSubscribe<T>;
}

/** The context of an actor defined without a message map (today's style; convert it, see docs/architecture.md). */
export interface UntypedActorContext<C = Record<string, unknown>> extends ContextBase<C> {
  tell(to: string, type: string, payload?: unknown): void;
  ask<R = unknown>(to: string, type: string, payload?: unknown, opts?: AskOptions): Promise<R>;
  publish(topic: string, payload: unknown): void;
  subscribe(topic: string, handler: (payload: any, topic: string) => void): () => void;
}

/** Metadata of the message being handled. */
export interface MessageMeta {
  type: string;
  from: string;
  /** Present for asks: the caller waits for the return value. */
  id?: number;
}

/** What the kernel calls: the payload is checked against the schema before (under `validate: all`). */
export type Handler = (payload: any, meta: MessageMeta, ctx: any) => unknown;

/** A tell-only message (reply schema `null`) may return nothing. */
type Returned<R> = [R] extends [null] ? R | void : R;

/** One handler per message of the map, payload typed from its request schema, return value checked against its reply schema. */
export type Handlers<M extends MessageMap, Ctx> = {
  [K in keyof M & string]: (payload: RequestOf<M, K>, meta: MessageMeta, ctx: Ctx) => Returned<ReplyOf<M, K>> | Promise<Returned<ReplyOf<M, K>>>;
};

export interface ActorInstance<H = Record<string, Handler>> {
  handlers: H;
  /** Called on graceful shutdown (within the child's shutdown timeout). */
  stop?: () => unknown;
  /**
   * Setup work that need not hold up the boot (opening a store, loading heavy modules): the thread
   * reports ready when `setup` returns, and this actor's messages wait in its mailbox (never lost,
   * still redelivered after a crash) until the promise resolves. A rejection crashes the thread, so
   * its supervisor restarts it. The liveness deadline applies meanwhile: yield, do not block.
   */
  ready?: Promise<unknown>;
}

interface DefinitionBase {
  /**
   * What happens to messages still queued for this actor when it crashes:
   * `redeliver` hands them to its successor, `fail` rejects the waiting asks with `actor_crashed`.
   * The message being processed at the crash is never redelivered (it may be what crashed it).
   * `kernel.actors.<name>.on_crash` in the config wins over it.
   */
  onCrash?: 'redeliver' | 'fail';
  /**
   * How many messages may be in progress at once. Synchronous handlers always run one at a time;
   * async handlers interleave at their awaits up to this bound (default: unbounded, so a long
   * request never blocks e.g. a cancel). Messages beyond it wait in the mailbox and count
   * against the senders' credit window.
   */
  concurrency?: number;
}

/** `Static<S>` of the config schema, or a plain record when the actor declares none. */
export type ConfigOf<S extends TSchema> = TSchema extends S ? Record<string, unknown> : Static<S>;

/** The context type of a typed definition. */
export type ContextOf<M extends MessageMap, S extends TSchema, U extends MessageMap, T extends TopicMap> = ActorContext<ConfigOf<S>, BuiltinMessages & M & U, BuiltinTopics & T>;

export interface TypedActorDefinition<M extends MessageMap, S extends TSchema = TSchema, U extends MessageMap = NoEntries, T extends TopicMap = NoEntries> extends DefinitionBase {
  /** The messages this actor handles (its map in `protocol/<actor>.ts`, or a user actor's own). */
  messages: M;
  /** Other (non built-in) message maps this actor sends to, so its `ask`/`tell` are typed for them. */
  uses?: U;
  /** Topics this actor publishes besides the built-in ones. */
  topics?: T;
  /** Schema of this actor's config section (a user actor's section is validated against it at config load). */
  config?: S;
  setup(ctx: ContextOf<M, S, U, T>): ActorInstance<Handlers<M, ContextOf<M, S, U, T>>> | Promise<ActorInstance<Handlers<M, ContextOf<M, S, U, T>>>>;
}

export interface UntypedActorDefinition<C = Record<string, unknown>> extends DefinitionBase {
  messages?: undefined;
  setup(ctx: UntypedActorContext<C>): ActorInstance<Record<string, (payload: any, meta: MessageMeta, ctx: UntypedActorContext<C>) => unknown>> | Promise<ActorInstance<Record<string, (payload: any, meta: MessageMeta, ctx: UntypedActorContext<C>) => unknown>>>;
}

/** What the kernel loads from an actor module's default export. */
export interface ActorDefinition extends DefinitionBase {
  messages?: MessageMap;
  uses?: MessageMap;
  topics?: TopicMap;
  config?: TSchema;
  setup(ctx: any): ActorInstance | Promise<ActorInstance>;
}

/**
 * Define an actor. With `messages` (every actor of this repo, and user actors), each handler's
 * payload is typed from its request schema and its return value must match its reply schema.
 */
export function defineActor<const M extends MessageMap, S extends TSchema = TSchema, U extends MessageMap = NoEntries, T extends TopicMap = NoEntries>(def: TypedActorDefinition<M, S, U, T>): TypedActorDefinition<M, S, U, T>;
/** Today's untyped style (payloads `any`): kept so branches written before the typed API still build. */
export function defineActor<C = Record<string, unknown>>(def: UntypedActorDefinition<C>): UntypedActorDefinition<C>;
export function defineActor(def: unknown): unknown {
  return def;
}

/** True when a module's default export is something `defineActor` made. */
export function isActorDefinition(v: unknown): v is ActorDefinition {
  return typeof v === 'object' && v !== null && typeof (v as { setup?: unknown }).setup === 'function';
}
