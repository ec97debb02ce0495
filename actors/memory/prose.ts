/**
 * Is a chunk language? Base64, hex dumps, hashes, minified code and lock-file runs embed as noise
 * and cost as much to embed as prose (a 1.4 MB base64 line took 11 minutes), so such chunks are
 * indexed by BM25 only. The decision uses measurable properties of the chunk, never its content:
 *
 * - **word share**: of the chunk's alphanumeric characters, the share inside word-like tokens.
 *   A token is a maximal run of letters, marks and digits. It is word-like when it has no digit
 *   and its case follows a language's pattern (lower, Capitalised, UPPER, camelCase humps, a
 *   plural of an acronym) and, in cased scripts, is at most 40 letters long; tokens of caseless
 *   scripts (Han, Kana, Arabic, Thai, …) are word-like at any length. Random base64 and hex are
 *   mostly mixed-case or digit-bearing runs, so their word share is low; prose is mostly words.
 * - **code density**: ASCII punctuation per non-space character together with how unbroken the
 *   text is (whitespace per non-space character, share of characters in 40+-character runs).
 *   Minified code is dense in operators and nearly free of whitespace; prose (and ordinary
 *   source code) has a space every few characters. Only ASCII is counted, so
 *   CJK prose (no spaces, full-width punctuation) is not mistaken for it.
 *
 * Thresholds leave a wide margin on prose (docs/decisions.md: SciFact's 12,096 chunks and the
 * README and licence files under node_modules all stay in the vector index).
 */

/** Below this share of alphanumeric characters in word-like tokens a chunk is not prose. */
export const MIN_WORD_SHARE = 0.4;
/** Below this share of all alphanumeric characters (numbers included) in words: a table or dump. */
export const MIN_WORDS_OF_ALL = 0.2;
/** Minified code: more ASCII punctuation than this per non-space character … */
const CODE_PUNCT_SHARE = 0.12;
/** … and less whitespace than this per non-space character (prose has ~0.18). */
const CODE_SPACE_SHARE = 0.05;
/** … or more than this share of non-space characters in runs of LONG_RUN+ without whitespace. */
const LONG_RUN = 40;
const LONG_RUN_SHARE = 0.6;
/** Fewer alphanumeric characters than this: too little to judge, treated as prose. */
const MIN_EVIDENCE = 24;
const MAX_CASED_WORD = 40;
/** A non-word run this long is a code (hash, key, base64 piece), not a gene symbol or an id. */
const LONG_CODE = 16;
/** Above this share of alphanumeric characters in such codes a chunk is not prose. */
export const MAX_CODE_SHARE = 0.25;

const TOKEN = /[\p{L}\p{M}\p{N}]+/gu;
const NUMBER = /^\p{N}+$/u;
const HAS_DIGIT = /\p{N}/u;
const CASED = /[\p{Lu}\p{Ll}\p{Lt}]/u;
/**
 * lower | Capitalised | UPPER(s) | camelCase and PascalCase humps, acronym humps included
 * (OAuthClient, XMLHttpRequest, getURL) | mRNA-like prefixes.
 */
const WORD_CASE = /^(?:(?:\p{Lu}?|\p{Lu}{2,})[\p{Ll}\p{M}]+(?:\p{Lu}+[\p{Ll}\p{M}]{2,})*\p{Lu}*|[\p{Lu}\p{M}]+(?:s|es)?|\p{Ll}{1,3}[\p{Lu}\p{M}]+s?)$/u;
/** Letter runs and digit runs of a token that has both (Int8Array, Gln356Pro871). */
const RUNS = /\p{N}+|[\p{L}\p{M}]+/gu;

export interface ProseVerdict {
  prose: boolean;
  /** Share of alphanumeric characters in word-like tokens (1 when there is too little to judge). */
  wordShare: number;
  /** Share of all alphanumeric characters (numbers included) in word-like tokens. */
  letterWordShare: number;
  /** Share of alphanumeric characters in long non-word runs (hashes, keys, base64 pieces). */
  codeShare: number;
  /** Which property decided a non-prose verdict. */
  reason?: 'few_words' | 'codes' | 'minified';
}

function letterWord(tok: string): boolean {
  if (!CASED.test(tok)) return true; // a caseless script: no case pattern to check
  return tok.length <= MAX_CASED_WORD && WORD_CASE.test(tok);
}

/**
 * A word, or a compound of words and short numbers (Int8Array, utf8, Gln356Pro871): every letter
 * run at least 3 long and word-like, every digit run at most 4 long. Hashes and base64 pieces fail:
 * their letter runs are short or of random case.
 */
function wordLike(tok: string): boolean {
  if (!HAS_DIGIT.test(tok)) return letterWord(tok);
  for (const m of tok.matchAll(RUNS)) {
    const r = m[0];
    if (HAS_DIGIT.test(r) ? r.length > 4 : r.length < 3 || !letterWord(r)) return false;
  }
  return true;
}

export function classifyChunk(text: string): ProseVerdict {
  let alnum = 0;
  let words = 0;
  let numbers = 0;
  let longCodes = 0;
  for (const m of text.matchAll(TOKEN)) {
    const t = m[0];
    alnum += t.length;
    if (NUMBER.test(t)) numbers += t.length;
    else if (wordLike(t)) words += t.length;
    else if (t.length >= LONG_CODE) longCodes += t.length;
  }
  let nonSpace = 0;
  let space = 0;
  let asciiPunct = 0;
  let ascii = 0;
  let run = 0;
  let inLongRuns = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      if (run >= LONG_RUN) inLongRuns += run;
      run = 0;
      if (i < text.length) space++;
      continue;
    }
    run++;
    nonSpace++;
    if (c < 128) {
      ascii++;
      if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) asciiPunct++;
    }
  }
  if (alnum < MIN_EVIDENCE) return { prose: true, wordShare: 1, letterWordShare: 1, codeShare: 0 };
  // Numbers are neutral for the word share (results sections are full of them) …
  const wordShare = words / Math.max(1, alnum - numbers);
  // … but a chunk of almost nothing but numbers and codes (tables, dumps) is not language either.
  const letterWordShare = words / alnum;
  const codeShare = longCodes / alnum;
  const v = { wordShare, letterWordShare, codeShare };
  if (wordShare < MIN_WORD_SHARE || letterWordShare < MIN_WORDS_OF_ALL) return { prose: false, ...v, reason: 'few_words' };
  // Hashes, keys and blobs between words (lock files, key lists): long runs that are no word.
  if (codeShare > MAX_CODE_SHARE) return { prose: false, ...v, reason: 'codes' };
  const mostlyAscii = ascii >= 0.8 * nonSpace;
  const unbroken = space < CODE_SPACE_SHARE * nonSpace || inLongRuns > LONG_RUN_SHARE * nonSpace;
  if (mostlyAscii && asciiPunct > CODE_PUNCT_SHARE * nonSpace && unbroken) return { prose: false, ...v, reason: 'minified' };
  return { prose: true, ...v };
}

export function isProse(text: string): boolean {
  return classifyChunk(text).prose;
}
