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
import { shannonEntropy } from './entropy.js';
import { phones, cards, ibans, numberRuns } from './pii-numbers.js';
import { LiteralMatcher } from './literal-matcher.js';
import type { AnchorHits, LiteralSource } from './prefilter.js';

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
const KEY_WORDS = ['pass', 'pwd', 'secret', 'token', 'key', 'credential', 'auth'];
/**
 * After a key name, in any common syntax: rest of the identifier; closing quotes (also JSON-escaped
 * `\"`); an optional type (`var xToken string =`, `xToken: String =`); an assignment operator or a
 * call/separator (`=`, `:=`, `::=`, `?=`, `+=`, `.=`, `??=`, `=>`, `:`, `>` of an XML element, `("K", v)`
 * setters with a quoted key and value, `(` before a quoted literal, `,` between CSV fields); YAML block scalars (`key: |` / `key: >` and an indented next line) and an XML
 * element body on the next line; an opening quote; the value.
 */
const ASSIGN_RE = /[A-Za-z0-9_.-]{0,30}(?:\\?["'\]]){0,2}(?:[ \t]{0,3}:?[ \t]{1,3}(?:string|String|str|&str|&'static str|char\*?|const|final))?[ \t]{0,5}(?:\?\?=|[<>?+.]=|:{1,3}=|=>|==|[:=>]|"?[ \t]{1,3}value=|\([ \t]{0,3}(?=[a-z]?["'`])|(?<=["'])[ \t]{0,3},[ \t]{0,3}(?=["'`])|,(?=[^\s"'`;,<>(){}[\]&\\]{6,256},))[ \t]{0,5}(?:[|>][-+]?[ \t]{0,3}\r?\n[ \t]{0,12}|\r?\n[ \t]{1,12})?(?:[a-z]?\\?["'`]){0,1}([^\s"'`;,<>(){}[\]&\\]{6,256})/y;
/** Tab- or space-separated `key value` (properties files, `.netrc`-like configs) after a key name. */
const SPACED_RE = /[A-Za-z0-9_.-]{0,30}[ \t]{1,8}["']?([^\s"'`;,<>(){}[\]&\\]{16,256})["']?[ \t]*(?:\r?\n|$)/y;
/** Command-line flags: `--password X`, `--api-token=X`. */
const FLAG_RE = /[A-Za-z0-9_-]{0,20}(?:[ \t]{1,3}|=)["']?([^\s"'`;,<>(){}[\]&]{6,256})/y;
const NON_SECRET_NAME_RE = /credentials?[_-]?id|authenticity[_-]?token|csrfmiddlewaretoken|request[_-]?verification[_-]?token|anti[_-]?forgery|websocket-key|idempotency[_-]?key|cache[_-]?key|sort[_-]?key|partition[_-]?key|primary[_-]?key|foreign[_-]?key|key[_-]?id\b|public[_-]?key|pub[_-]?key|lock-token|csrf|xsrf|token[_-]?(?:type|url|endpoint|uri|count|limit|length)|keyboard|keystroke|keyword/;
/** Values that are code or references, not literals. */
const REFERENCE_RE = /^(?:urn:|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$|[a-z][a-z0-9+.-]{1,20}:\/\/|~?\/|\.\.?\/|\$|%|@|&|env[.:(]|process\.env|os\.environ|os\.getenv|getenv|secrets\.|vault:|ref\+|arn:|true$|false$|null$|none$|nil$|undefined$|self\.|this\.|config\.|settings\.|args\.|options\.|opts\.|params\.|req\.|request\.|ctx\.|context\.)/i;

/**
 * Code identifiers made of words (KeyOfPropertyKeys, collectASequenceOfBytes, writeUint32Key): word
 * segments are long and contain vowels, unlike random tokens (AAqajBPBoDsMrrT splits into A/Aqaj/BP/Bo/Ds…).
 */
export function looksLikeIdentifier(v: string): boolean {
  if (!/^[A-Za-z_$][A-Za-z0-9_$.]*$/.test(v)) return false;
  // Digits only as short suffixes of a word (Uint32, X509, utf8), at most two such runs.
  const digitRuns = v.match(/\d+/g) ?? [];
  if (digitRuns.length > 2 || digitRuns.some((r) => r.length > 3)) return false;
  const words = v.match(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])/g) ?? [];
  if (words.length === 0) return false;
  const acronyms = words.filter((w) => /^[A-Z]{2,}$/.test(w));
  const singles = words.filter((w) => w.length === 1).length;
  // Every word sounds like one (has a vowel); at most one acronym (HTML, URL) and one single letter.
  const allVoweled = words.every((w) => w.length === 1 || /^[A-Z]{2,5}$/.test(w) || /[aeiouyAEIOUY]/.test(w));
  const avg = words.reduce((n, w) => n + w.length, 0) / words.length;
  return allVoweled && acronyms.length <= 1 && singles <= 1 && avg >= 3.4;
}

function isRandomLooking(v: string, minEntropy: number): boolean {
  if (v.length < 8) return false;
  if (v.startsWith('!') || looksLikeIdentifier(v)) return false;
  // Secrets are printable ASCII; accented or non-Latin letters mean natural language.
  if (/[^\x21-\x7e]/.test(v)) return false;
  // Numbers alone (ports, timeouts, ids, versions) and version specs are not secrets.
  if (/^[\d.:-]+$/.test(v) || v.includes('^')) return false;
  // CONSTANT_CASE, snake_case, kebab and dotted identifiers: code, not secrets.
  if (/^[A-Za-z][A-Za-z0-9]*(?:[_.-][A-Za-z0-9]+)+$/.test(v) && v.split(/[_.-]/).every((seg) => /^(?:[a-z]+\d{0,4}|[A-Z]+\d{0,4}|[A-Z][a-z]+\d{0,4}|\d{1,4}|[a-zA-Z]{1,3}\d{1,4})$/.test(seg))) return false;
  // Lower-case words joined by separators: scopes (`gpg_keys:write`), paths (`*.headers.cookie`), slugs.
  if (/^[a-z*]+(?:[._:/-][a-z*]+)+$/.test(v)) return false;
  const classes = (/[a-z]/.test(v) ? 1 : 0) + (/[A-Z]/.test(v) ? 1 : 0) + (/[0-9]/.test(v) ? 1 : 0) + (/[^A-Za-z0-9]/.test(v) ? 1 : 0);
  if (classes < 2) return false;
  // Identifiers and dotted paths (camelCase, snake_case words) are code, not secrets.
  if (/^[A-Za-z]+(?:[._-][A-Za-z]+)*$/.test(v) && !/[A-Z].*[A-Z].*[A-Z].*[A-Z]/.test(v)) return false;
  if (/^[a-z]+[A-Z][a-zA-Z]*$/.test(v) && shannonEntropy(v) < 3.6) return false;
  return shannonEntropy(v) >= minEntropy;
}

/** The identifier around `at` starts a line (after indentation / `export`). */
function atLineStartish(text: string, at: number): boolean {
  let s0 = at;
  while (s0 > 0 && /[A-Za-z0-9_.-]/.test(text[s0 - 1]) && at - s0 < 40) s0--;
  // Bounded look-back (an unbounded lastIndexOf on a text without newlines is O(n) per anchor).
  let ls = s0;
  while (ls > 0 && s0 - ls <= 12 && text.charCodeAt(ls - 1) !== 10) ls--;
  if (ls > 0 && text.charCodeAt(ls - 1) !== 10) return false;
  return /^[ \t]*(?:export[ \t]+)?$/.test(text.slice(ls, s0));
}

/** A key-like word was found at `at` (lower-cased `word`): look for `= value` after the identifier. */
function genericAt(text: string, at: number, word: string, out: ContextHit[], lastEnd: { v: number }): void {
  const before = at > 0 ? text.charCodeAt(at - 1) : 32;
  const after = text.charCodeAt(at + word.length);
  const isLower = (c: number) => c >= 97 && c <= 122;
  // `pwd`/`auth` only as their own word part (not `cwd`, `author`).
  if ((word === 'pwd' || word === 'auth') && (isLower(before) || isLower(after))) return;
  // A value found here starts at most ~100 characters after the word (the longest name rest, quotes,
  // type, operator and block-scalar prefix the patterns below allow); one starting before the end of
  // the previous value is dropped anyway, so don't look (`key=key=key=…` ran the patterns at every word).
  if (at + word.length + 160 < lastEnd.v) return;
  // `pass` as in db_pass / PASSWORD / mysqlpassword, not `minipass` or `bypass`.
  if (word === 'pass' && isLower(before) && !text.startsWith('word', at + 4) && !text.startsWith('wd', at + 4)) return;
  ASSIGN_RE.lastIndex = at + word.length;
  let a = ASSIGN_RE.exec(text);
  if (!a && atLineStartish(text, at)) {
    // `api_token<TAB>value` alone on a line: only long values (16+), the entropy check below decides.
    SPACED_RE.lastIndex = at + word.length;
    a = SPACED_RE.exec(text);
  }
  if (!a) {
    // `--db-password X`: a flag name (leading dashes) followed by its value.
    let s0 = at;
    while (s0 > 0 && /[A-Za-z0-9_]/.test(text[s0 - 1]) && at - s0 < 30) s0--;
    if (text[s0 - 1] !== '-' || !/(?:^|\s)-/.test(text.slice(Math.max(0, s0 - 3), s0))) return;
    FLAG_RE.lastIndex = at + word.length;
    a = FLAG_RE.exec(text);
    if (!a) return;
  }
  const value = a[1].replace(/[.]+$/, '');
  const start = a.index + a[0].length - a[1].length;
  if (start < lastEnd.v) return;
  lastEnd.v = start + value.length;
  const isPassword = word === 'pass' || word === 'pwd';
  if (!isRandomLooking(value, isPassword ? 2.8 : 3.2)) return;
  if (REFERENCE_RE.test(value) || looksLikePlaceholder(value) || base64Placeholder(value)) return;
  const name = text.slice(Math.max(0, at - 30), start).toLowerCase();
  // Key-like names that hold public or non-secret values (nonces, ids, public keys, cache keys).
  if (NON_SECRET_NAME_RE.test(name)) return;
  const rule = /aws/.test(name) && /^[A-Za-z0-9/+=]{40}$/.test(value) ? 'aws_secret_key' : isPassword ? 'generic_password' : 'generic_secret';
  out.push({ rule, severity: rule === 'aws_secret_key' ? 'critical' : 'high', start, end: start + value.length });
}

/** `scheme://user:password@host` in URLs and connection strings. */
// The password may hold `#` (connection strings are not parsed as WHATWG URLs by database drivers).
const URL_CRED_RE = /([^\s:/?#@'"`<>]{1,64}):([^\s/?@'"`<>]{1,128})@[A-Za-z0-9.[\]-]{1,255}/y;
function urlCredentialsAt(text: string, at: number, out: ContextHit[]): void {
  // A scheme of 2+ letters must precede `://`.
  const c1 = text.charCodeAt(at - 1) | 32, c2 = text.charCodeAt(at - 2) | 32;
  if (!(c1 >= 97 && c1 <= 122) || !(c2 >= 97 && c2 <= 122)) return;
  URL_CRED_RE.lastIndex = at + 3;
  const m = URL_CRED_RE.exec(text);
  if (!m) return;
  const pw = m[2];
  if (pw.length < 3 || /^(?:pass(?:word)?|passwd|pwd|secret|\*+|x+)$/i.test(pw) || REFERENCE_RE.test(pw) || looksLikePlaceholder(pw)) return;
  const start = m.index + m[1].length + 1;
  out.push({ rule: 'basic_auth_url', severity: 'critical', start, end: start + pw.length });
}

/** Words that stand for a credential in documentation (`curl -u user:token`, `-u admin:password`). */
const PLACEHOLDER_WORD_RE = /^(?:pass(?:word)?|passwd|pwd|secret|token|api[_-]?(?:key|token)|apikey|key|access[_-]?token|auth[_-]?token|pat|(?:your|my|the)[_-]?\w{1,20}|user(?:name)?|login)$/i;

/** curl/httpie `-u user:pass`, `--user "u":"p"`, mysql `-pPASSWORD`. */
const CLI_USER_RE = /(?:-u|--user)(?:[ \t]{1,3}|=)((?:"[^"\n]{0,200}"|'[^'\n]{0,200}'|[^\s"']{1,200}){1,3})/iy;
const CLI_MYSQL_RE = /mysql(?:dump|admin)?\b[^\n]{0,200}?\s-p([^\s'"-][^\s'"]{5,127})/y;
function cliUserAt(text: string, at: number, out: ContextHit[]): void {
  if (at > 0 && !/\s/.test(text[at - 1])) return;
  CLI_USER_RE.lastIndex = at;
  const m = CLI_USER_RE.exec(text);
  if (!m) return;
  const arg = m[1];
  const plain = arg.replace(/["'{}]/g, '');
  const colon = plain.indexOf(':');
  if (colon < 0) return;
  // `user:password`, or `token:` (API token passed as the user name, empty password).
  const pw = plain.slice(colon + 1) || plain.slice(0, colon);
  if (pw.length < 3 || REFERENCE_RE.test(pw) || looksLikePlaceholder(pw) || PLACEHOLDER_WORD_RE.test(pw)) return;
  if (!plain.slice(colon + 1) && !isRandomLooking(pw, 2.5)) return;
  const idx = m[0].indexOf(pw);
  const off = idx >= 0 ? idx : m[0].length - arg.length;
  const len = idx >= 0 ? pw.length : arg.length;
  out.push({ rule: 'http_basic_auth', severity: 'high', start: m.index + off, end: m.index + off + len });
}
function mysqlAt(text: string, at: number, out: ContextHit[]): void {
  CLI_MYSQL_RE.lastIndex = at;
  const m = CLI_MYSQL_RE.exec(text);
  if (!m || looksLikePlaceholder(m[1]) || REFERENCE_RE.test(m[1])) return;
  const start = m.index + m[0].length - m[1].length;
  out.push({ rule: 'generic_password', severity: 'high', start, end: start + m[1].length });
}

/**
 * `NAME=value` lines whose value is a long random-looking token even though the name says nothing
 * (`mimi=gX69...`): base64/alnum of 32+ characters with high entropy and all three character classes.
 * Names of hashes and ids are excluded: digests are random too, but not secret.
 */
/*
 * `NAME=value` lines: the text's matches of
 *   /[=:][ \t]{0,3}["']?([A-Za-z0-9+/=_-]{32,256})["']?,?[ \t]*$/gm
 * found without the regex, which backtracks through every length of the value at every `=` of a long
 * run of `=` (1 MB of `=` took 9 s and stalled the actor). Nothing after the value can be a value
 * character, so only the longest run can match: the run's end is computed once per run, which makes
 * the search linear; the matches (start, extent, value) are the regex's.
 */
/** Sticky twins of global patterns (same source and flags, `y` added). */
const STICKY = new WeakMap<RegExp, RegExp>();
function stickyOf(re: RegExp): RegExp {
  let s = STICKY.get(re);
  if (!s) STICKY.set(re, (s = new RegExp(re.source, re.flags.replace('g', '') + 'y')));
  return s;
}

function isValueChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 61 || c === 95 || c === 45;
}
function isLineEnd(text: string, k: number): boolean {
  if (k >= text.length) return true;
  const c = text.charCodeAt(k);
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}
/**
 * Calls `found(index, end, value)` for each match, in order. The separators `=` and `:` are visited
 * in order with two native indexOf searches, each remembered until passed (as a `/[=:]/g` scan would
 * visit them). A value must be a run of 32+ value characters starting at j, so a separator is dropped
 * when j, j+31, j+15 or j+7 is not a value character (the common case) before its run is walked.
 */
export function highEntropyAssignments(text: string, found: (index: number, end: number, value: string) => void): void {
  const n = text.length;
  let runStart = -1;
  let runEnd = -1;
  let eq = text.indexOf('=');
  let colon = text.indexOf(':');
  // Where the next separator search starts: past this one, or past a match.
  let from = 0;
  for (;;) {
    if (eq !== -1 && eq < from) eq = text.indexOf('=', from);
    if (colon !== -1 && colon < from) colon = text.indexOf(':', from);
    const p = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
    if (p < 0) return;
    from = p + 1;
    let j = p + 1;
    for (let k = 0; k < 3 && j < n && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9); k++) j++;
    if (j < n && (text.charCodeAt(j) === 34 || text.charCodeAt(j) === 39)) j++;
    if (j + 31 >= n || !isValueChar(text.charCodeAt(j)) || !isValueChar(text.charCodeAt(j + 31)) || !isValueChar(text.charCodeAt(j + 15)) || !isValueChar(text.charCodeAt(j + 7))) continue;
    // The run of value characters from j (shared by every `=` inside one run).
    if (!(j > runStart && j < runEnd)) {
      runStart = j;
      runEnd = j;
      while (runEnd < n && isValueChar(text.charCodeAt(runEnd))) runEnd++;
    }
    const len = runEnd - j;
    if (len < 32 || len > 256) continue;
    let k = runEnd;
    if (k < n && (text.charCodeAt(k) === 34 || text.charCodeAt(k) === 39)) k++;
    if (k < n && text.charCodeAt(k) === 44) k++;
    while (k < n && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9)) k++;
    if (!isLineEnd(text, k)) continue;
    found(p, k, text.slice(j, runEnd));
    from = Math.max(k, p + 1);
  }
}
const LINE_NAME_RE = /^[ \t]{0,8}(?:export[ \t]{1,3}|-[ \t]{1,3})?["']?([A-Za-z_][A-Za-z0-9_.-]{0,40})["']?[ \t]{0,3}$/;
const DIGEST_NAME_RE = /integrity|checksum|hash|sha|md5|digest|etag|(?:^|[_.-])id$|uuid|guid|nonce|version|commit|rev|fingerprint|salt|iv$|signature|image|icon|logo|data/i;
function highEntropyLines(text: string, out: ContextHit[]): void {
  highEntropyAssignments(text, (index, end, value) => {
    const m = { index, end };
    if (!/[a-z]/.test(value) || !/[A-Z]/.test(value) || !/[0-9]/.test(value)) return;
    // The name must be the whole start of the line (looked for at most 61 characters back: an
    // unbounded lastIndexOf on a text without newlines is O(n) per match).
    let lineStart = m.index;
    while (lineStart > 0 && m.index - lineStart <= 60 && text.charCodeAt(lineStart - 1) !== 10) lineStart--;
    if (m.index - lineStart > 60) return;
    const nm = LINE_NAME_RE.exec(text.slice(lineStart, m.index));
    if (!nm) return;
    if (DIGEST_NAME_RE.test(nm[1]) || /^(?:sha\d+|md5)-/i.test(value)) return;
    if (shannonEntropy(value) < 4.3 || looksLikePlaceholder(value)) return;
    const start = m.index + text.slice(m.index, m.end).indexOf(value);
    out.push({ rule: 'generic_secret', severity: 'medium', start, end: start + value.length });
  });
}

/** `Authorization: Bearer x`, `X-API-Key: x`, `Token: x` headers. */
const AUTH_HEADER_RE = /(?:authorization|api-key|token)["']?[ \t]{0,3}:[ \t]{0,3}(?:(?:bearer|basic|token|digest|bot|apikey)[ \t]{1,3})?([A-Za-z0-9._~+/=-]{8,2048})/iy;
function authHeaderAt(text: string, at: number, word: string, out: ContextHit[]): void {
  if (word === 'token' && at > 0 && /[A-Za-z0-9_]/.test(text[at - 1]) && text[at - 1] !== '-') return;
  AUTH_HEADER_RE.lastIndex = at;
  const m = AUTH_HEADER_RE.exec(text);
  if (!m) return;
  const v = m[1];
  if (REFERENCE_RE.test(v) || looksLikePlaceholder(v) || /^(?:bearer|basic|token|digest)$/i.test(v)) return;
  if (!/\d/.test(v) || shannonEntropy(v) < 2.5) return;
  const start = m.index + m[0].length - v.length;
  out.push({ rule: 'http_auth_header', severity: 'high', start, end: start + v.length });
}

/** PEM / OpenSSH / PuTTY private key blocks: header to footer (or a bounded body when cut off). */
const PEM_BEGIN_RE = /-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
function privateKeys(text: string, out: ContextHit[]): void {
  if (!text.includes('PRIVATE KEY') && !text.includes('PuTTY-User-Key-File')) return;
  PEM_BEGIN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  // Next footer, remembered so many headers without a footer do not rescan the text each time.
  let nextEnd = -2;
  while ((m = PEM_BEGIN_RE.exec(text)) !== null) {
    const bodyStart = m.index + m[0].length;
    if (nextEnd !== -1 && nextEnd < bodyStart) nextEnd = text.indexOf('-----END', bodyStart);
    const endIdx = nextEnd;
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

/** `kind: Secret` (YAML or JSON) at a `kind` anchor. */
const K8S_KIND_RE = /kind["']?[ \t]{0,3}:[ \t]{0,3}["']?Secret\b/y;
function isK8sSecretAt(text: string, at: number): boolean {
  K8S_KIND_RE.lastIndex = at;
  return K8S_KIND_RE.test(text);
}

/**
 * Kubernetes Secret manifests: every value under `data:` is base64 — decoded, and reported when it
 * holds readable text that is not a placeholder (the plain form would never match a token rule);
 * values under `stringData:` are reported as they are.
 */
const K8S_BLOCK_RE = /^([ \t]*)(data|stringData)[ \t]*:[ \t]*\r?$/gm;
const K8S_ENTRY_RE = /^([ \t]+)["']?[A-Za-z0-9_.-]{1,253}["']?[ \t]*:[ \t]*["']?([^\s"'#]{1,65536})["']?[ \t]*\r?$/;
function kubernetesSecretData(text: string, out: ContextHit[]): void {
  K8S_BLOCK_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = K8S_BLOCK_RE.exec(text)) !== null) {
    const indent = m[1].length;
    const plain = m[2] === 'stringData';
    let pos = m.index + m[0].length + 1;
    for (let n = 0; n < 1000 && pos < text.length; n++) {
      const nl = text.indexOf('\n', pos);
      const lineEnd = nl < 0 ? text.length : nl;
      const line = text.slice(pos, lineEnd);
      const e = K8S_ENTRY_RE.exec(line);
      if (!e || e[1].length <= indent) break;
      const value = e[2];
      const start = pos + line.indexOf(value, e[1].length);
      if (plain ? !REFERENCE_RE.test(value) && !looksLikePlaceholder(value) && value.length >= 6 : readableBase64(value)) {
        out.push({ rule: 'kubernetes_secret', severity: 'high', start, end: start + value.length });
      }
      pos = lineEnd + 1;
    }
    K8S_BLOCK_RE.lastIndex = Math.max(K8S_BLOCK_RE.lastIndex, pos);
  }
}

/** A base64 value that decodes to a placeholder (`eW91cl9wYXNzd29yZA==` is "your_password"). */
function base64Placeholder(v: string): boolean {
  if (v.length < 8 || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return false;
  const d = Buffer.from(v, 'base64').toString('utf8');
  // eslint-disable-next-line no-control-regex -- only readable decodings can be placeholders
  return !/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(d) && looksLikePlaceholder(d.trim());
}

/** Strict base64 that decodes to printable text of 6+ characters that is not a placeholder. */
function readableBase64(v: string): boolean {
  if (v.length < 8 || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return false;
  const d = Buffer.from(v, 'base64').toString('utf8');
  // eslint-disable-next-line no-control-regex -- binary or control characters: not a readable secret
  if (d.length < 6 || /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(d)) return false;
  return !looksLikePlaceholder(d.trim());
}

// ---- PII ----------------------------------------------------------------------------------------

/** A code unit of `[A-Za-z0-9._%+-]` (an e-mail address's local part), tested without a one-character string per step. */
function isEmailLocal(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
}
const EMAIL_DOMAIN_RE = /[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/y;
function emails(text: string, out: ContextHit[]): void {
  let at = text.indexOf('@');
  while (at >= 0) {
    let s = at;
    while (s > 0 && at - s < 64 && isEmailLocal(text.charCodeAt(s - 1))) s--;
    while (s < at && text[s] === '.') s++;
    if (s < at) {
      EMAIL_DOMAIN_RE.lastIndex = at + 1;
      const d = EMAIL_DOMAIN_RE.exec(text);
      // `user:pw@host` in URLs and npm specs like `pkg@npm:1.0` are not emails.
      if (d && !(s > 0 && text[s - 1] === ':') && !/^(?:npm|git|github|workspace|patch|file|link)$/.test(d[0])) {
        out.push({ rule: 'email', severity: 'medium', start: s, end: at + 1 + d[0].length });
      }
    }
    at = text.indexOf('@', at + 1);
  }
}

// ---- detector -----------------------------------------------------------------------------------

export interface LeakDetectorOptions {
  /** Key for the HMAC fingerprint; keep it stable per installation so fingerprints stay comparable. */
  fingerprintKey?: string;
  /** Which PII detectors to run (all by default). */
  pii?: { email?: boolean; phone?: boolean; credit_card?: boolean; iban?: boolean };
}

const WORD_CHAR = /[A-Za-z0-9_]/;

/** What to run where an anchor occurs: a format rule or one of the context detectors. */
type AnchorHandler = FormatRule | 'generic' | 'header' | 'url' | 'cli' | 'mysql' | 'pem' | 'k8s';

/**
 * Every anchor in one case-insensitive Aho–Corasick pass (LiteralMatcher). At one position the
 * anchors are visited longest first, each with its own handlers — the order the former combined
 * longest-first alternation (which reported the longest anchor and ran its prefixes' handlers) gave.
 */
function buildAnchors(): { matcher: LiteralMatcher; handlers: Array<AnchorHandler[]>; fullScan: FormatRule[] } {
  const map = new Map<string, AnchorHandler[]>();
  const add = (anchor: string, h: AnchorHandler) => {
    const k = anchor.toLowerCase();
    if (!map.has(k)) map.set(k, []);
    map.get(k)!.push(h);
  };
  const fullScan: FormatRule[] = [];
  for (const rule of FORMAT_RULES) {
    if (rule.hints.length === 0) fullScan.push(rule);
    for (const h of rule.hints) add(h, rule);
  }
  for (const w of KEY_WORDS) add(w, 'generic');
  for (const w of ['authorization', 'api-key', 'token']) add(w, 'header');
  add('://', 'url');
  add('-u', 'cli');
  add('--user', 'cli');
  add('mysql', 'mysql');
  add('private key', 'pem');
  add('putty-user-key-file', 'pem');
  add('kind', 'k8s');
  const anchors = [...map.keys()];
  return { matcher: new LiteralMatcher(anchors), handlers: anchors.map((a) => map.get(a)!), fullScan };
}
const { matcher: ANCHORS, handlers: ANCHOR_HANDLERS, fullScan: FULL_SCAN_RULES } = buildAnchors();
/** The leak anchors, for the combined prefilter (its hits come back in this numbering). */
export const LEAK_ANCHORS: LiteralSource = ANCHORS;
const STARTS_AT_MATCH = new WeakMap<FormatRule, boolean>();
/** True when the captured secret always begins where the match begins (group 0, or a leading capture group). */
function startsAtMatch(rule: FormatRule): boolean {
  let v = STARTS_AT_MATCH.get(rule);
  if (v === undefined) {
    v = (rule.group ?? 0) === 0 || (rule.group === 1 && /^\((?!\?)/.test(rule.re.source));
    STARTS_AT_MATCH.set(rule, v);
  }
  return v;
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

  /**
   * All credential and PII findings, non-overlapping, in text order. `anchors`: this text's anchor
   * hits from the combined prefilter (LEAK_ANCHORS numbering), so the text is not scanned for them again.
   */
  scan(text: string, anchors?: AnchorHits): LeakFinding[] {
    const hits: ContextHit[] = [];
    const lastEnd = { v: -1 };
    let pem = false;
    let k8s = false;
    const found = anchors ?? ANCHORS.findAll(text);
    for (let i = 0; i < found.count; i++) {
      const at = found.starts[i];
      const anchor = ANCHORS.literals[found.lits[i]];
      for (const h of ANCHOR_HANDLERS[found.lits[i]]) {
        if (typeof h !== 'string') this.formatAt(h, text, at, hits);
        else if (h === 'generic') genericAt(text, at, anchor, hits, lastEnd);
        else if (h === 'header') authHeaderAt(text, at, anchor, hits);
        else if (h === 'url') urlCredentialsAt(text, at, hits);
        else if (h === 'cli') cliUserAt(text, at, hits);
        else if (h === 'mysql') mysqlAt(text, at, hits);
        else if (h === 'k8s') k8s ||= isK8sSecretAt(text, at);
        else pem = true;
      }
    }
    for (const rule of FULL_SCAN_RULES) this.formatScan(rule, text, hits);
    if (pem) privateKeys(text, hits);
    if (k8s) kubernetesSecretData(text, hits);
    highEntropyLines(text, hits);
    if (this.pii.email && text.includes('@')) emails(text, hits);
    const runs = this.pii.phone || this.pii.credit_card ? numberRuns(text) : [];
    if (this.pii.phone) phones(text, runs, hits);
    if (this.pii.credit_card) cards(text, runs, hits);
    if (this.pii.iban) ibans(text, hits);
    return this.resolve(text, hits);
  }

  private accept(rule: FormatRule, text: string, m: RegExpExecArray, out: ContextHit[]): boolean {
    const g = rule.group ?? 0;
    const secret = m[g];
    if (secret === undefined || secret.length === 0) return false;
    const start = m.index + (g === 0 ? 0 : m[0].lastIndexOf(secret));
    if (start > 0 && (rule.leftBoundary ?? WORD_CHAR).test(text[start - 1])) return false;
    if (looksLikePlaceholder(rule.placeholderPart ? rule.placeholderPart(secret) : secret) || (rule.validate && !rule.validate(secret))) return false;
    out.push({ rule: rule.id, severity: rule.severity, start, end: start + secret.length });
    return true;
  }

  private formatAt(rule: FormatRule, text: string, at: number, out: ContextHit[]): void {
    const start = rule.start ? rule.start(text, at) : at;
    if (start < 0) return;
    // The left-boundary check before the regex, where the secret starts at the anchor: a run of
    // anchors inside one token ("eyJeyJeyJ…") then costs one attempt, not one bounded scan each.
    if (start > 0 && startsAtMatch(rule) && (rule.leftBoundary ?? WORD_CHAR).test(text[start - 1])) return;
    rule.re.lastIndex = start;
    const m = rule.re.exec(text);
    if (m) this.accept(rule, text, m, out);
  }

  private formatScan(rule: FormatRule, text: string, out: ContextHit[]): void {
    const re = rule.scanRe;
    if (!re) return;
    if (rule.scanChar) {
      // The global scan's matches, visiting only the positions of its first character (a match ends
      // the previous one's search, so the next candidate lies past it, as with lastIndex).
      const sticky = stickyOf(re);
      for (let at = text.indexOf(rule.scanChar); at >= 0;) {
        let next = at + 1;
        if (!rule.scanAt || rule.scanAt(text, at)) {
          sticky.lastIndex = at;
          const m = sticky.exec(text);
          if (m) {
            this.formatAt(rule, text, at, out);
            next = at + Math.max(1, m[0].length);
          }
        }
        at = text.indexOf(rule.scanChar, next);
      }
      return;
    }
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) this.formatAt(rule, text, m.index, out);
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
