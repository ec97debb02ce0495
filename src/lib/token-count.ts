/**
 * Token counts for budgeting (gpt-tokenizer, o200k_base), safe on hostile input: the BPE merge loop
 * is quadratic in the length of one pre-token, and a run without whitespace is one pre-token
 * (measured here: 10 KB of one letter 0.5 s, 30 KB 3.9 s, 100 KB 27 s — a thread stuck on one
 * message). Such runs are counted in 200-character pieces: linear, and off by at most about a
 * token per piece, which budgeting tolerates (the provider's own usage is what gets billed).
 *
 * The tokenizer is loaded on the first count, not at import: its merge tables cost ~66 MB RSS and
 * ~550 ms per thread (measured on this machine), and a thread that imports this module only to
 * have it ready (the agent, the provider router) would otherwise pay that at start-up.
 */
import { createRequire } from 'node:module';
import { duringBlockingLoad } from '../kernel/blocking.js';

type Count = (text: string) => number;
let bpe: Count | undefined;
function bpeCount(text: string): number {
  // A long synchronous load: declared, so liveness allows it the setup grace.
  bpe ??= duringBlockingLoad(() => (createRequire(import.meta.url)('gpt-tokenizer') as { countTokens: Count }).countTokens);
  return bpe(text);
}

const PIECE = 200;
const LONG_RUN = new RegExp(`\\S{${PIECE}}`);
const SPLIT = new RegExp(`(\\S{${PIECE}})`);

export function countTokens(text: string): number {
  if (text.length < PIECE || !LONG_RUN.test(text)) return bpeCount(text);
  let n = 0;
  for (const part of text.split(SPLIT)) if (part) n += bpeCount(part);
  return n;
}
