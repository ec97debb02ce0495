/**
 * BERT WordPiece tokenisation for the local model, through @huggingface/tokenizers (pure JS).
 * `tokenizer.json` declares truncation/padding at 128; like sentence-transformers we ignore that
 * and truncate to `maxTokens` (256 for all-MiniLM-L6-v2) word pieces including [CLS] and [SEP].
 */
import { boundWordPiece } from '../../src/lib/wordpiece.js';
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { EmbedderError } from './types.js';

export interface Encoded {
  ids: number[];
}

export class BertTokenizer {
  private constructor(
    private readonly tok: Tokenizer,
    readonly maxTokens: number,
    private readonly clsId: number,
    private readonly sepId: number,
  ) {}

  /** Load `tokenizer.json` (+ optional `tokenizer_config.json`) from a model folder. */
  static load(dir: string, maxTokens = 256): BertTokenizer {
    const tokFile = path.join(dir, 'tokenizer.json');
    let json: any;
    try {
      json = JSON.parse(fs.readFileSync(tokFile, 'utf8'));
    } catch (e) {
      throw new EmbedderError('model_file_invalid', `cannot read tokenizer ${tokFile}: ${(e as Error).message}`, tokFile);
    }
    let cfg: any = {};
    const cfgFile = path.join(dir, 'tokenizer_config.json');
    if (fs.existsSync(cfgFile)) {
      try {
        cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
      } catch (e) {
        throw new EmbedderError('model_file_invalid', `cannot parse ${cfgFile}: ${(e as Error).message}`, cfgFile);
      }
    }
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(json, cfg);
    } catch (e) {
      throw new EmbedderError('model_file_invalid', `tokenizer ${tokFile} is not a valid tokenizer: ${(e as Error).message}`, tokFile);
    }
    boundWordPiece(tok);
    const cls = tok.token_to_id('[CLS]');
    const sep = tok.token_to_id('[SEP]');
    if (cls === undefined || sep === undefined) {
      throw new EmbedderError('model_file_invalid', `tokenizer ${tokFile} has no [CLS]/[SEP] tokens (not a BERT tokenizer)`, tokFile);
    }
    return new BertTokenizer(tok, maxTokens, cls, sep);
  }

  /** Token ids with [CLS] … [SEP], truncated to maxTokens. */
  encode(text: string): number[] {
    const ids = this.tok.encode(text).ids;
    if (ids.length <= this.maxTokens) return ids;
    const cut = ids.slice(0, this.maxTokens - 1);
    cut.push(this.sepId);
    return cut;
  }

  /** Number of word pieces without the special tokens (what a chunk costs). */
  count(text: string): number {
    return this.tok.encode(text, { add_special_tokens: false }).ids.length;
  }

  /** Word pieces without special tokens (used by the chunker to measure pieces of text). */
  tokens(text: string): string[] {
    return this.tok.tokenize(text);
  }

  get cls(): number {
    return this.clsId;
  }
}
