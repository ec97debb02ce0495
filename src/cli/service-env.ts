/**
 * The environment a service was started with, as far as it matters to a user: which RustyClaw and
 * provider variables were set. Recorded in the service's run file so `rustyclaw providers` and `chat`
 * can tell a user that a variable in *their* shell never reached the running service. Secrets are
 * recorded as `(set)` only; URLs lose any user:password part.
 */
import type { RootConfig } from '../config/load.js';
import { ENV_OVERRIDES } from '../config/load.js';

export interface EnvVar { name: string; secret: boolean }

/** The variables that shape the service: RUSTYCLAW_* overrides and each provider's *_env names. */
export function relevantVariables(config: RootConfig): EnvVar[] {
  const out = new Map<string, EnvVar>();
  for (const [name] of ENV_OVERRIDES) out.set(name, { name, secret: false });
  const providers = (config.providers ?? {}) as Record<string, { base_url_env?: string; api_key_env?: string; model_env?: string }>;
  for (const p of Object.values(providers)) {
    for (const n of [p.base_url_env, p.model_env]) if (n) out.set(n, { name: n, secret: false });
    if (p.api_key_env) out.set(p.api_key_env, { name: p.api_key_env, secret: true });
  }
  return [...out.values()];
}

function shown(v: string, secret: boolean): string {
  if (secret) return '(set)';
  try {
    const u = new URL(v);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
      return u.toString();
    }
  } catch {
    // not a URL: shown as is
  }
  return v;
}

/** Variables that are set, name → shown value (never a secret). */
export function snapshotEnv(config: RootConfig, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, secret } of relevantVariables(config)) {
    const v = env[name];
    if (v !== undefined && v !== '') out[name] = shown(v, secret);
  }
  return out;
}

/**
 * Provider variables that differ between this shell and the running service, as sentences: what a
 * user sees before a chat answer that was produced without their variable.
 */
export function envDrift(config: RootConfig, service: Record<string, string> | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (!service) return [];
  const mine = snapshotEnv(config, env);
  const notes: string[] = [];
  for (const { name } of relevantVariables(config)) {
    if (name.startsWith('RUSTYCLAW_')) continue;
    const a = mine[name];
    const b = service[name];
    if (a !== undefined && b === undefined) notes.push(`${name} is set in this shell but the running service was started without it`);
    else if (a !== undefined && b !== undefined && a !== b) notes.push(`${name} here differs from the running service's (${b})`);
  }
  return notes;
}
