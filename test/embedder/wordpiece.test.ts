import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { boundWordPiece } from '../../src/lib/wordpiece.js';
import { MODEL } from '../memory/helpers.js';
import { base64Blob, hexBlob, minifiedJs, pathologicalUnicode } from '../memory/hostile-fixtures.js';

test('the bounded WordPiece gives exactly the library tokens, on prose and on hostile input', () => {
  const json = JSON.parse(fs.readFileSync(path.join(MODEL, 'tokenizer.json'), 'utf8'));
  const ref = new Tokenizer(json, {});
  const fast = new Tokenizer(json, {});
  assert.equal(boundWordPiece(fast), true);
  const texts = [
    'The quick brown fox jumps over the lazy dog; electroencephalography and internationalization.',
    'Ünïcödé café — naïve 東京 text, e-mail@x.org (parens) 3.14% https://example.com/a/b?c=d',
    base64Blob(300),
    hexBlob(200, false),
    minifiedJs(500),
    pathologicalUnicode(400),
    'a'.repeat(99) + ' ' + 'b'.repeat(101),
  ];
  for (const t of texts) assert.deepEqual(fast.encode(t).ids, ref.encode(t).ids, t.slice(0, 40));
});
