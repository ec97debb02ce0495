/**
 * Counts chunk sizes in the embedding model's word pieces, using the tokenizer.json the embedder
 * reports (memory never loads the model itself). Without one (e.g. a remote provider) it falls back
 * to an estimate of 4 characters per token.
 *
 * Counting is per whitespace-separated word with a cache: BERT's normaliser works per character and
 * its pre-tokenizer splits on whitespace (and punctuation inside words), so the pieces of a text are
 * exactly the pieces of its words — and words repeat, so most lookups skip the tokenizer.
 */
import fs from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { boundWordPiece } from '../../src/lib/wordpiece.js';

export type TokenCounter = (text: string) => number;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

const CACHE_MAX = 200_000;
/**
 * Words longer than this are estimated (a piece per 3 characters) instead of tokenized: the JS
 * WordPiece's cost per word grows quadratically (12 ms for one 64-letter random word, 2.6 s for
 * 100 KB of base64), and such words are hex, base64, minified code or URLs, whose exact piece
 * count matters little (the embedder truncates at its limit). Natural words stay exact.
 */
export const EXACT_WORD_CHARS = 48;

export function loadTokenCounter(tokenizerJson: string | undefined): { count: TokenCounter; exact: boolean } {
  if (!tokenizerJson || !fs.existsSync(tokenizerJson)) return { count: estimateTokens, exact: false };
  const dir = tokenizerJson.replace(/tokenizer\.json$/, '');
  let cfg: object = {};
  try {
    cfg = JSON.parse(fs.readFileSync(`${dir}tokenizer_config.json`, 'utf8'));
  } catch {
    /* optional */
  }
  const json = JSON.parse(fs.readFileSync(tokenizerJson, 'utf8'));
  const tok = new Tokenizer(json, cfg);
  boundWordPiece(tok);
  const wordLevel = json?.pre_tokenizer?.type === 'BertPreTokenizer' || json?.pre_tokenizer?.type === 'Whitespace';
  const raw = (text: string) => tok.encode(text, { add_special_tokens: false }).ids.length;
  if (!wordLevel) return { count: raw, exact: true };
  const cache = new Map<string, number>();
  const count = (text: string) => {
    let n = 0;
    for (const w of text.split(/\s+/)) {
      if (!w) continue;
      const hit = cache.get(w);
      if (hit !== undefined) {
        n += hit;
        continue;
      }
      if (w.length > EXACT_WORD_CHARS) {
        n += Math.ceil(w.length / 3);
        continue;
      }
      const c = raw(w);
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(w, c);
      n += c;
    }
    return n;
  };
  return { count, exact: true };
}
