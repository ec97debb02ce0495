/**
 * The `gateway:` config section: the HTTP side of the endpoint (same host and port as
 * `endpoint:`). Defaults are secure: loopback, a token always required, a failed-auth lockout and
 * per-caller rate limits near IronClaw's (60 writes / 120 reads per minute), CORS off.
 */
import { Type, type Static } from '@sinclair/typebox';

const Limits = (reads: number, writes: number) =>
  Type.Object(
    {
      reads: Type.Integer({ minimum: 1, default: reads, description: 'GET/HEAD requests per window' }),
      writes: Type.Integer({ minimum: 1, default: writes, description: 'other requests per window' }),
    },
    { additionalProperties: false, default: {} },
  );

export const GatewayConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'serve HTTP on the endpoint port (the WebSocket endpoint works either way)' }),
    token_env: Type.String({ default: 'RUSTYCLAW_GATEWAY_TOKEN', description: 'environment variable holding an extra bearer token' }),
    token_file: Type.String({ default: '', description: 'file with one `sha256:<hex>` token hash per line (hashed at rest); relative to the data dir' }),
    openai: Type.Boolean({ default: true, description: 'serve /v1/models, /v1/chat/completions, /v1/responses' }),
    console: Type.Boolean({ default: true, description: 'serve the web console at /' }),
    cors_origins: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'origins allowed by CORS and for WebSocket/browser requests; empty = none' }),
    lockout: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        max_failures: Type.Integer({ minimum: 1, default: 10 }),
        window_ms: Type.Integer({ minimum: 1, default: 60_000 }),
        lockout_ms: Type.Integer({ minimum: 1, default: 300_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    rate_limit: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        window_ms: Type.Integer({ minimum: 1, default: 60_000 }),
        per_token: Limits(120, 60),
        per_ip: Limits(600, 300),
      },
      { additionalProperties: false, default: {} },
    ),
    body_limits: Type.Object(
      {
        api: Type.Integer({ minimum: 1024, default: 1_048_576, description: '/v1/* request bodies' }),
        rest: Type.Integer({ minimum: 1024, default: 65_536, description: '/api/* request bodies' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Slowloris guard: a request whose headers/body do not arrive within this is dropped. */
    request_timeout_ms: Type.Integer({ minimum: 100, default: 30_000 }),
  },
  { additionalProperties: false, default: {} },
);
export type GatewayConfig = Static<typeof GatewayConfigSchema>;
