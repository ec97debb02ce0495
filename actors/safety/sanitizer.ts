/**
 * Sanitizer: finds invisible / deceptive characters and HTML/markdown injection carriers and proposes
 * an edit for each (remove, neutralise, truncate). The SafetyLayer applies the edits whose rule's
 * action is `sanitize` or `block`. Runs of the same kind collapse into one finding so a hostile input
 * cannot produce millions of findings.
 */
import type { Severity } from './leak-rules.js';
import { SPARSE_GAP } from './literal-matcher.js';

export interface Edit {
  rule: string;
  category: 'control' | 'markup' | 'size';
  severity: Severity;
  start: number;
  end: number;
  /** Text that replaces [start, end) when the edit is applied. */
  replacement: string;
}

/** Invisible and direction-changing code points, plus C0/C1 controls (tab, LF, CR allowed). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\uFFF9-\uFFFB]+|(?:\uDB40[\uDC00-\uDDEF])+/g;

function classify(ch: string): { rule: string; severity: Severity } {
  const c = ch.codePointAt(0)!;
  if (c >= 0xe0000 && c <= 0xe007f) return { rule: 'control.tag_chars', severity: 'high' };
  if (c >= 0xe0100) return { rule: 'control.variation_selectors', severity: 'high' };
  if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c === 0x061c || c === 0x200e || c === 0x200f) return { rule: 'control.bidi', severity: 'high' };
  if (c === 0x200b || c === 0x200c || c === 0x200d || (c >= 0x2060 && c <= 0x2064) || c === 0xfeff || c === 0x180e || c === 0x00ad || (c >= 0xfff9 && c <= 0xfffb)) return { rule: 'control.zero_width', severity: 'medium' };
  return { rule: 'control.chars', severity: 'medium' };
}

const PICTO = /\p{Extended_Pictographic}|\p{Emoji_Modifier}|\uFE0F/u;

function invisibleChars(text: string, out: Edit[]): void {
  INVISIBLE_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = INVISIBLE_RE.exec(text)) !== null) invisibleRun(text, m, out);
}

/** The edits for one INVISIBLE_RE match (a run of invisible characters). */
function invisibleRun(text: string, m: RegExpExecArray, out: Edit[]): void {
  const run = m[0];
  // A lone ZWJ between emoji builds one glyph (family, flags): legitimate.
  if (run === '\u200D' && PICTO.test(text.slice(Math.max(0, m.index - 2), m.index)) && PICTO.test(text.slice(m.index + 1, m.index + 3))) return;
  // A leading BOM is an encoding artefact.
  if (run === '\uFEFF' && m.index === 0) {
    out.push({ rule: 'control.zero_width', category: 'control', severity: 'low', start: 0, end: 1, replacement: '' });
    return;
  }
  // Split the run by kind so each kind is counted, but emit at most one finding per kind per run.
  let i = 0;
  while (i < run.length) {
    const cp = run.codePointAt(i)!;
    const kind = classify(String.fromCodePoint(cp));
    let j = i + (cp > 0xffff ? 2 : 1);
    while (j < run.length) {
      const cp2 = run.codePointAt(j)!;
      if (classify(String.fromCodePoint(cp2)).rule !== kind.rule) break;
      j += cp2 > 0xffff ? 2 : 1;
    }
    // eslint-disable-next-line no-control-regex -- vertical tab / form feed become a space
    const nl = kind.rule === 'control.chars' && /[\u000B\u000C\u0085]/.test(run.slice(i, j)) ? ' ' : '';
    out.push({ rule: kind.rule, category: 'control', severity: kind.severity, start: m.index + i, end: m.index + j, replacement: nl });
    i = j;
  }
}

/** HTML/markdown carriers of hidden instructions, script, or data exfiltration. */
const MARKUP_RE = /<(?:script|iframe|object|embed|style|form|meta|link|svg|math|base)\b|<!--|<[a-z][a-z0-9]{0,10}\b[^>]{0,500}?(?:display\s{0,3}:\s{0,3}none|visibility\s{0,3}:\s{0,3}hidden|font-size\s{0,3}:\s{0,3}0|opacity\s{0,3}:\s{0,3}0)|!\[[^\]\n]{0,300}\]\(\s{0,3}(?:https?:)?\/\/|\b(?:javascript|vbscript|livescript)\s{0,3}:|data:text\/html|\bon[a-z]{3,20}\s{0,3}=\s{0,3}["']/gi;
/**
 * The same without the hidden-style alternative, for texts that contain none of its words: that
 * alternative tries up to 500 characters after every `<x` (1 MB of `<a ` took 6 s), and where its words
 * are absent it can never match, so dropping it changes no match.
 */
const MARKUP_NO_HIDDEN_RE = new RegExp(MARKUP_RE.source.replace('|<[a-z][a-z0-9]{0,10}\\b[^>]{0,500}?(?:display\\s{0,3}:\\s{0,3}none|visibility\\s{0,3}:\\s{0,3}hidden|font-size\\s{0,3}:\\s{0,3}0|opacity\\s{0,3}:\\s{0,3}0)', ''), 'gi');
const HIDDEN_WORD_RE = /display|visibility|font-size|opacity/i;
const TAG_CLOSE: Record<string, RegExp> = {
  script: /<\/script\s*>/i, iframe: /<\/iframe\s*>/i, object: /<\/object\s*>/i, style: /<\/style\s*>/i,
  svg: /<\/svg\s*>/i, math: /<\/math\s*>/i, form: /<\/form\s*>/i,
};
/** Longest element body we remove in one piece; beyond it the opening tag alone is neutralised. */
const MAX_ELEMENT = 100_000;

/**
 * Next occurrence of a closing token at or after `from`, remembered between calls so a text with many
 * openers and no closer is searched once, not once per opener (that would be quadratic).
 */
function closer(find: (from: number) => number): (from: number) => number {
  let cached = -2;
  return (from) => {
    if (cached === -1) return -1;
    if (cached < from) cached = find(from);
    return cached;
  };
}

/** Whether the markup pass looks at `text` at all (kept exactly: "javascript :" alone is not looked at). */
function markupGate(text: string): boolean {
  return text.includes('<') || text.includes('![') || /script:|data:text|\bon[a-z]/i.test(text);
}

function markup(text: string, out: Edit[]): void {
  if (!markupGate(text)) return;
  const re = HIDDEN_WORD_RE.test(text) ? MARKUP_RE : MARKUP_NO_HIDDEN_RE;
  const step = markupStepper(text, out);
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) re.lastIndex = step(m);
}

/**
 * The edit for one MARKUP_RE match; returns where the scan goes on (past a removed element, or the
 * match's end). One stepper per text: it remembers the next closing tokens between matches.
 */
function markupStepper(text: string, out: Edit[]): (m: RegExpExecArray) => number {
  const commentEnd = closer((from) => text.indexOf('-->', from));
  const parenEnd = closer((from) => text.indexOf(')', from));
  const tagEnds = new Map<string, (from: number) => number>();
  return (m) => {
    const tok = m[0].toLowerCase();
    const at = m.index;
    if (tok === '<!--') {
      const close = commentEnd(at + 4);
      const end = close >= 0 && close - at < MAX_ELEMENT ? close + 3 : Math.min(text.length, at + 4);
      out.push({ rule: 'markup.html_comment', category: 'markup', severity: 'medium', start: at, end, replacement: '' });
      return end;
    } else if (tok.startsWith('![')) {
      // Remote image in markdown: rendering it sends a request (and whatever the URL carries) to a third party.
      const close = parenEnd(at + tok.length);
      const end = close >= 0 && close - at < 4096 ? close + 1 : at + tok.length;
      out.push({ rule: 'markup.remote_image', category: 'markup', severity: 'medium', start: at, end, replacement: '[remote image removed]' });
      return end;
    } else if (/^(?:javascript|vbscript|livescript)/.test(tok) || tok.startsWith('data:text')) {
      out.push({ rule: 'markup.script_url', category: 'markup', severity: 'high', start: at, end: at + m[0].length, replacement: 'blocked:' });
      return at + m[0].length;
    } else if (/^on[a-z]/.test(tok)) {
      out.push({ rule: 'markup.event_handler', category: 'markup', severity: 'high', start: at, end: at + m[0].length, replacement: 'data-blocked=' + m[0].slice(-1) });
      return at + m[0].length;
    } else if (/display|visibility|font-size|opacity/.test(tok)) {
      out.push({ rule: 'markup.hidden_html', category: 'markup', severity: 'high', start: at, end: at + 1, replacement: '&lt;' });
      return at + 1;
    }
    const name = tok.slice(1);
    const closeRe = TAG_CLOSE[name];
    let end = at + m[0].length;
    if (closeRe) {
      let find = tagEnds.get(name);
      if (!find) {
        const g = new RegExp(closeRe.source, 'gi');
        find = closer((from) => {
          g.lastIndex = from;
          const c = g.exec(text);
          return c ? c.index + c[0].length : -1;
        });
        tagEnds.set(name, find);
      }
      const c = find(at + m[0].length);
      if (c >= 0 && c - at < MAX_ELEMENT) end = c;
    }
    out.push({ rule: 'markup.active_html', category: 'markup', severity: 'high', start: at, end, replacement: `[${name} element removed]` });
    return end;
  };
}

// ---- the same passes at anchors (one prefilter pass found them) ----------------------------------

/**
 * The sanitizer's literal anchors for the combined prefilter. Every match of MARKUP_RE and
 * ROLE_MARKER_RE contains one of them at a known distance from its start, and every invisible
 * character is an alias of the one-character literal U+200B (thinned: a presence test), so the
 * patterns run only there — as sticky regexes in the order of their start, which gives exactly the
 * global scan's matches (a global scan's next match is the first position at or after lastIndex
 * where the pattern matches, and no position without an anchor can match).
 */
const INVISIBLE_LITERAL = '\u200b';
const MARKUP_TAG_ANCHORS = ['<script', '<iframe', '<object', '<embed', '<style', '<form', '<meta', '<link', '<svg', '<math', '<base', '<!--', '![', 'javascript', 'vbscript', 'livescript', 'data:text/html'];
const HIDDEN_ANCHORS = ['display', 'visibility', 'font-size', 'opacity'];
const ROLE_ANCHORS = ['<|', '[inst', '[/inst', '<<sys', '<</sys', '<system', '</system', '<assistant', '</assistant', '<user', '</user', '<tool', '</tool'];
const ROLE_LINE_ANCHORS = ['system', 'assistant'];
/** Code units an INVISIBLE_RE match can start with. */
const INVISIBLE_FIRST = new Uint8Array(65536);
function invisibleAliases(): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const rep = INVISIBLE_LITERAL.charCodeAt(0);
  for (let c = 0; c < 65536; c++) {
    // The first units of INVISIBLE_RE's matches: its class, and the high surrogate of tag / variation-selector pairs.
    if (c === 0xdb40 || INVISIBLE_CLASS_RE.test(String.fromCharCode(c))) {
      INVISIBLE_FIRST[c] = 1;
      if (c !== rep) out.push([c, rep]);
    }
  }
  return out;
}
const INVISIBLE_CLASS_RE = new RegExp(`^(?:${INVISIBLE_RE.source.split('|')[0].replace(/\+$/, '')})$`);
/** The word of the untrusted-content wrapper's markers: where the input holds none, no forged marker lies inside one of its pieces. */
const MARKER_WORD = 'untrusted_content';
const SANITIZER_LITERALS = [INVISIBLE_LITERAL, ...MARKUP_TAG_ANCHORS, ...HIDDEN_ANCHORS, ...ROLE_ANCHORS, ...ROLE_LINE_ANCHORS, MARKER_WORD];
export const SANITIZER_ANCHORS = {
  literals: SANITIZER_LITERALS.map((l) => l.toLowerCase()),
  options: { aliases: invisibleAliases(), sparse: [INVISIBLE_LITERAL] },
};
const LIT = new Map(SANITIZER_ANCHORS.literals.map((l, i) => [l, i]));
const INVISIBLE_LIT = LIT.get(INVISIBLE_LITERAL)!;
const KIND = new Int8Array(SANITIZER_LITERALS.length);
const K_TAG = 1, K_HIDDEN = 2, K_ROLE = 3, K_ROLE_LINE = 4;
for (const l of MARKUP_TAG_ANCHORS) KIND[LIT.get(l)!] = K_TAG;
for (const l of HIDDEN_ANCHORS) KIND[LIT.get(l)!] = K_HIDDEN;
for (const l of ROLE_ANCHORS) KIND[LIT.get(l)!] = K_ROLE;
for (const l of ROLE_LINE_ANCHORS) KIND[LIT.get(l)!] = K_ROLE_LINE;

/**
 * Sanitizer anchor hits of one text (SANITIZER_ANCHORS numbering), and the thinned invisible-character
 * hits (ascending, may start before the text): every invisible character lies less than SPARSE_GAP after one.
 */
export interface SanitizerHits { starts: Int32Array; lits: Int32Array; count: number; invisible: number[] }

const INVISIBLE_STICKY = new RegExp(INVISIBLE_RE.source, 'y');

/**
 * invisibleChars(text) looking only within SPARSE_GAP after each thinned hit: a run starts at an
 * invisible character, and every one lies in such a range; positions are tested with a table and the
 * pattern runs sticky where a run can start (the global scan's matches, in order).
 */
function invisibleCharsAt(text: string, hits: number[], out: Edit[]): void {
  let pos = 0;
  for (const h of hits) {
    const end = Math.min(text.length, h + SPARSE_GAP);
    for (let p = Math.max(pos, h, 0); p < end; p++) {
      if (INVISIBLE_FIRST[text.charCodeAt(p)] === 0) continue;
      INVISIBLE_STICKY.lastIndex = p;
      const m = INVISIBLE_STICKY.exec(text);
      if (!m) continue;
      invisibleRun(text, m, out);
      p = p + m[0].length - 1;
    }
    pos = Math.max(pos, end);
  }
}
export const SANITIZER_INVISIBLE_LIT = INVISIBLE_LIT;
export const SANITIZER_MARKER_LIT = LIT.get(MARKER_WORD)!;

const MARKUP_STICKY = new RegExp(MARKUP_RE.source, 'iy');
/** Longest gap between a hidden-style word and the `<` its match starts at (`<` + 11 name characters + 500). */
const HIDDEN_REACH = 512;
/** Longest gap between a line start and `system`/`assistant` in the line-start alternative (`\s{0,8}#{1,4}\s{0,3}`). */
const ROLE_LINE_REACH = 15;

/** JavaScript's `\s`. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isWord(c: number): boolean {
  return isAsciiLetter(c) || (c >= 48 && c <= 57) || c === 95;
}

/** Sorted distinct positions. */
function sortedUnique(a: number[]): number[] {
  a.sort((x, y) => x - y);
  let k = 0;
  for (let i = 0; i < a.length; i++) if (i === 0 || a[i] !== a[k - 1]) a[k++] = a[i];
  a.length = k;
  return a;
}

/**
 * Every position where `\bon[a-z]{3,20}\s{0,3}=\s{0,3}["']` can start: such a match ends its letters
 * at most 3 spaces before an `=`, and its start is the start of that letter run (a word boundary
 * inside a run of letters is impossible).
 */
function eventHandlerStarts(text: string, out: number[]): void {
  for (let e = text.indexOf('='); e >= 0; e = text.indexOf('=', e + 1)) {
    let q = e;
    while (q > 0 && e - q < 3 && isSpace(text.charCodeAt(q - 1))) q--;
    let p = q;
    while (p > 0 && q - p <= 22 && isAsciiLetter(text.charCodeAt(p - 1))) p--;
    const len = q - p;
    if (len < 5 || len > 22 || (p > 0 && isWord(text.charCodeAt(p - 1)))) continue;
    if ((text.charCodeAt(p) | 32) === 111 && (text.charCodeAt(p + 1) | 32) === 110) out.push(p);
  }
}

/** markup(text) from the anchor hits: the same edits. */
function markupAt(text: string, hits: SanitizerHits, out: Edit[]): void {
  const cand: number[] = [];
  let rangeEnd = -1;
  for (let i = 0; i < hits.count; i++) {
    const k = KIND[hits.lits[i]];
    if (k === K_TAG) cand.push(hits.starts[i]);
    else if (k === K_HIDDEN) {
      // Every `<` up to HIDDEN_REACH before the word (ranges merged, each position looked at once).
      const h = hits.starts[i];
      for (let p = text.indexOf('<', Math.max(rangeEnd, h - HIDDEN_REACH)); p >= 0 && p < h; p = text.indexOf('<', p + 1)) cand.push(p);
      rangeEnd = Math.max(rangeEnd, h);
    }
  }
  eventHandlerStarts(text, cand);
  if (cand.length === 0) return;
  const edits: Edit[] = [];
  const step = markupStepper(text, edits);
  // Without a hidden-style word the full scan used MARKUP_NO_HIDDEN_RE; the hidden alternative cannot match then anyway.
  let pos = 0;
  for (const c of sortedUnique(cand)) {
    if (c < pos) continue;
    MARKUP_STICKY.lastIndex = c;
    const m = MARKUP_STICKY.exec(text);
    if (m) pos = step(m);
  }
  if (edits.length > 0 && markupGate(text)) out.push(...edits);
}

/** roleMarkerEdits(text) from the anchor hits: the same edits. */
function roleMarkersAt(text: string, hits: SanitizerHits, out: Edit[]): void {
  const cand: number[] = [];
  for (let i = 0; i < hits.count; i++) {
    const k = KIND[hits.lits[i]];
    const h = hits.starts[i];
    if (k === K_ROLE) cand.push(h);
    else if (k === K_ROLE_LINE) {
      for (let p = Math.max(0, h - ROLE_LINE_REACH); p <= h; p++) {
        const b = p > 0 ? text.charCodeAt(p - 1) : 10;
        if (b === 10 || b === 13 || b === 0x2028 || b === 0x2029) cand.push(p);
      }
    }
  }
  if (cand.length === 0) return;
  let pos = 0;
  for (const c of sortedUnique(cand)) {
    if (c < pos) continue;
    ROLE_STICKY.lastIndex = c;
    const m = ROLE_STICKY.exec(text);
    if (!m || m[0].length === 0) continue;
    out.push(roleEdit(m));
    pos = c + m[0].length;
  }
}

/**
 * findEdits + roleMarkerEdits for a text whose anchors the prefilter found: the same edits, but the
 * patterns run only at the anchors (and the character-class pass only when an invisible character occurs).
 */
export function findEditsAt(text: string, hits: SanitizerHits, opts: { markup: boolean; roleMarkers?: boolean }): Edit[] {
  const out: Edit[] = [];
  if (hits.invisible.length > 0) invisibleCharsAt(text, hits.invisible, out);
  if (opts.markup) markupAt(text, hits, out);
  const edits = nonOverlapping(out);
  if (opts.roleMarkers) roleMarkersAt(text, hits, edits);
  return edits;
}

export interface SanitizeOptions {
  /** Longest text passed on; the rest is cut with a marker (`size.oversized`). */
  maxChars?: number;
  /** Look for HTML/markdown carriers (on for untrusted content). */
  markup?: boolean;
}

/** Proposes edits for `text`; does not change it. Edits are sorted and non-overlapping. */
export function findEdits(text: string, opts: SanitizeOptions = {}): Edit[] {
  const out: Edit[] = [];
  const maxChars = opts.maxChars ?? Infinity;
  const scanned = text.length > maxChars ? text.slice(0, maxChars) : text;
  invisibleChars(scanned, out);
  if (opts.markup !== false) markup(scanned, out);
  if (text.length > maxChars) {
    out.push({ rule: 'size.oversized', category: 'size', severity: 'medium', start: maxChars, end: text.length, replacement: `\n[truncated: ${text.length - maxChars} characters removed]` });
  }
  return nonOverlapping(out);
}

/** Sorted by start (longer first), overlaps dropped. */
function nonOverlapping(out: Edit[]): Edit[] {
  out.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Edit[] = [];
  let lastEnd = -1;
  for (const e of out) {
    if (e.start < lastEnd) continue;
    kept.push(e);
    lastEnd = e.end;
  }
  return kept;
}

/** Applies non-overlapping edits (sorted by start). */
export function applyEdits(text: string, edits: Array<{ start: number; end: number; replacement: string }>): string {
  return edits.length === 0 ? text : editParts(text, edits).join('');
}

/**
 * The edited text as pieces appended to `parts` (joined, they are applyEdits' result): a caller that
 * wraps the text joins its own head and tail in the same join, so the reply is built as one flat string.
 * `joints` receives each replacement's [start, end) in the edited text, in order.
 */
export function editParts(text: string, edits: Array<{ start: number; end: number; replacement: string }>, parts: string[] = [], joints?: number[]): string[] {
  let pos = 0;
  let out = 0;
  for (const e of edits) {
    if (e.start < pos) continue;
    parts.push(text.slice(pos, e.start), e.replacement);
    out += e.start - pos;
    joints?.push(out, out + e.replacement.length);
    out += e.replacement.length;
    pos = e.end;
  }
  parts.push(text.slice(pos));
  return parts;
}

/** Neutralises chat-template role markers so untrusted text cannot open a new system/assistant turn. */
const ROLE_MARKER_RE = /<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:system|assistant|user|tool)>|^\s{0,8}(?:#{1,4}\s{0,3})?(?:system|assistant)\s{0,3}:/gim;
const ROLE_STICKY = new RegExp(ROLE_MARKER_RE.source, 'imy');
function roleEdit(m: RegExpExecArray): Edit {
  return { rule: 'injection.role_marker', category: 'markup', severity: 'high', start: m.index, end: m.index + m[0].length, replacement: `[${m[0].replace(/[<>|[\]]/g, '').trim()}]` };
}
export function roleMarkerEdits(text: string): Edit[] {
  const out: Edit[] = [];
  ROLE_MARKER_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = ROLE_MARKER_RE.exec(text)) !== null) {
    if (m[0].length === 0) {
      ROLE_MARKER_RE.lastIndex++;
      continue;
    }
    out.push(roleEdit(m));
  }
  return out;
}
