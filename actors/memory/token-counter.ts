/**
 * Counts chunk sizes in the embedding model's word pieces, using the tokenizer.json the embedder
 * reports (memory never loads the model itself). Without one (e.g. a remote provider) it falls back
 * to an estimate of 4 characters per token, which over-counts English slightly — chunks stay in budget.
 */
import fs from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

export type TokenCounter = (text: string) => number;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function loadTokenCounter(tokenizerJson: string | undefined): { count: TokenCounter; exact: boolean } {
  if (!tokenizerJson || !fs.existsSync(tokenizerJson)) return { count: estimateTokens, exact: false };
  const dir = tokenizerJson.replace(/tokenizer\.json$/, '');
  let cfg: object = {};
  try {
    cfg = JSON.parse(fs.readFileSync(`${dir}tokenizer_config.json`, 'utf8'));
  } catch {
    /* optional */
  }
  const tok = new Tokenizer(JSON.parse(fs.readFileSync(tokenizerJson, 'utf8')), cfg);
  return { count: (text) => tok.encode(text, { add_special_tokens: false }).ids.length, exact: true };
}
