/**
 * The safety guard actor (`system/safety`). Thin: validates payloads, delegates to SafetyLayer,
 * logs every non-ignore decision (rule, action, location — never the matched text).
 */
import { randomBytes } from 'node:crypto';
import { defineActor, ActorError } from '../../src/kernel/actor.js';
import { Value } from '@sinclair/typebox/value';
import { SafetyConfigSchema, safetyMessages, type SafetyConfig } from '../../protocol/safety.js';
import { SafetyLayer, type Finding } from './layer.js';
import { Base64Error } from './validator.js';
import type { JsonSchema } from './validator.js';

const SOURCES = new Set(['tool', 'web', 'document']);

function textOf(p: { text?: unknown } | null | undefined, type: string): unknown {
  if (!p || typeof p !== 'object') throw new ActorError('invalid_message', `${type}: payload must be an object with a "text" field`);
  const t = p.text;
  if (typeof t === 'string' || t instanceof Uint8Array || t instanceof ArrayBuffer) return t;
  if (t && typeof t === 'object' && typeof (t as { base64?: unknown }).base64 === 'string') return t;
  throw new ActorError('invalid_message', `${type}: "text" must be a string, bytes or {base64: string}`);
}

/** Runs a layer call; a malformed {base64} text becomes invalid_message naming the message type. */
async function guarded<T>(type: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Base64Error) throw new ActorError('invalid_message', `${type}: ${e.message}`);
    throw e;
  }
}
function scopeOf(p: { agent?: unknown; channel?: unknown }) {
  return { agent: typeof p.agent === 'string' ? p.agent : undefined, channel: typeof p.channel === 'string' ? p.channel : undefined };
}

function isSchemaObject(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Applies schema defaults and rejects a bad section with errors named by YAML path (safety.x.y). */
export function resolveConfig(raw: unknown): SafetyConfig {
  const cfg = Value.Default(SafetyConfigSchema, structuredClone(raw ?? {})) as SafetyConfig;
  const errors = [...Value.Errors(SafetyConfigSchema, cfg)].slice(0, 5);
  if (errors.length > 0) {
    throw new Error(errors.map((e) => `safety${e.path.replace(/\//g, '.')}: ${e.message}`).join('; '));
  }
  return cfg;
}

export default defineActor({
  messages: safetyMessages,
  config: SafetyConfigSchema,
  onCrash: 'fail',
  async setup(ctx) {
    const cfg = resolveConfig(ctx.config);
    // A stable per-installation fingerprint key, so fingerprints match across restarts but not across installations.
    let key = cfg.fingerprint_salt || ctx.store.get<string>('fingerprint_key');
    if (!key) {
      key = randomBytes(16).toString('hex');
      await ctx.store.put('fingerprint_key', key);
    }
    let layer: SafetyLayer;
    try {
      layer = new SafetyLayer(cfg, { fingerprintKey: key });
    } catch (e) {
      throw new Error(`safety config: ${(e as Error).message}`, { cause: e });
    }
    const logDecisions = cfg.log_decisions !== false;
    const log = (type: string, scope: { agent?: string; channel?: string }, action: string, findings: Finding[]) => {
      if (!logDecisions || findings.length === 0) return;
      ctx.log.info({ type, ...scope, action, decisions: findings.slice(0, 50).map((f) => ({ rule: f.rule, action: f.action, start: f.start, end: f.end, ...(f.fingerprint ? { fp: f.fingerprint } : {}) })) }, 'safety decision');
    };
    return {
      handlers: {
        'safety.inspect_inbound': async (p) => {
          const scope = scopeOf(p);
          const r = await guarded('safety.inspect_inbound', () => layer.inspectInboundAsync(textOf(p, 'safety.inspect_inbound'), scope));
          log('safety.inspect_inbound', scope, r.action, r.findings);
          return r;
        },
        'safety.inspect_untrusted': async (p) => {
          const text = textOf(p, 'safety.inspect_untrusted');
          if (!SOURCES.has(p.source as string)) throw new ActorError('invalid_message', 'safety.inspect_untrusted: "source" must be tool, web or document');
          const scope = scopeOf(p);
          const r = await guarded('safety.inspect_untrusted', () => layer.inspectUntrustedAsync(text, p.source, scope));
          log('safety.inspect_untrusted', scope, r.action, r.findings);
          return r;
        },
        'safety.redact': async (p) => {
          const scope = scopeOf(p);
          const r = await guarded('safety.redact', () => layer.redactAsync(textOf(p, 'safety.redact'), scope));
          log('safety.redact', scope, r.findings.length ? 'sanitize' : 'allow', r.findings);
          return r;
        },
        'safety.guard_tool_output': async (p) => {
          const type = 'safety.guard_tool_output';
          const text = textOf(p, type);
          if (!SOURCES.has(p.source as string)) throw new ActorError('invalid_message', `${type}: "source" must be tool, web or document`);
          const also = p.also_redact ?? [];
          if (!Array.isArray(also)) throw new ActorError('invalid_message', `${type}: "also_redact" must be an array of texts`);
          const more = also.map((t, i) => textOf({ text: t }, `${type} also_redact[${i}]`));
          const scope = scopeOf(p);
          const r = await guarded(type, () => layer.guardToolOutputAsync(text, p.source, scope, more));
          log('safety.inspect_untrusted', scope, r.inspected.action, r.inspected.findings);
          log('safety.redact', scope, r.redacted.findings.length ? 'sanitize' : 'allow', r.redacted.findings);
          for (const a of r.also) log('safety.redact', scope, a.findings.length ? 'sanitize' : 'allow', a.findings);
          return { inspected: r.inspected, redacted: r.redacted, also_redacted: r.also };
        },
        'safety.check_url': async (p) => {
          if (!p || typeof p.url !== 'string') throw new ActorError('invalid_message', 'safety.check_url: "url" must be a string');
          const r = await layer.checkUrl(p.url, typeof p.resolve === 'boolean' ? p.resolve : undefined);
          if (!r.allowed && logDecisions) ctx.log.info({ type: 'safety.check_url', rule: r.rule, action: 'block', reason: r.reason }, 'safety decision');
          return r;
        },
        'safety.validate_json': (p) => {
          if (!p || !('json' in p)) throw new ActorError('invalid_message', 'safety.validate_json: "json" is required');
          if (p.schema !== undefined && !isSchemaObject(p.schema)) throw new ActorError('invalid_message', 'safety.validate_json: "schema" must be a JSON Schema object');
          return layer.validateJson(p.json, p.schema);
        },
        'safety.stats': () => layer.stats(),
        'safety.rules': (p) => ({ rules: [...layer.policy.scope(p?.agent, p?.channel).values()].map(({ id, category, severity, action, description }) => ({ id, category, severity, action, description })) }),
      },
    };
  },
});
