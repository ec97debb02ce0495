/**
 * Text analysis for BM25: lower-case, tokenize, drop English stop words, Porter2 stemming
 * (wink-nlp-utils) — the same shape as Elasticsearch's `english` analyzer used for BEIR's BM25.
 * Stems are cached per word: stemming dominates the cost and vocabularies repeat heavily.
 */
import nlp from 'wink-nlp-utils';

const STEM_CACHE_MAX = 200_000;
const stems = new Map<string, string>();

function stem(word: string): string {
  let s = stems.get(word);
  if (s === undefined) {
    s = nlp.string.stem(word);
    if (stems.size >= STEM_CACHE_MAX) stems.clear();
    stems.set(word, s);
  }
  return s;
}

export function analyze(text: string): string[] {
  const tokens = nlp.tokens.removeWords(nlp.string.tokenize0(nlp.string.lowerCase(text)));
  for (let i = 0; i < tokens.length; i++) tokens[i] = stem(tokens[i]);
  return tokens;
}
