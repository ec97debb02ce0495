import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkText } from '../../actors/memory/chunker.js';

// A whitespace word counter keeps these tests independent of the model tokenizer.
const words = (t: string) => t.split(/\s+/).filter(Boolean).length;

test('short text is one chunk with its line range', () => {
  const c = chunkText('hello world.\nsecond line', { maxTokens: 50, overlapTokens: 5, count: words });
  assert.equal(c.length, 1);
  assert.equal(c[0].startLine, 1);
  assert.equal(c[0].endLine, 2);
  assert.equal(c[0].text, 'hello world.\nsecond line');
});

test('chunks respect the token budget, cut on sentences and overlap', () => {
  const sentences = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} has exactly seven words.`);
  const text = sentences.join(' ');
  const c = chunkText(text, { maxTokens: 30, overlapTokens: 8, count: words });
  assert.ok(c.length > 5);
  for (const ch of c) {
    assert.ok(words(ch.text) <= 30, `chunk over budget: ${words(ch.text)}`);
    assert.match(ch.text, /^Sentence number \d+ .*words\.$/, 'cut on sentence boundaries');
  }
  // overlap: the last sentence of a chunk starts the next one
  const lastOf0 = c[0].text.split('. ').pop()!.replace(/\.$/, '');
  assert.ok(c[1].text.startsWith(lastOf0), 'next chunk repeats the tail as overlap');
  // every sentence is covered
  for (const s of sentences) assert.ok(c.some((ch) => ch.text.includes(s)), `missing: ${s}`);
});

test('markdown headings start new chunks and line numbers follow the source', () => {
  const md = ['# Title', '', 'intro para one two three.', '', '## Section A', '', ...Array.from({ length: 6 }, (_, i) => `line a${i} with some words here`), '', '## Section B', '', 'b text lives here.'].join('\n');
  const c = chunkText(md, { maxTokens: 30, overlapTokens: 0, count: words });
  const b = c.find((x) => x.text.includes('## Section B'))!;
  assert.ok(b.text.startsWith('## Section B'), 'heading opens its chunk');
  assert.equal(b.startLine, 14);
  assert.equal(b.endLine, 16);
  const a = c.find((x) => x.text.includes('## Section A'))!;
  assert.ok(a.text.startsWith('## Section A'));
  assert.equal(a.startLine, 5);
  const a0 = c.find((x) => x.text.includes('line a0'))!;
  assert.ok(a0.text.includes('line a0 with some words here\nline a1'), 'long paragraphs split on lines keep their newlines');
});

test('a single huge word or sentence is split, never exceeding the budget', () => {
  const long = 'x'.repeat(5000);
  // like word pieces, whitespace costs nothing
  const count = (t: string) => Math.ceil(t.replace(/\s/g, '').length / 10);
  const c = chunkText(`start ${long} end`, { maxTokens: 20, overlapTokens: 2, count });
  assert.ok(c.length > 10);
  for (const ch of c) assert.ok(count(ch.text) <= 20, `chunk of ${count(ch.text)} tokens`);
  assert.equal(c.map((x) => x.text).join('').replace(/\s/g, '').length >= 5000, true);
});

test('fenced code blocks stay together when they fit', () => {
  const md = 'text before.\n\n```js\nconst a = 1;\n\nconst b = 2;\n```\n\nafter.';
  const c = chunkText(md, { maxTokens: 100, overlapTokens: 0, count: words });
  assert.equal(c.length, 1);
  assert.ok(c[0].text.includes('const a = 1;\n\nconst b = 2;'));
});

test('chunkTextAsync splits huge texts into segments and keeps line numbers', async () => {
  const { chunkTextAsync } = await import('../../actors/memory/chunker.js');
  const para = (i: number) => `Paragraph ${i} says something short.\nIt has a second line.`;
  const text = Array.from({ length: 20_000 }, (_, i) => para(i)).join('\n\n'); // ~1.2 MB
  const opts = { maxTokens: 40, overlapTokens: 0, count: words };
  const seq = chunkText(text, opts);
  const seg = await chunkTextAsync(text, opts);
  const find = (cs: typeof seq, needle: string) => cs.find((c) => c.text.includes(needle))!;
  for (const i of [0, 7_000, 19_999]) {
    const c = find(seg, `Paragraph ${i} `);
    assert.equal(text.split('\n')[c.startLine - 1].startsWith('Paragraph'), true);
    const line = 1 + 3 * i; // each paragraph: 2 lines + 1 blank
    assert.ok(c.startLine <= line && c.endLine >= line + 1, `paragraph ${i} at ${line}, chunk ${c.startLine}-${c.endLine}`);
  }
  assert.ok(Math.abs(seg.length - seq.length) <= 10, `${seg.length} vs ${seq.length}`);
});
