/**
 * Connecting to NATS with this process's credentials (at most one of token, creds file, nkey seed;
 * each from a file or an environment variable) and a reconnect backoff. Failures become one typed
 * error that names the servers and what went wrong, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { ActorError } from '../../kernel/errors.js';
import type { NatsConfig } from './config.js';

function readSecret(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ActorError('bus_unreachable', `nats.${what}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Which credentials this config gives (for error messages: never the secret itself). */
export function credentialSource(cfg: NatsConfig, env: NodeJS.ProcessEnv): string {
  if (cfg.creds_file) return `creds file ${cfg.creds_file}`;
  if (cfg.nkey_seed_file) return `nkey seed file ${cfg.nkey_seed_file}`;
  if (cfg.nkey_seed_env && env[cfg.nkey_seed_env]) return `nkey seed from $${cfg.nkey_seed_env}`;
  if (cfg.token_file) return `token file ${cfg.token_file}`;
  if (cfg.token_env && env[cfg.token_env]) return `token from $${cfg.token_env}`;
  return 'no credentials';
}

export function connectionOptions(cfg: NatsConfig, name: string, env: NodeJS.ProcessEnv = process.env): NodeConnectionOptions {
  const o: NodeConnectionOptions = {
    servers: cfg.servers,
    name,
    // Our own publishes (events, announcements) must not come back to us: local subscribers already had them.
    noEcho: true,
    timeout: cfg.connect_timeout_ms,
    maxReconnectAttempts: -1,
    reconnectTimeWait: cfg.reconnect_initial_ms,
    ignoreClusterUpdates: true,
  };
  if (cfg.creds_file) o.authenticator = credsAuthenticator(new TextEncoder().encode(readSecret(cfg.creds_file, 'creds_file')));
  else if (cfg.nkey_seed_file || (cfg.nkey_seed_env && env[cfg.nkey_seed_env])) {
    const seed = cfg.nkey_seed_file ? readSecret(cfg.nkey_seed_file, 'nkey_seed_file') : env[cfg.nkey_seed_env]!.trim();
    o.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  } else if (cfg.token_file) o.token = readSecret(cfg.token_file, 'token_file');
  else if (cfg.token_env && env[cfg.token_env]) o.token = env[cfg.token_env]!;
  return o;
}

/** Doubling delays from `reconnect_initial_ms` to `reconnect_max_ms` with ±20 % jitter; reset on success. */
export class Backoff {
  private attempt = 0;
  constructor(private readonly initialMs: number, private readonly maxMs: number) {}
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt++, 20));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }
  reset(): void {
    this.attempt = 0;
  }
}

export async function connectNats(cfg: NatsConfig, name: string, backoff: Backoff, env: NodeJS.ProcessEnv = process.env): Promise<NatsConnection> {
  const opts = { ...connectionOptions(cfg, name, env), reconnectDelayHandler: () => backoff.next() };
  try {
    return await connect(opts);
  } catch (err) {
    const e = err as Error & { code?: string };
    const what = /auth/i.test(e.name + ' ' + e.message)
      ? `the server refused the credentials (${credentialSource(cfg, env)}): ${e.message}`
      : e.message;
    throw new ActorError('bus_unreachable', `cannot connect to NATS at ${cfg.servers.join(', ')}: ${what}`, { servers: cfg.servers });
  }
}
