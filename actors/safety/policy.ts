/**
 * PolicyEngine: the rule catalogue (id, category, severity, default action) and the resolution of
 * overrides: built-in default < `rules` < `agents.<name>.rules` < `channels.<name>.rules`
 * (the channel is the most specific: a public channel can be stricter than the agent behind it).
 * Custom regex rules from config are compiled here through the safe-regex module (src/lib/safe-regex.ts).
 */
import { FORMAT_RULES, type Severity } from './leak-rules.js';
import { compileSafeRegex } from '../../src/lib/safe-regex.js';
import { CUSTOM_PATTERN_LIMITS } from '../../protocol/safety.js';

/** A bad policy setting; the message starts with its YAML path. */
export class PolicyConfigError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'PolicyConfigError';
  }
}

/** Custom rule patterns: at most 512 characters, flags i m s u (`g` is added: rules scan with exec loops). */
export function compileCustomPattern(pattern: unknown, flags: unknown, path: string): RegExp {
  return compileSafeRegex(pattern, flags, { path, ...CUSTOM_PATTERN_LIMITS }).regex;
}

export type Action = 'ignore' | 'warn' | 'sanitize' | 'block';
export type Verdict = 'allow' | 'warn' | 'sanitize' | 'block';

export interface RuleDef { id: string; category: string; severity: Severity; action: Action; description: string }
export interface RuleOverride { action?: Action; severity?: Severity }
export interface PolicyConfig {
  rules?: Record<string, RuleOverride>;
  agents?: Record<string, { rules?: Record<string, RuleOverride> }>;
  channels?: Record<string, { rules?: Record<string, RuleOverride> }>;
  custom_rules?: Array<{ id: string; pattern: string; flags?: string; category?: string; severity?: Severity; action?: Action; description?: string }>;
}

export interface CustomRule extends RuleDef { re: RegExp }

const ACTIONS = new Set<Action>(['ignore', 'warn', 'sanitize', 'block']);
const SEVERITIES = new Set<Severity>(['low', 'medium', 'high', 'critical']);

function builtinRules(): RuleDef[] {
  const r: RuleDef[] = [];
  const add = (id: string, category: string, severity: Severity, action: Action, description: string) => r.push({ id, category, severity, action, description });
  for (const f of FORMAT_RULES) add(`secret.${f.id}`, 'secret', f.severity, 'sanitize', `credential in the documented ${f.id} format`);
  add('secret.private_key', 'secret', 'critical', 'sanitize', 'PEM/OpenSSH/PuTTY private key block');
  add('secret.basic_auth_url', 'secret', 'critical', 'sanitize', 'password in a URL or connection string');
  add('secret.http_basic_auth', 'secret', 'high', 'sanitize', 'user:password on a command line (curl -u)');
  add('secret.http_auth_header', 'secret', 'high', 'sanitize', 'credential in an Authorization/API-key header');
  add('secret.aws_secret_key', 'secret', 'critical', 'sanitize', 'AWS secret access key assigned to an aws*secret* name');
  add('secret.kubernetes_secret', 'secret', 'high', 'sanitize', 'value of a Kubernetes Secret (data: decoded from base64, stringData: as is)');
  add('secret.generic_password', 'secret', 'high', 'sanitize', 'random-looking value assigned to a password name');
  add('secret.generic_secret', 'secret', 'high', 'sanitize', 'random-looking value assigned to a secret/token/key name, or a long high-entropy assignment');
  add('pii.email', 'pii', 'medium', 'warn', 'e-mail address (redacted by safety.redact unless ignored)');
  add('pii.phone', 'pii', 'medium', 'warn', 'phone number (international or NANP format)');
  add('pii.credit_card', 'pii', 'high', 'sanitize', 'payment card number (brand prefix, length and Luhn check)');
  add('pii.iban', 'pii', 'high', 'sanitize', 'IBAN (country length and mod-97 check)');
  add('control.bidi', 'control', 'high', 'sanitize', 'bidirectional override/isolate characters (Trojan Source)');
  add('control.zero_width', 'control', 'medium', 'sanitize', 'zero-width and invisible formatting characters');
  add('control.tag_chars', 'control', 'high', 'sanitize', 'Unicode tag characters (invisible ASCII smuggling)');
  add('control.variation_selectors', 'control', 'high', 'sanitize', 'supplementary variation selectors (invisible payload encoding)');
  add('control.chars', 'control', 'medium', 'sanitize', 'C0/C1 control characters other than tab and newlines');
  add('markup.html_comment', 'markup', 'medium', 'sanitize', 'HTML comment (hidden text)');
  add('markup.hidden_html', 'markup', 'high', 'sanitize', 'HTML element styled invisible');
  add('markup.active_html', 'markup', 'high', 'sanitize', 'script/iframe/object/style/form and similar active HTML');
  add('markup.script_url', 'markup', 'high', 'sanitize', 'javascript:/vbscript:/data:text/html URL');
  add('markup.event_handler', 'markup', 'high', 'sanitize', 'inline HTML event handler attribute');
  add('markup.remote_image', 'markup', 'medium', 'sanitize', 'markdown image loading a remote URL (exfiltration channel)');
  add('size.oversized', 'size', 'medium', 'sanitize', 'text longer than limits.max_text_chars (truncated)');
  add('size.too_large', 'size', 'high', 'block', 'input larger than limits.max_input_bytes (not read)');
  add('encoding.invalid_utf8', 'encoding', 'medium', 'sanitize', 'invalid UTF-8 (replaced by U+FFFD)');
  add('encoding.lone_surrogate', 'encoding', 'medium', 'sanitize', 'unpaired UTF-16 surrogate (replaced by U+FFFD)');
  add('encoding.binary', 'encoding', 'high', 'block', 'binary data where text was expected');
  add('injection.inbound', 'injection', 'medium', 'warn', 'prompt-injection / jailbreak patterns in an inbound user message');
  add('injection.untrusted', 'injection', 'high', 'sanitize', 'prompt-injection patterns in tool output, web page or document (marked, warned in the prompt)');
  add('injection.role_marker', 'injection', 'high', 'sanitize', 'chat-template role marker in untrusted text (neutralised)');
  add('ssrf.blocked', 'ssrf', 'high', 'block', 'outbound URL to a non-public address, internal name or disallowed scheme');
  return r;
}

export class PolicyEngine {
  readonly rules = new Map<string, RuleDef>();
  readonly custom: CustomRule[] = [];
  private readonly cache = new Map<string, Map<string, RuleDef>>();

  /** Throws PolicyConfigError / UnsafePatternError naming the YAML path on a bad override or custom rule. */
  constructor(private readonly cfg: PolicyConfig = {}) {
    for (const r of builtinRules()) this.rules.set(r.id, r);
    (cfg.custom_rules ?? []).forEach((c, i) => {
      const path = `safety.custom_rules[${i}]`;
      const id = c.id.startsWith('custom.') ? c.id : `custom.${c.id}`;
      if (this.rules.has(id)) throw new PolicyConfigError(`${path}.id`, `duplicate rule id "${id}"`);
      const re = compileCustomPattern(c.pattern, c.flags, `${path}.pattern`);
      if (c.action !== undefined && !ACTIONS.has(c.action)) throw new PolicyConfigError(`${path}.action`, `unknown action "${c.action}"`);
      if (c.severity !== undefined && !SEVERITIES.has(c.severity)) throw new PolicyConfigError(`${path}.severity`, `unknown severity "${c.severity}"`);
      const def: CustomRule = { id, category: c.category ?? 'custom', severity: c.severity ?? 'medium', action: c.action ?? 'warn', description: c.description ?? `custom pattern ${c.pattern}`, re };
      this.custom.push(def);
      this.rules.set(id, def);
    });
    const checkOverrides = (o: Record<string, RuleOverride> | undefined, path: string) => {
      for (const [id, ov] of Object.entries(o ?? {})) {
        if (!this.rules.has(id) && !this.prefixMatches(id)) throw new PolicyConfigError(`${path}.${id}`, `unknown rule id "${id}" (see \`rustyclaw safety rules\`)`);
        if (ov.action !== undefined && !ACTIONS.has(ov.action)) throw new PolicyConfigError(`${path}.${id}.action`, `unknown action "${ov.action}"`);
        if (ov.severity !== undefined && !SEVERITIES.has(ov.severity)) throw new PolicyConfigError(`${path}.${id}.severity`, `unknown severity "${ov.severity}"`);
      }
    };
    checkOverrides(cfg.rules, 'safety.rules');
    for (const [a, v] of Object.entries(cfg.agents ?? {})) checkOverrides(v.rules, `safety.agents.${a}.rules`);
    for (const [c, v] of Object.entries(cfg.channels ?? {})) checkOverrides(v.rules, `safety.channels.${c}.rules`);
  }

  /** `secret.*` style keys override a whole category. */
  private prefixMatches(id: string): boolean {
    return id.endsWith('.*') && [...this.rules.keys()].some((k) => k.startsWith(id.slice(0, -1)));
  }

  /** Effective rule definitions for a scope (cached per agent/channel pair). */
  scope(agent?: string, channel?: string): Map<string, RuleDef> {
    const key = `${agent ?? ''}\u0000${channel ?? ''}`;
    let m = this.cache.get(key);
    if (m) return m;
    m = new Map();
    const layers = [this.cfg.rules, agent ? this.cfg.agents?.[agent]?.rules : undefined, channel ? this.cfg.channels?.[channel]?.rules : undefined];
    for (const [id, base] of this.rules) {
      let eff: RuleDef = base;
      for (const layer of layers) {
        if (!layer) continue;
        const cat = layer[`${id.split('.')[0]}.*`];
        const own = layer[id];
        for (const ov of [cat, own]) if (ov) eff = { ...eff, ...(ov.action ? { action: ov.action } : {}), ...(ov.severity ? { severity: ov.severity } : {}) };
      }
      m.set(id, eff);
    }
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, m);
    return m;
  }

  resolve(ruleId: string, agent?: string, channel?: string): RuleDef {
    return this.scope(agent, channel).get(ruleId) ?? { id: ruleId, category: ruleId.split('.')[0], severity: 'medium', action: 'warn', description: 'unknown rule' };
  }
}

const ORDER: Record<Verdict, number> = { allow: 0, warn: 1, sanitize: 2, block: 3 };
/** The overall verdict is the strongest action among the findings. */
export function combine(actions: Iterable<Action>): Verdict {
  let v: Verdict = 'allow';
  for (const a of actions) {
    if (a === 'ignore') continue;
    if (ORDER[a] > ORDER[v]) v = a;
  }
  return v;
}
