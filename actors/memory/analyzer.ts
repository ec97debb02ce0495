/**
 * Text analysis for BM25: lower-case, tokenize, drop English stop words, Porter2 stemming
 * (wink-nlp-utils) — the same shape as Elasticsearch's `english` analyzer used for BEIR's BM25.
 */
import nlp from 'wink-nlp-utils';

export function analyze(text: string): string[] {
  return nlp.tokens.stem(nlp.tokens.removeWords(nlp.string.tokenize0(nlp.string.lowerCase(text))));
}
