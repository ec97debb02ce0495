/**
 * `/openapi.json`: an OpenAPI 3.1 document of every route, generated from the same schemas the
 * routes validate with (TypeBox is JSON Schema): the REST table's actor messages, the OpenAI routes'
 * request schemas, the webhook route.
 */
import type { FastifyInstance } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { messageSchemas } from '../../protocol/index.js';
import { REST_ROUTES, bodySchema } from './rest.js';
import { ChatCompletionRequestSchema, ResponsesRequestSchema } from './openai-schemas.js';

const ERROR = { $ref: '#/components/schemas/Error' };
const OPENAI_ERROR = { $ref: '#/components/schemas/OpenAiError' };

function plain(s: TSchema): unknown {
  // TypeBox adds symbols (kinds); JSON keeps only the schema.
  return JSON.parse(JSON.stringify(s));
}

function op(summary: string, body: unknown, reply: unknown, error: unknown, params: string[]) {
  return {
    summary,
    security: [{ bearer: [] }],
    ...(params.length ? { parameters: params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })) } : {}),
    ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: body } } } } : {}),
    responses: {
      200: { description: 'the reply', content: { 'application/json': { schema: reply ?? {} } } },
      default: { description: 'a typed error (status from its code)', content: { 'application/json': { schema: error } } },
    },
  };
}

const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');
const pathParams = (url: string) => [...url.matchAll(/:(\w+)/g)].map((m) => m[1]!);

export function openApiDocument(_app: FastifyInstance, url: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (method: string, u: string, o: unknown) => ((paths[openApiPath(u)] ??= {})[method.toLowerCase()] = o);
  for (const r of REST_ROUTES) {
    const b = bodySchema(r);
    const reply = r.type ? messageSchemas[r.type]?.reply : undefined;
    add(r.method, r.url, { ...op(r.summary, b ? plain(b) : undefined, reply ? plain(reply) : undefined, ERROR, pathParams(r.url)), ...(r.type ? { 'x-rustyclaw-message': r.type } : {}) });
  }
  add('GET', '/api/agents', op('configured agents and whether each runs', undefined, undefined, ERROR, []));
  add('GET', '/api/events', { ...op('server-sent events: `status` (the actor tree, on every change), `agent` (agents/*/events), `job` (scheduler.jobs)', undefined, undefined, ERROR, []), responses: { 200: { description: 'text/event-stream' } } });
  add('GET', '/v1/models', op('one model per agent (rustyclaw:<agent>) and the configured model aliases', undefined, undefined, OPENAI_ERROR, []));
  add('POST', '/v1/chat/completions', op('OpenAI Chat Completions (stream: SSE chat.completion.chunk, data: [DONE])', plain(ChatCompletionRequestSchema), undefined, OPENAI_ERROR, []));
  add('POST', '/v1/responses', op('OpenAI Responses (stream: typed events with sequence_number)', plain(ResponsesRequestSchema), undefined, OPENAI_ERROR, []));
  add('POST', '/hooks/{id}', {
    summary: 'webhook trigger of a routine: any body, signed with x-rustyclaw-signature / x-rustyclaw-timestamp (HMAC-SHA256), no bearer token',
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    requestBody: { content: { '*/*': { schema: {} } } },
    responses: { 202: { description: '{job_id}' }, 200: { description: '{skipped}' }, 401: { description: 'bad signature' }, 404: { description: 'unknown routine' }, 409: { description: 'replayed' }, 413: { description: 'too large' } },
  });
  add('GET', '/health', { summary: 'liveness, no token', responses: { 200: { description: '{ok: true}' } } });
  return {
    openapi: '3.1.0',
    info: { title: 'RustyClaw gateway', version: '1' },
    servers: url ? [{ url }] : [],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the token from <data_dir>/run/endpoint.json, $RUSTYCLAW_GATEWAY_TOKEN or gateway.token_file; never in a query string' } },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} } } } },
        OpenAiError: { type: 'object', required: ['error'], properties: { error: { type: 'object', properties: { message: { type: 'string' }, type: { type: 'string' }, code: { type: 'string' }, param: { type: ['string', 'null'] } } } } },
      },
    },
    paths,
  };
}
