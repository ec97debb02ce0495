/**
 * Messages of the safety guard actor (`system/safety`) and its config section (`safety:` in rustyclaw.yaml).
 * Version 1.
 */
import { Type, type Static } from '@sinclair/typebox';
import { messagesOf } from './define.js';

export const SAFETY_PROTOCOL_VERSION = 1;
export const SAFETY_ACTOR = 'system/safety';
/** How custom rule patterns are checked (src/lib/safe-regex.ts), at config load and in the actor alike. */
export const CUSTOM_PATTERN_LIMITS = { allowedFlags: 'imsu', maxLength: 512, global: true } as const;

export const SafetyAction = Type.Union([Type.Literal('ignore'), Type.Literal('warn'), Type.Literal('sanitize'), Type.Literal('block')]);
export const SafetyVerdict = Type.Union([Type.Literal('allow'), Type.Literal('warn'), Type.Literal('sanitize'), Type.Literal('block')]);
export const SafetySeverity = Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high'), Type.Literal('critical')]);
export type SafetyAction = Static<typeof SafetyAction>;
export type SafetyVerdict = Static<typeof SafetyVerdict>;
export type SafetySeverity = Static<typeof SafetySeverity>;

export const SafetyFinding = Type.Object({
  rule: Type.String({ description: 'rule id, e.g. secret.aws_access_key, pii.email, control.bidi, injection.untrusted' }),
  category: Type.String(),
  severity: SafetySeverity,
  action: SafetyAction,
  /** UTF-16 offsets into the text as received (before any edit). */
  start: Type.Integer(),
  end: Type.Integer(),
  fingerprint: Type.Optional(Type.String()),
});
export type SafetyFinding = Static<typeof SafetyFinding>;

/**
 * Text may also arrive as bytes (a Buffer/Uint8Array survives structured clone); it is decoded as UTF-8.
 * Over the JSON endpoint bytes travel as `{ base64 }` (a Uint8Array does not survive JSON), so invalid
 * UTF-8 and binary files are judged as the bytes they are, not as a client's lossy decoding.
 */
export const Base64Bytes = Type.Object({ base64: Type.String({ description: 'the bytes, standard base64 (RFC 4648 §4, padding optional)' }) }, { additionalProperties: false });
export type Base64Bytes = Static<typeof Base64Bytes>;
const TextInput = Type.Union([Type.String(), Type.Uint8Array(), Base64Bytes]);
const Scope = { agent: Type.Optional(Type.String()), channel: Type.Optional(Type.String()) };

export const InspectInboundRequest = Type.Object({ text: TextInput, ...Scope });
export const InspectInboundReply = Type.Object({
  action: SafetyVerdict,
  text: Type.String({ description: 'sanitized text (empty when the input could not be read at all)' }),
  findings: Type.Array(SafetyFinding),
  truncated_findings: Type.Optional(Type.Integer()),
});

export const UntrustedSource = Type.Union([Type.Literal('tool'), Type.Literal('web'), Type.Literal('document')]);
export const InspectUntrustedRequest = Type.Object({ text: TextInput, source: UntrustedSource, ...Scope });
export const InspectUntrustedReply = Type.Object({
  action: SafetyVerdict,
  text: Type.String({ description: 'sanitized text wrapped in <untrusted_content> markers for the prompt' }),
  injection: Type.Object({ score: Type.Number(), families: Type.Array(Type.String()), spans: Type.Array(Type.Object({ family: Type.String(), start: Type.Integer(), end: Type.Integer() })) }),
  findings: Type.Array(SafetyFinding),
  truncated_findings: Type.Optional(Type.Integer()),
});

export const RedactRequest = Type.Object({ text: TextInput, ...Scope });
export const RedactReply = Type.Object({
  text: Type.String({ description: 'secrets and PII replaced by [REDACTED:<kind>:<fingerprint>]' }),
  findings: Type.Array(SafetyFinding),
  truncated_findings: Type.Optional(Type.Integer()),
});

/**
 * A tool's output on its way to a model, in one ask: `inspected` equals `safety.inspect_untrusted`
 * and `redacted` equals `safety.redact` of the same text (one scan serves both), `also_redacted[i]`
 * equals `safety.redact` of `also_redact[i]` (a tool's log, its structured output as JSON text).
 */
export const GuardToolOutputRequest = Type.Object({
  text: TextInput,
  source: UntrustedSource,
  also_redact: Type.Optional(Type.Array(TextInput, { description: 'further texts that are only redacted' })),
  ...Scope,
});
export const GuardToolOutputReply = Type.Object({
  inspected: InspectUntrustedReply,
  redacted: RedactReply,
  also_redacted: Type.Array(RedactReply),
});

export const CheckUrlRequest = Type.Object({ url: Type.String(), resolve: Type.Optional(Type.Boolean({ description: 'also resolve the host and check every address (default: ssrf.resolve_dns)' })) });
export const CheckUrlReply = Type.Object({ allowed: Type.Boolean(), reason: Type.Optional(Type.String()), address: Type.Optional(Type.String()), rule: Type.Optional(Type.String()) });

export const ValidateJsonRequest = Type.Object({ json: Type.Unknown({ description: 'a JSON text or an already parsed value' }), schema: Type.Optional(Type.Unknown()) });
export const ValidateJsonReply = Type.Object({ ok: Type.Boolean(), issues: Type.Array(Type.Object({ rule: Type.String(), message: Type.String(), path: Type.Optional(Type.String()) })) });

export const StatsRequest = Type.Object({});
export const StatsReply = Type.Object({
  since: Type.String(),
  scans: Type.Record(Type.String(), Type.Integer(), { description: 'per message type' }),
  bytes: Type.Integer(),
  actions: Type.Record(Type.String(), Type.Integer(), { description: 'per overall verdict' }),
  rules: Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer()), { description: 'per rule id, per action' }),
});

export const RulesRequest = Type.Object({ agent: Type.Optional(Type.String()), channel: Type.Optional(Type.String()) });
export const RulesReply = Type.Object({ rules: Type.Array(Type.Object({ id: Type.String(), category: Type.String(), severity: SafetySeverity, action: SafetyAction, description: Type.String() })) });

export const safetyMessages = messagesOf('system/safety', {
  'safety.inspect_inbound': { request: InspectInboundRequest, reply: InspectInboundReply },
  'safety.inspect_untrusted': { request: InspectUntrustedRequest, reply: InspectUntrustedReply },
  'safety.redact': { request: RedactRequest, reply: RedactReply },
  'safety.guard_tool_output': { request: GuardToolOutputRequest, reply: GuardToolOutputReply },
  'safety.check_url': { request: CheckUrlRequest, reply: CheckUrlReply },
  'safety.validate_json': { request: ValidateJsonRequest, reply: ValidateJsonReply },
  'safety.stats': { request: StatsRequest, reply: StatsReply },
  'safety.rules': { request: RulesRequest, reply: RulesReply },
});

export type InspectInboundReply = Static<typeof InspectInboundReply>;
export type InspectUntrustedReply = Static<typeof InspectUntrustedReply>;
export type RedactReply = Static<typeof RedactReply>;
export type GuardToolOutputReply = Static<typeof GuardToolOutputReply>;
export type CheckUrlReply = Static<typeof CheckUrlReply>;
export type StatsReply = Static<typeof StatsReply>;

// ---- config ------------------------------------------------------------------------------------

const RuleOverride = Type.Object({ action: Type.Optional(SafetyAction), severity: Type.Optional(SafetySeverity) }, { additionalProperties: false });
const RuleOverrides = Type.Record(Type.String(), RuleOverride, { default: {} });

export const SafetyConfigSchema = Type.Object({
  fingerprint_salt: Type.String({ default: '', description: 'HMAC key for redaction fingerprints; empty = random per installation, kept in the actor store' }),
  rules: RuleOverrides,
  agents: Type.Record(Type.String(), Type.Object({ rules: RuleOverrides }, { additionalProperties: false }), { default: {} }),
  channels: Type.Record(Type.String(), Type.Object({ rules: RuleOverrides }, { additionalProperties: false }), { default: {} }),
  custom_rules: Type.Array(Type.Object({
    id: Type.String({ pattern: '^[a-z0-9_.-]{1,64}$' }),
    pattern: Type.String({ maxLength: 512 }),
    flags: Type.Optional(Type.String({ pattern: '^[imsu]*$' })),
    category: Type.Union([Type.Literal('secret'), Type.Literal('pii'), Type.Literal('injection'), Type.Literal('custom')], { default: 'custom' }),
    severity: Type.Optional(SafetySeverity),
    action: Type.Optional(SafetyAction),
    description: Type.Optional(Type.String()),
  }, { additionalProperties: false }), { default: [] }),
  limits: Type.Object({
    max_input_bytes: Type.Integer({ default: 64 * 1024 * 1024, minimum: 1 }),
    max_text_chars: Type.Integer({ default: 1_000_000, minimum: 1 }),
    regex_max_input: Type.Integer({ default: 1_048_576, minimum: 1024 }),
    max_findings: Type.Integer({ default: 500, minimum: 1 }),
    json_max_depth: Type.Integer({ default: 64, minimum: 1 }),
  }, { additionalProperties: false, default: {} }),
  injection: Type.Object({
    threshold: Type.Number({ default: 0.35, minimum: 0, maximum: 1 }),
  }, { additionalProperties: false, default: {} }),
  pii: Type.Object({
    email: Type.Boolean({ default: true }),
    phone: Type.Boolean({ default: true }),
    credit_card: Type.Boolean({ default: true }),
    iban: Type.Boolean({ default: true }),
  }, { additionalProperties: false, default: {} }),
  ssrf: Type.Object({
    allowed_schemes: Type.Array(Type.String(), { default: ['http', 'https', 'ws', 'wss'] }),
    blocked_hosts: Type.Array(Type.String(), { default: [] }),
    allowed_hosts: Type.Array(Type.String(), { default: [] }),
    allowed_cidrs: Type.Array(Type.String(), { default: [] }),
    blocked_cidrs: Type.Array(Type.String(), { default: [] }),
    allow_single_label_hosts: Type.Boolean({ default: false }),
    resolve_dns: Type.Boolean({ default: true }),
  }, { additionalProperties: false, default: {} }),
  log_decisions: Type.Boolean({ default: true }),
}, { additionalProperties: false });
export type SafetyConfig = Static<typeof SafetyConfigSchema>;

// ---- default-deny helpers for callers ----------------------------------------------------------

type AskFn = (to: string, type: string, payload?: unknown, opts?: { timeoutMs?: number }) => Promise<any>;

/** Outbound URL check that fails closed: any error from the safety actor (down, crashed, timeout) means "not allowed". */
export async function checkUrlOrDeny(ask: AskFn, url: string, opts: { timeoutMs?: number; to?: string } = {}): Promise<CheckUrlReply> {
  try {
    return (await ask(opts.to ?? SAFETY_ACTOR, 'safety.check_url', { url }, { timeoutMs: opts.timeoutMs ?? 5000 })) as CheckUrlReply;
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    return { allowed: false, reason: `safety check unavailable (${code}): denied by default`, rule: 'safety_unavailable' };
  }
}

/** Redaction that fails closed: when the safety actor cannot answer, the text is withheld entirely. */
export async function redactOrBlock(ask: AskFn, text: string, opts: { timeoutMs?: number; to?: string; agent?: string; channel?: string } = {}): Promise<{ blocked: boolean; text: string; reason?: string; findings: RedactReply['findings'] }> {
  try {
    const r = (await ask(opts.to ?? SAFETY_ACTOR, 'safety.redact', { text, agent: opts.agent, channel: opts.channel }, { timeoutMs: opts.timeoutMs ?? 5000 })) as RedactReply;
    return { blocked: false, text: r.text, findings: r.findings };
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    return { blocked: true, text: '[withheld: safety check unavailable]', reason: `safety redaction unavailable (${code})`, findings: [] };
  }
}
