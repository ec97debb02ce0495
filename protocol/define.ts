/**
 * How a message is defined once and typed everywhere.
 *
 * A message map (one per actor, in `protocol/<actor>.ts`) names each message type with its request
 * schema, its reply schema and the actor path it is addressed to. The TypeScript types of payloads
 * and replies are derived from those schemas (`Static<>`), so the schema a validator checks, the
 * payload a handler receives and the reply a caller awaits are one definition.
 *
 * Topics likewise: a topic map names each topic (or topic pattern, `*` standing for one or more
 * characters, e.g. `agents/*\/events`) with its payload schema.
 */
import type { Static, TSchema } from '@sinclair/typebox';

export interface MessageSpec<Q extends TSchema = TSchema, R extends TSchema = TSchema> {
  readonly request: Q;
  readonly reply: R;
  /** The path of the actor that handles it; `*` stands for a part chosen at run time (`agents/*`). */
  readonly to: string;
}

export type MessageMap = { readonly [type: string]: MessageSpec };
export type TopicMap = { readonly [topic: string]: TSchema };

/** Attach the handling actor's path to each entry of a map of `{request, reply}` schemas. */
export function messagesOf<const M extends Record<string, { request: TSchema; reply: TSchema }>>(
  to: string,
  m: M,
): { readonly [K in keyof M]: { readonly request: M[K]['request']; readonly reply: M[K]['reply']; readonly to: string } } {
  const out: Record<string, MessageSpec> = {};
  for (const [type, s] of Object.entries(m)) out[type] = { request: s.request, reply: s.reply, to };
  return out as { readonly [K in keyof M]: { readonly request: M[K]['request']; readonly reply: M[K]['reply']; readonly to: string } };
}

/** A topic map (identity at run time; keeps the literal keys for typing). */
export function topicsOf<const T extends Record<string, TSchema>>(t: T): T {
  return t;
}

/** The payload type of message `K` of map `M`. */
export type RequestOf<M extends MessageMap, K extends keyof M> = Static<M[K]['request']>;
/** The reply type of message `K` of map `M`. */
export type ReplyOf<M extends MessageMap, K extends keyof M> = Static<M[K]['reply']>;

export interface AskOptions {
  /** Reject with `ActorError('timeout')` after this many ms (default: `kernel.ask_timeout_ms`). */
  timeoutMs?: number;
  /** Abort the wait early (the reply, if it comes, is ignored). */
  signal?: AbortSignal;
}

/** The payload may be left out when an empty object is a valid request. */
/** A map with no entries (the default of optional maps). */
export type NoEntries = Record<never, never>;

export type AskArgs<Q> = NoEntries extends Q ? [payload?: Q, opts?: AskOptions] : [payload: Q, opts?: AskOptions];
export type TellArgs<Q> = NoEntries extends Q ? [payload?: Q] : [payload: Q];

/** `ask(to, type, payload, opts)` with payload and reply typed from the message type's name. */
export type TypedAsk<M extends MessageMap> = <K extends keyof M & string>(to: string, type: K, ...args: AskArgs<RequestOf<M, K>>) => Promise<ReplyOf<M, K>>;
/** `tell(to, type, payload)` with the payload typed from the message type's name. */
export type TypedTell<M extends MessageMap> = <K extends keyof M & string>(to: string, type: K, ...args: TellArgs<RequestOf<M, K>>) => void;

/** `agents/*\/events` as a type: `agents/${string}/events`. */
export type PatternType<S extends string> = S extends `${infer A}*${infer B}` ? `${A}${string}${PatternType<B>}` : S;

/** The key of topic map `T` whose pattern matches topic name `N` (never when none does). */
export type TopicKey<T extends TopicMap, N extends string> = { [K in keyof T & string]: N extends PatternType<K> ? K : never }[keyof T & string];

/**
 * The payload type of topic `N`: from its schema when the map has it, `unknown` for a topic
 * chosen at run time (e.g. a configured notification topic) or a subscription pattern.
 */
export type TopicPayload<T extends TopicMap, N extends string> = [TopicKey<T, N>] extends [never] ? unknown : Static<T[TopicKey<T, N>]>;

export type TypedPublish<T extends TopicMap> = <N extends string>(topic: N, payload: TopicPayload<T, N>) => void;
export type TypedSubscribe<T extends TopicMap> = <N extends string>(topic: N, handler: (payload: TopicPayload<T, N>, topic: string) => void) => () => void;

/**
 * An actor's own error codes, declared next to its messages: code → when it happens. The kernel's
 * error factory (`errorFactory` in `rustyclaw`) turns such a declaration into typed constructors,
 * and the coverage test lists them in one table.
 */
export function errorsOf<const E extends Record<string, string>>(codes: E): E {
  return codes;
}
