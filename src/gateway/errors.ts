/**
 * The gateway's own error codes and the one mapping of every error code (the kernel's, the actors',
 * the gateway's) to an HTTP status; the two body shapes: OpenAI's `{error: {message, type, code}}`
 * on /v1/*, the project's `{error: {code, message, details?}}` everywhere else.
 */
import { errorsOf } from '../../protocol/define.js';
import { ActorError, errorFactory } from '../kernel/errors.js';

export const gatewayErrors = errorsOf({
  unauthorized: 'missing or wrong bearer token',
  token_in_query: 'a credential was sent in the query string (send it in the Authorization header)',
  locked_out: 'too many failed authentications from this address; wait Retry-After seconds',
  rate_limited: 'too many requests in the window; wait Retry-After seconds',
  forbidden_origin: 'the Origin is not in gateway.cors_origins',
  not_found: 'no such route, agent, model or object',
  model_not_found: 'the model names no agent and no configured alias',
  payload_too_large: 'the body is over the route limit (gateway.body_limits)',
  unsupported_media_type: 'the body is not JSON (Content-Type: application/json)',
  bad_request: 'the body is malformed or does not match the route schema (the message names the field)',
  unsupported: 'a feature of the request that this gateway does not provide',
});

export const gatewayError = errorFactory(gatewayErrors);

/** HTTP status for an error code; unknown codes of an actor are its failure (500). */
const STATUS: Record<string, number> = {
  bad_request: 400, invalid_message: 400, token_in_query: 400, unsupported: 400, blocked_by_safety: 400,
  context_length: 400, invalid_arguments: 400, invalid_routine: 400, invalid_job: 400, invalid_trigger: 400,
  unauthorized: 401, webhook_unauthorized: 401,
  forbidden_origin: 403,
  not_found: 404, model_not_found: 404, unknown_actor: 404, unknown_type: 404, unknown_routine: 404,
  webhook_replayed: 409, conflict: 409,
  payload_too_large: 413, unsupported_media_type: 415,
  rate_limited: 429, locked_out: 429, mailbox_full: 503,
  cancelled: 499,
  all_providers_failed: 502, no_providers: 503, no_router: 503, router_crashed: 502,
  actor_crashed: 503, actor_stuck: 503, actor_stopped: 503, shutting_down: 503,
  timeout: 504,
};

export function httpStatus(code: string): number {
  return STATUS[code] ?? 500;
}

/** OpenAI's `type` for a status. */
function openaiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'invalid_request_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openaiErrorBody(e: ActorError, param?: string): { error: { message: string; type: string; code: string; param: string | null } } {
  return { error: { message: e.message, type: openaiType(httpStatus(e.code)), code: e.code, param: param ?? null } };
}

export function projectErrorBody(e: ActorError): { error: { code: string; message: string; details?: unknown } } {
  return { error: e.toJSON() };
}
