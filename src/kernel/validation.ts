/**
 * Checking messages against their schemas. Messages from outside the process are always checked
 * (by the endpoint); with `kernel.validate: all` every in-process request is checked before its
 * handler runs and every reply before it leaves, so drift between a sender, a handler and a schema
 * fails at once with `invalid_message` / `invalid_reply` naming the message type and the field.
 *
 * Checks are compiled once per schema (TypeBox's compiler); the slower error walk runs only on a
 * mismatch.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import type { MessageMap, TopicMap } from '../../protocol/define.js';
import { ActorError } from './errors.js';

export { validateMode, type ValidateMode } from './validate-mode.js';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

export function compiledCheck(schema: TSchema): TypeCheck<TSchema> {
  let c = compiled.get(schema);
  if (!c) compiled.set(schema, (c = TypeCompiler.Compile(schema)));
  return c;
}

/** The first mismatch as `{field, message}`, the field as a dotted path under `root`. */
export function firstMismatch(schema: TSchema, value: unknown, root: string): { field: string; message: string } | null {
  const c = compiledCheck(schema);
  if (c.Check(value)) return null;
  const e = c.Errors(value).First();
  const field = e?.path ? `${root}${e.path.replace(/\//g, '.')}` : root;
  return { field, message: e?.message ?? 'invalid' };
}

/** Validates one actor's requests and replies against its message map. */
export interface MessageCheck {
  /** An `invalid_message` error, or null when the payload matches (or the type is not in the map). */
  request(type: string, payload: unknown): ActorError | null;
  /** An `invalid_reply` error, or null when the reply matches. */
  reply(type: string, value: unknown): ActorError | null;
}

export function messageCheck(map: MessageMap): MessageCheck {
  return {
    request(type, payload) {
      const s = map[type];
      if (!s) return null;
      // An ask without payload carries `undefined`: it stands for "no fields", as callers mean it.
      const bad = firstMismatch(s.request, payload === undefined ? {} : payload, 'payload');
      return bad ? new ActorError('invalid_message', `${type}: ${bad.field}: ${bad.message}`, { type, field: bad.field }) : null;
    },
    reply(type, value) {
      const s = map[type];
      if (!s) return null;
      const bad = firstMismatch(s.reply, value === undefined ? null : value, 'reply');
      return bad ? new ActorError('invalid_reply', `${type}: the handler's ${bad.field}: ${bad.message}`, { type, field: bad.field }) : null;
    },
  };
}

/** Checks published payloads of known topics (unknown topics, e.g. configured ones, pass). */
export function topicCheck(topics: TopicMap): (topic: string, payload: unknown) => ActorError | null {
  const entries = Object.entries(topics);
  return (topic, payload) => {
    for (const [pattern, schema] of entries) {
      if (!nameMatches(pattern, topic)) continue;
      const bad = firstMismatch(schema, payload, 'payload');
      if (bad) return new ActorError('invalid_message', `topic ${topic}: ${bad.field}: ${bad.message}`, { topic, field: bad.field });
    }
    return null;
  };
}

/** `agents/*\/events` matches `agents/a/events`; `*` stands for one or more characters. */
export function nameMatches(pattern: string, name: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === name;
  if (!name.startsWith(parts[0])) return false;
  let at = parts[0].length;
  for (let i = 1; i < parts.length; i++) {
    const last = i === parts.length - 1;
    const idx = last ? name.length - parts[i].length : name.indexOf(parts[i], at + 1);
    if (idx < at + 1 || (last && !name.endsWith(parts[i]))) return false;
    at = idx + parts[i].length;
  }
  return true;
}
