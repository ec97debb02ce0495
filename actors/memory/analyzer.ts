/**
 * Text analysis for BM25: lower-case, tokenize, drop English stop words, Porter2 stemming
 * (wink-nlp-utils) — the same shape as Elasticsearch's `english` analyzer used for BEIR's BM25.
 * Stems are cached per word: stemming dominates the cost and vocabularies repeat heavily.
 *
 * Bounded: the stemmer's cost grows quadratically with word length (an 8,000-character "word"
 * costs ~1 s), so tokens longer than MAX_TOKEN_CHARS (hex dumps, base64, minified blobs) are
 * skipped before stemming and counted; a 64-character sha256 still fits and stays searchable.
 * Long texts are tokenized in slices cut at whitespace so no single regex pass is unbounded.
 */
// The four wink-nlp-utils functions used, from their own modules: the package's index loads all of
// its helpers and dictionaries (14 MB of RSS in a worker thread, against ~1 MB for these).
import lowerCase from 'wink-nlp-utils/src/string-lower-case.js';
import tokenize0 from 'wink-nlp-utils/src/string-tokenize0.js';
import removeWords from 'wink-nlp-utils/src/tokens-remove-words.js';
import porter2 from 'wink-porter2-stemmer';

export const MAX_TOKEN_CHARS = 64;
const CODE_TOKEN_CHARS = 16;
const HAS_DIGIT = /[0-9]/;
const STEM_CACHE_MAX = 200_000;
/** Text per tokenizer pass; a cut falls on whitespace when there is some nearby. */
const SLICE_CHARS = 64 * 1024;
const stems = new Map<string, string>();

function stem(word: string): string {
  let s = stems.get(word);
  if (s === undefined) {
    s = porter2(word);
    if (stems.size >= STEM_CACHE_MAX) stems.clear();
    stems.set(word, s);
  }
  return s;
}

export interface Analysis {
  tokens: string[];
  /** Tokens longer than MAX_TOKEN_CHARS, left out of the index. */
  skipped: number;
}

function analyzeSlice(text: string, out: Analysis): void {
  const tokens = removeWords(tokenize0(lowerCase(text)));
  for (const t of tokens) {
    if (t.length > MAX_TOKEN_CHARS) out.skipped++;
    // A long token with a digit is a code (hash, key, base64 piece), not a word: stemming would
    // only cost (its cost grows with length²) and fill the stem cache with junk. Kept as is, on
    // the query side too. Prose is unaffected: a 17+-character word with a digit is very rare.
    else if (t.length > CODE_TOKEN_CHARS && HAS_DIGIT.test(t)) out.tokens.push(t);
    else out.tokens.push(stem(t));
  }
}

/** Analyze a text, reporting how many over-long tokens were skipped. */
export function analyzeCounted(text: string): Analysis {
  const out: Analysis = { tokens: [], skipped: 0 };
  for (let i = 0; i < text.length; ) {
    let end = Math.min(text.length, i + SLICE_CHARS);
    if (end < text.length) {
      const ws = text.lastIndexOf(' ', end);
      const nl = text.lastIndexOf('\n', end);
      const cut = Math.max(ws, nl);
      // No whitespace in the slice: the cut splits one giant token, which is skipped anyway.
      if (cut > i) end = cut + 1;
    }
    analyzeSlice(text.slice(i, end), out);
    i = end;
  }
  return out;
}

export function analyze(text: string): string[] {
  return analyzeCounted(text).tokens;
}
