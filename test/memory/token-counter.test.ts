import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { loadTokenCounter, estimateTokens } from '../../actors/memory/token-counter.js';
import { MODEL, repoRoot } from './helpers.js';

test('cached word-level counting equals the tokenizer on whole texts', () => {
  const file = path.join(MODEL, 'tokenizer.json');
  const tok = new Tokenizer(JSON.parse(fs.readFileSync(file, 'utf8')), {});
  const { count, exact } = loadTokenCounter(file);
  assert.ok(exact);
  const corpus = path.resolve(repoRoot, '../shared/data/retrieval/scifact/corpus.jsonl');
  const texts = fs
    .readFileSync(corpus, 'utf8')
    .split('\n')
    .slice(0, 100)
    .filter(Boolean)
    .map((l) => {
      const d = JSON.parse(l);
      return `${d.title} ${d.text}`;
    });
  texts.push('Ünïcödé café — naïve 東京 text\twith\ttabs, "quotes", e-mail@x.org (parens) 3.14% ~~~\n\nnew para');
  for (const t of texts) assert.equal(count(t), tok.encode(t, { add_special_tokens: false }).ids.length, t.slice(0, 60));
});

test('without a tokenizer the estimate is used', () => {
  const c = loadTokenCounter(undefined);
  assert.equal(c.exact, false);
  assert.equal(c.count('abcdefgh'), estimateTokens('abcdefgh'));
});
