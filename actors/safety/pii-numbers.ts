/**
 * Phone, payment-card and IBAN numbers (PII). The phone and card patterns run only inside the
 * stretches of text where one can be reported, found with one cheap native scan (`numberRuns`);
 * the matches are exactly those of the patterns' global scans over the whole text.
 *
 * Why that is exact: every character of a phone or card match is a digit or one of ` .-()+`, so a
 * match lies inside one maximal run of those characters, and a global scan's matches inside a run
 * depend only on the run and the one character on either side (the patterns' look-arounds are one
 * character wide). A reported phone has 10+ digits and a card 13+, with at most two characters
 * between neighbouring digits, so a run holding one contains a match of NUMBER_GATE_RE (ten digits,
 * gaps of at most two of those characters); runs without such a match are skipped.
 */
import { luhnValid, ibanValid } from './entropy.js';
import type { Severity } from './leak-rules.js';

export interface NumberHit { rule: string; severity: Severity; start: number; end: number }

const PHONE_RE = /(?<![\w+.-])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4})(?![\w.-])/g;
const CARD_RE = /(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w-])/g;
const IBAN_RE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g;

/**
 * Ten digits with at most two of ` .()+-` between neighbours. Unrolled: the quantified group form
 * `\d(?:[ .()+-]{0,2}\d){9}` scanned ~2.7× slower here (0.71 against 1.92 ms/MB).
 */
const GAP = '[ .()+-]{0,2}';
const NUMBER_GATE_RE = new RegExp(`\\d${`${GAP}\\d`.repeat(9)}`, 'g');

/** A character a phone or card match can contain: a digit or one of ` .-()+`. */
function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 32 || c === 46 || c === 45 || c === 40 || c === 41 || c === 43;
}

/** Maximal runs of number characters that contain a NUMBER_GATE_RE match, as [start, end) pairs in order. */
export function numberRuns(text: string): number[] {
  const runs: number[] = [];
  let prevEnd = 0;
  NUMBER_GATE_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = NUMBER_GATE_RE.exec(text)) !== null) {
    let s = m.index;
    while (s > prevEnd && isNumberChar(text.charCodeAt(s - 1))) s--;
    let e = m.index + m[0].length;
    while (e < text.length && isNumberChar(text.charCodeAt(e))) e++;
    runs.push(s, e);
    prevEnd = e;
    NUMBER_GATE_RE.lastIndex = e;
  }
  return runs;
}

/** The global scan of `re` inside each run, with one character of context either side (the look-arounds). */
function eachMatchIn(text: string, runs: number[], re: RegExp, fn: (m: RegExpExecArray, at: number) => void): void {
  for (let i = 0; i < runs.length; i += 2) {
    const from = Math.max(0, runs[i] - 1);
    const sub = text.slice(from, Math.min(text.length, runs[i + 1] + 1));
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(sub)) !== null) fn(m, from + m.index);
  }
}

export function phones(text: string, runs: number[], out: NumberHit[]): void {
  eachMatchIn(text, runs, PHONE_RE, (m, at) => {
    const digits = m[0].replace(/\D/g, '').length;
    if (digits < 10 || digits > 15) return;
    out.push({ rule: 'phone', severity: 'medium', start: at, end: at + m[0].length });
  });
}

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

export function cards(text: string, runs: number[], out: NumberHit[]): void {
  eachMatchIn(text, runs, CARD_RE, (m, at) => {
    const raw = m[0];
    const seps = raw.replace(/\d/g, '');
    if (seps.length > 0 && new Set(seps).size > 1) return; // mixed separators: not a card
    const d = raw.replace(/\D/g, '');
    if (!cardBrandOk(d) || !luhnValid(d) || /^(\d)\1+$/.test(d)) return;
    out.push({ rule: 'credit_card', severity: 'high', start: at, end: at + raw.length });
  });
}

export function ibans(text: string, out: NumberHit[]): void {
  IBAN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = IBAN_RE.exec(text)) !== null) {
    if (ibanValid(m[0])) out.push({ rule: 'iban', severity: 'high', start: m.index, end: m.index + m[0].length });
  }
}
