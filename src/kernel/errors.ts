/**
 * The one error type that crosses threads and processes, and the one place error codes come from:
 * the kernel's codes (`protocol/kernel-errors.ts`) and each actor's own, declared next to its messages
 * with `errorsOf` and turned into constructors by `errorFactory` (like fastify's error factory).
 */
import { kernelErrors } from '../../protocol/kernel-errors.js';

export type ActorErrorCode = keyof typeof kernelErrors;

export interface SerializedError {
  code: string;
  message: string;
  details?: unknown;
}

/** A typed error that crosses thread and process boundaries as `{code, message, details}`. */
export class ActorError extends Error {
  readonly code: ActorErrorCode | (string & {});
  readonly details?: unknown;
  constructor(code: ActorErrorCode | (string & {}), message: string, details?: unknown) {
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

/** `make(code, message, details?)` for the codes of one declaration; `codes` lists them. */
export interface ErrorFactory<E extends Record<string, string>> {
  readonly codes: E;
  (code: keyof E & string, message: string, details?: unknown): ActorError;
  /** True when `e` is an error with one of these codes (or exactly `code`). */
  is(e: unknown, code?: keyof E & string): e is ActorError;
}

export function errorFactory<E extends Record<string, string>>(codes: E): ErrorFactory<E> {
  const make = ((code: string, message: string, details?: unknown) => new ActorError(code, message, details)) as ErrorFactory<E>;
  Object.defineProperty(make, 'codes', { value: codes });
  make.is = (e: unknown, code?: string): e is ActorError => {
    const c = (e as { code?: unknown } | null)?.code;
    return typeof c === 'string' && (code === undefined ? Object.hasOwn(codes, c) : c === code);
  };
  return make;
}

export const kernelError = errorFactory(kernelErrors);

/** snake_case like our codes (not a Node system code such as ENOENT, which says nothing to a caller). */
const OWN_CODE = /^[a-z][a-z0-9_]*$/;

/**
 * The kernel-level mapping of whatever a handler throws to the error its caller gets: an
 * `ActorError` as it is; any other error that carries an own snake_case `code` (a domain error
 * class such as MemoryError) keeps that code; anything else is `handler_error`.
 */
export function toActorError(err: unknown): ActorError {
  if (err instanceof ActorError) return err;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const details = (err as { details?: unknown }).details;
    return new ActorError(typeof code === 'string' && OWN_CODE.test(code) ? code : 'handler_error', err.message, details);
  }
  return new ActorError('handler_error', String(err));
}
