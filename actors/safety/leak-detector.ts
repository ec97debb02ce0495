/**
 * LeakDetector: finds credentials (format rules + keyword-context generic secrets) and PII
 * (emails, phone numbers, Luhn-valid card numbers, mod-97-valid IBANs) and redacts them with a stable
 * fingerprint so the same secret is recognisable in logs without being shown.
 *
 * Linear time by construction: every regex is bounded, context rules start from keyword hits found
 * with one scan and then match forward with a sticky, bounded regex.
 */
import { createHmac } from 'node:crypto';
import { FORMAT_RULES, type FormatRule, type Severity } from './leak-rules.js';
import { shannonEntropy, luhnValid, ibanValid } from './entropy.js';

export type { Severity } from './leak-rules.js';
export type LeakCategory = 'secret' | 'pii';

export interface LeakFinding {
  /** Full rule id, e.g. `secret.aws_access_key` or `pii.email`. */
  rule: string;
  category: LeakCategory;
  severity: Severity;
  /** UTF-16 offsets of the secret value itself in the scanned text. */
  start: number;
  end: number;
  /** Stable short fingerprint of the value (HMAC-SHA256, first 8 hex digits). */
  fingerprint: string;
}

/** Values that are documentation examples, fillers or references, not secrets (gitleaks-style allowlist). */
export function looksLikePlaceholder(v: string): boolean {
  if (/EXAMPLE|example|x{4,}|X{4,}|\*{3,}|\.{3}|<[^>]*>|\$\{|\{\{|%\(|^\$[A-Za-z_]|REDACTED|redacted|your[_-]|YOUR[_-]|placeholder|PLACEHOLDER|changeme|CHANGEME|dummy|DUMMY|sample|test_?key|0{8,}|1234567/.test(v)) return true;
  // Very low variety for its length: fillers like aaaaaaaa, abababab.
  const distinct = new Set(v).size;
  if (v.length >= 12 && distinct < 6) return true;
  if (distinct <= 2) return true;
  return /(.)\1{7,}/.test(v);
}

interface ContextHit { rule: string; severity: Severity; start: number; end: number }

/** Key-like names: a value assigned to one of these is a secret if it looks random enough. */
const KEY_NAME_RE = /passw(?:or)?d|passwd|\bpwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|auth[_.-]?key|credential|private[_.-]?key|signing[_.-]?key|encryption[_.-]?key|session[_.-]?key|master[_.-]?key|\bauth\b/gi;
/** After a key name: rest of the identifier, closing quote, assignment operator (also XML `value=`), the value. */
const ASSIGN_RE = /[A-Za-z0-9_.-]{0,30}["'\]]{0,2}[ \t]{0,5}(?::=|=>|==|[:=]|"?[ \t]{1,3}value=)[ \t]{0,5}(?:[a-z]?["'`]){0,1}([^\s"'`;,<>(){}[\]]{6,256})/y;
/** Values that are code or references, not literals. */
const REFERENCE_RE = /^(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$|[a-z][a-z0-9+.-]{1,20}:\/\/|~?\/|\.\.?\/|\$|%|@|&|env[.:(]|process\.env|os\.environ|os\.getenv|getenv|secrets\.|vault:|ref\+|arn:|true$|false$|null$|none$|nil$|undefined$|self\.|this\.|config\.|settings\.|args\.|options\.|opts\.|params\.|req\.|request\.|ctx\.|context\.)/i;

function isRandomLooking(v: string, minEntropy: number): boolean {
  if (v.length < 8) return false;
  const classes = (/[a-z]/.test(v) ? 1 : 0) + (/[A-Z]/.test(v) ? 1 : 0) + (/[0-9]/.test(v) ? 1 : 0) + (/[^A-Za-z0-9]/.test(v) ? 1 : 0);
  if (classes < 2) return false;
  // Identifiers and dotted paths (camelCase, snake_case words) are code, not secrets.
  if (/^[A-Za-z]+(?:[._-][A-Za-z]+)*$/.test(v) && !/[A-Z].*[A-Z].*[A-Z].*[A-Z]/.test(v)) return false;
  if (/^[a-z]+[A-Z][a-zA-Z]*$/.test(v) && shannonEntropy(v) < 3.6) return false;
  return shannonEntropy(v) >= minEntropy;
}

function genericAssignments(text: string, lower: string, out: ContextHit[]): void {
  KEY_NAME_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  let lastEnd = -1;
  while ((m = KEY_NAME_RE.exec(lower)) !== null) {
    const at = m.index + m[0].length;
    if (at <= lastEnd) continue;
    ASSIGN_RE.lastIndex = at;
    const a = ASSIGN_RE.exec(text);
    if (!a) continue;
    const value = a[1].replace(/[.]+$/, '');
    const start = a.index + a[0].length - a[1].length;
    lastEnd = start + value.length;
    if (REFERENCE_RE.test(value) || looksLikePlaceholder(value)) continue;
    // Numbers alone (ports, timeouts, ids) are not secrets.
    if (/^[\d.:-]+$/.test(value)) continue;
    const name = lower.slice(Math.max(0, m.index - 30), at);
    const isPassword = /pass|pwd/.test(m[0]);
    if (!isRandomLooking(value, isPassword ? 2.8 : 3.2)) continue;
    const rule = /aws/.test(name) && /^[A-Za-z0-9/+=]{40}$/.test(value) ? 'aws_secret_key' : isPassword ? 'generic_password' : 'generic_secret';
    out.push({ rule, severity: rule === 'aws_secret_key' ? 'critical' : 'high', start, end: start + value.length });
  }
}

/** `scheme://user:password@host` in URLs and connection strings. */
const URL_CRED_RE = /\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}:\/\/([^\s:/?#@'"`<>]{1,64}):([^\s/?#@'"`<>]{1,128})@[A-Za-z0-9.[\]-]{1,255}/g;
function urlCredentials(text: string, out: ContextHit[]): void {
  if (!text.includes('://')) return;
  URL_CRED_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = URL_CRED_RE.exec(text)) !== null) {
    const pw = m[2];
    if (pw.length < 3 || /^(?:pass(?:word)?|passwd|pwd|secret|\*+|x+)$/i.test(pw) || REFERENCE_RE.test(pw) || looksLikePlaceholder(pw)) continue;
    const start = m.index + m[0].indexOf(':' + pw + '@') + 1;
    out.push({ rule: 'basic_auth_url', severity: 'critical', start, end: start + pw.length });
  }
}

/** curl/httpie `-u user:pass`, `--user "u":"p"`, mysql `-pPASSWORD`. */
const CLI_USER_RE = /(?:^|\s)(?:-u|--user|-U)(?:[ \t]{1,3}|=)((?:"[^"\n]{0,200}"|'[^'\n]{0,200}'|[^\s"']{1,200}){1,3})/g;
const CLI_MYSQL_RE = /\bmysql(?:dump|admin)?\b[^\n]{0,200}?\s-p([^\s'"-][^\s'"]{5,127})/g;
function cliCredentials(text: string, out: ContextHit[]): void {
  if (text.includes('-u') || text.includes('--user') || text.includes('-U')) {
    CLI_USER_RE.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = CLI_USER_RE.exec(text)) !== null) {
      const arg = m[1];
      const plain = arg.replace(/["'{}]/g, '');
      const colon = plain.indexOf(':');
      if (colon < 0) continue;
      // `user:password`, or `token:` (API token passed as the user name, empty password).
      const pw = plain.slice(colon + 1) || plain.slice(0, colon);
      if (pw.length < 3 || REFERENCE_RE.test(pw) || looksLikePlaceholder(pw)) continue;
      if (!plain.slice(colon + 1) && !isRandomLooking(pw, 2.5)) continue;
      const off = m[0].indexOf(pw) >= 0 ? m[0].indexOf(pw) : m[0].length - arg.length;
      const len = m[0].indexOf(pw) >= 0 ? pw.length : arg.length;
      out.push({ rule: 'http_basic_auth', severity: 'high', start: m.index + off, end: m.index + off + len });
    }
  }
  if (text.includes('mysql')) {
    CLI_MYSQL_RE.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = CLI_MYSQL_RE.exec(text)) !== null) {
      if (looksLikePlaceholder(m[1]) || REFERENCE_RE.test(m[1])) continue;
      const start = m.index + m[0].length - m[1].length;
      out.push({ rule: 'generic_password', severity: 'high', start, end: start + m[1].length });
    }
  }
}

/**
 * `NAME=value` lines whose value is a long random-looking token even though the name says nothing
 * (`mimi=gX69...`): base64/alnum of 32+ characters with high entropy and all three character classes.
 * Names of hashes and ids are excluded: digests are random too, but not secret.
 */
const HIGH_ENTROPY_LINE_RE = /^[ \t]{0,8}(?:export[ \t]{1,3}|-[ \t]{1,3})?["']?([A-Za-z_][A-Za-z0-9_.-]{0,40})["']?[ \t]{0,3}[=:][ \t]{0,3}["']?([A-Za-z0-9+/=_-]{32,256})["']?,?[ \t]*$/gm;
const DIGEST_NAME_RE = /integrity|checksum|hash|sha|md5|digest|etag|(?:^|[_.-])id$|uuid|guid|nonce|version|commit|rev|fingerprint|salt|iv$|signature|image|icon|logo|data/i;
function highEntropyLines(text: string, out: ContextHit[]): void {
  HIGH_ENTROPY_LINE_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = HIGH_ENTROPY_LINE_RE.exec(text)) !== null) {
    const [, name, value] = m;
    if (DIGEST_NAME_RE.test(name) || /^(?:sha\d+|md5)-/i.test(value)) continue;
    if (!/[a-z]/.test(value) || !/[A-Z]/.test(value) || !/[0-9]/.test(value)) continue;
    if (looksLikePlaceholder(value) || shannonEntropy(value) < 4.3) continue;
    const start = m.index + m[0].lastIndexOf(value);
    out.push({ rule: 'generic_secret', severity: 'medium', start, end: start + value.length });
  }
}

/** `Authorization: Bearer x`, `X-API-Key: x`, `Token: x` headers. */
const AUTH_HEADER_RE = /\b(?:authorization|proxy-authorization|x-api-key|api-key|x-auth-token|x-access-token|private-token|token)["']?\s{0,3}:\s{0,3}(?:bearer|basic|token|digest|bot|apikey)?\s{0,3}([A-Za-z0-9._~+/=-]{8,2048})/gi;
function authHeaders(text: string, lower: string, out: ContextHit[]): void {
  if (!lower.includes('auth') && !lower.includes('token') && !lower.includes('api-key')) return;
  AUTH_HEADER_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = AUTH_HEADER_RE.exec(text)) !== null) {
    const v = m[1];
    if (REFERENCE_RE.test(v) || looksLikePlaceholder(v) || /^(?:bearer|basic|token|digest)$/i.test(v)) continue;
    if (!/\d/.test(v) || shannonEntropy(v) < 2.5) continue;
    const start = m.index + m[0].length - v.length;
    out.push({ rule: 'http_auth_header', severity: 'high', start, end: start + v.length });
  }
}

/** PEM / OpenSSH / PuTTY private key blocks: header to footer (or a bounded body when cut off). */
const PEM_BEGIN_RE = /-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
function privateKeys(text: string, out: ContextHit[]): void {
  if (!text.includes('PRIVATE KEY') && !text.includes('PuTTY-User-Key-File')) return;
  PEM_BEGIN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = PEM_BEGIN_RE.exec(text)) !== null) {
    const bodyStart = m.index + m[0].length;
    const endIdx = text.indexOf('-----END', bodyStart);
    const stop = endIdx >= 0 && endIdx - bodyStart < 65536 ? text.indexOf('-----', endIdx + 8) : -1;
    const end = stop >= 0 ? stop + 5 : Math.min(text.length, bodyStart + 4096);
    const body = text.slice(bodyStart, endIdx >= 0 ? endIdx : end).replace(/\s+/g, '');
    if (body.length < 32 || looksLikePlaceholder(body.slice(0, 64))) continue;
    out.push({ rule: 'private_key', severity: 'critical', start: m.index, end });
    PEM_BEGIN_RE.lastIndex = end;
  }
  const putty = text.indexOf('PuTTY-User-Key-File');
  if (putty >= 0) {
    const priv = text.indexOf('Private-Lines:', putty);
    if (priv >= 0 && priv - putty < 8192) {
      const macIdx = text.indexOf('Private-MAC:', priv);
      const end = macIdx >= 0 && macIdx - priv < 16384 ? Math.min(text.length, macIdx + 80) : Math.min(text.length, priv + 4096);
      out.push({ rule: 'private_key', severity: 'critical', start: putty, end });
    }
  }
}

// ---- PII ----------------------------------------------------------------------------------------

const EMAIL_LOCAL_BACK = /[A-Za-z0-9._%+-]/;
const EMAIL_DOMAIN_RE = /[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/y;
function emails(text: string, out: ContextHit[]): void {
  let at = text.indexOf('@');
  while (at >= 0) {
    let s = at;
    while (s > 0 && at - s < 64 && EMAIL_LOCAL_BACK.test(text[s - 1])) s--;
    while (s < at && text[s] === '.') s++;
    if (s < at) {
      EMAIL_DOMAIN_RE.lastIndex = at + 1;
      const d = EMAIL_DOMAIN_RE.exec(text);
      // `user:pw@host` in URLs and npm specs like `pkg@npm:1.0` are not emails.
      if (d && !(s > 0 && text[s - 1] === ':') && !/^(?:npm|git|github|workspace|patch|file|link)$/.test(d[0])) {
        const local = text.slice(s, at);
        if (!looksLikePlaceholder(local) || local === 'example') {
          out.push({ rule: 'email', severity: 'medium', start: s, end: at + 1 + d[0].length });
        }
      }
    }
    at = text.indexOf('@', at + 1);
  }
}

const PHONE_RE = /(?<![\w+.-])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4})(?![\w.-])/g;
function phones(text: string, out: ContextHit[]): void {
  PHONE_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = PHONE_RE.exec(text)) !== null) {
    const digits = m[0].replace(/\D/g, '').length;
    if (digits < 10 || digits > 15) continue;
    out.push({ rule: 'phone', severity: 'medium', start: m.index, end: m.index + m[0].length });
  }
}

const CARD_RE = /(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w-])/g;
function cardBrandOk(d: string): boolean {
  const n2 = Number(d.slice(0, 2)), n4 = Number(d.slice(0, 4)), L = d.length;
  if (d[0] === '4') return L === 13 || L === 16 || L === 19;
  if ((n2 >= 51 && n2 <= 55) || (n4 >= 2221 && n4 <= 2720)) return L === 16;
  if (n2 === 34 || n2 === 37) return L === 15;
  if (d.startsWith('6011') || n2 === 65 || (Number(d.slice(0, 3)) >= 644 && Number(d.slice(0, 3)) <= 649)) return L >= 16 && L <= 19;
  if (n4 >= 3528 && n4 <= 3589) return L >= 16 && L <= 19;
  if (n2 === 36 || n2 === 38 || n2 === 30) return L >= 14 && L <= 19;
  if (n2 === 62) return L >= 16 && L <= 19;
  return false;
}
function cards(text: string, out: ContextHit[]): void {
  CARD_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = CARD_RE.exec(text)) !== null) {
    const raw = m[0];
    const seps = raw.replace(/\d/g, '');
    if (seps.length > 0 && new Set(seps).size > 1) continue; // mixed separators: not a card
    const d = raw.replace(/\D/g, '');
    if (!cardBrandOk(d) || !luhnValid(d) || /^(\d)\1+$/.test(d)) continue;
    out.push({ rule: 'credit_card', severity: 'high', start: m.index, end: m.index + raw.length });
  }
}

const IBAN_RE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g;
function ibans(text: string, out: ContextHit[]): void {
  IBAN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = IBAN_RE.exec(text)) !== null) {
    if (ibanValid(m[0])) out.push({ rule: 'iban', severity: 'high', start: m.index, end: m.index + m[0].length });
  }
}

// ---- detector -----------------------------------------------------------------------------------

export interface LeakDetectorOptions {
  /** Key for the HMAC fingerprint; keep it stable per installation so fingerprints stay comparable. */
  fingerprintKey?: string;
  /** Which PII detectors to run (all by default). */
  pii?: { email?: boolean; phone?: boolean; credit_card?: boolean; iban?: boolean };
}

const PII_RULES = new Set(['email', 'phone', 'credit_card', 'iban']);

export class LeakDetector {
  private readonly key: string;
  private readonly pii: Required<NonNullable<LeakDetectorOptions['pii']>>;

  constructor(opts: LeakDetectorOptions = {}) {
    this.key = opts.fingerprintKey ?? 'rustyclaw';
    this.pii = { email: true, phone: true, credit_card: true, iban: true, ...(opts.pii ?? {}) };
  }

  fingerprint(value: string): string {
    return createHmac('sha256', this.key).update(value).digest('hex').slice(0, 8);
  }

  /** All credential and PII findings, non-overlapping, in text order. */
  scan(text: string): LeakFinding[] {
    const hits: ContextHit[] = [];
    let lower: string | undefined;
    const low = () => (lower ??= text.toLowerCase());
    for (const rule of FORMAT_RULES) this.runFormatRule(rule, text, low, hits);
    privateKeys(text, hits);
    urlCredentials(text, hits);
    cliCredentials(text, hits);
    authHeaders(text, low(), hits);
    genericAssignments(text, low(), hits);
    highEntropyLines(text, hits);
    if (this.pii.email && text.includes('@')) emails(text, hits);
    if (this.pii.phone) phones(text, hits);
    if (this.pii.credit_card) cards(text, hits);
    if (this.pii.iban) ibans(text, hits);
    return this.resolve(text, hits);
  }

  private runFormatRule(rule: FormatRule, text: string, low: () => string, out: ContextHit[]): void {
    const hay = rule.hintsLower ? low() : text;
    if (!rule.hints.some((h) => hay.includes(h))) return;
    rule.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = rule.re.exec(text)) !== null) {
      if (m[0].length === 0) {
        rule.re.lastIndex++;
        continue;
      }
      const g = rule.group ?? 0;
      const secret = m[g];
      if (secret === undefined) continue;
      if (looksLikePlaceholder(secret) || (rule.validate && !rule.validate(secret))) continue;
      const start = m.index + (g === 0 ? 0 : m[0].lastIndexOf(secret));
      out.push({ rule: rule.id, severity: rule.severity, start, end: start + secret.length });
    }
  }

  /**
   * Drops overlaps: specific formats beat context rules, which beat PII; within a tier the earlier,
   * then longer, finding wins. Tier by tier with sorted sweeps, so O(n log n) for any number of hits.
   */
  private resolve(text: string, hits: ContextHit[]): LeakFinding[] {
    const tierOf = (h: ContextHit) => (PII_RULES.has(h.rule) ? 2 : h.rule.startsWith('generic') || h.rule === 'http_auth_header' ? 1 : 0);
    let accepted: ContextHit[] = [];
    for (let tier = 0; tier <= 2; tier++) {
      const cand = hits.filter((h) => tierOf(h) === tier).sort((a, b) => a.start - b.start || b.end - a.end);
      const kept: ContextHit[] = [];
      let j = 0;
      let lastEnd = -1;
      for (const h of cand) {
        if (h.start < lastEnd) continue;
        while (j < accepted.length && accepted[j].end <= h.start) j++;
        if (j < accepted.length && accepted[j].start < h.end) continue;
        kept.push(h);
        lastEnd = h.end;
      }
      accepted = mergeByStart(accepted, kept);
    }
    return accepted.map((h) => {
      const category: LeakCategory = PII_RULES.has(h.rule) ? 'pii' : 'secret';
      return { rule: `${category}.${h.rule}`, category, severity: h.severity, start: h.start, end: h.end, fingerprint: this.fingerprint(text.slice(h.start, h.end)) };
    });
  }
}

function mergeByStart(a: ContextHit[], b: ContextHit[]): ContextHit[] {
  const out: ContextHit[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].start <= b[j].start)) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}

/** Replaces each finding's span with `[REDACTED:<rule>:<fingerprint>]` (findings must not overlap). */
export function applyRedactions(text: string, findings: Array<{ rule: string; start: number; end: number; fingerprint?: string }>): string {
  if (findings.length === 0) return text;
  const sorted = [...findings].sort((a, b) => a.start - b.start);
  let out = '';
  let pos = 0;
  for (const f of sorted) {
    if (f.start < pos) continue;
    out += text.slice(pos, f.start) + `[REDACTED:${f.rule.replace(/^(?:secret|pii)\./, '')}:${f.fingerprint ?? 'x'}]`;
    pos = f.end;
  }
  return out + text.slice(pos);
}
