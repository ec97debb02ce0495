/**
 * The untrusted-content wrapper (wrap.ts) neutralises exactly the forged markers a regex replace over
 * the whole edited body finds — also markers that only form across an edit (a removed character
 * joins two pieces, a replacement holds one), where it searches only around the edits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wrapEdited } from '../../actors/safety/wrap.js';
import { applyEdits, type Edit } from '../../actors/safety/sanitizer.js';
import { rng } from '../../bench/lib/rng.js';

function reference(head: string, text: string, edits: Edit[], tail: string, close: string): string {
  const body = (applyEdits(text, edits) + tail).replace(/<\/?untrusted_content/gi, (m) => m.replace('<', '&lt;'));
  return head + body + close;
}

test('forged markers are neutralised as by a whole-body replace (seeded fuzz)', () => {
  const r = rng(37);
  const pieces = ['<', '</', 'untr', 'usted', '_content', 'UNTRUSTED_CONTENT', '<untrusted_content', '</untrusted_content>', 'x', ' ', '\n', 'abc', '<b>', '>'];
  const reps = ['', '', ' ', '[REDACTED:x:1234]', '&lt;', 'blocked:', '<', '</untrusted_content', 'untrusted_', '_content'];
  const head = '<untrusted_content source="web">\n';
  const close = '\n</untrusted_content>';
  let neutralised = 0;
  for (let n = 0; n < 20_000; n++) {
    let text = '';
    for (let i = 0, k = Math.floor(r() * 14); i < k; i++) text += pieces[Math.floor(r() * pieces.length)];
    const edits: Edit[] = [];
    let pos = 0;
    if (r() < 0.5) {
      // A marker split at a random point by junk that an edit removes (or replaces by the rest of it).
      const marker = r() < 0.5 ? '<untrusted_content' : '</UNTRUSTED_content';
      const k = 1 + Math.floor(r() * (marker.length - 1));
      const fill = r() < 0.7;
      const junk = ['\u200b', 'zz', '<!--x-->'][Math.floor(r() * 3)];
      const start = text.length + k;
      text += marker.slice(0, k) + junk + (fill ? marker.slice(k) : '');
      edits.push({ rule: 'x', category: 'control', severity: 'low', start, end: start + junk.length, replacement: fill ? '' : marker.slice(k) });
      pos = text.length + 1;
      text += 'abc' + pieces[Math.floor(r() * pieces.length)];
    }
    while (pos < text.length && r() < 0.7) {
      const start = pos + Math.floor(r() * 6);
      if (start > text.length) break;
      const end = Math.min(text.length, start + Math.floor(r() * 4));
      edits.push({ rule: 'x', category: 'control', severity: 'low', start, end, replacement: reps[Math.floor(r() * reps.length)] });
      pos = end + 1;
    }
    const tail = r() < 0.2 ? '\n[truncated: 5 characters beyond limits.max_text_chars removed; all of it was scanned]' : '';
    const marked = /untrusted_content/i.test(text);
    const want = reference(head, text, edits, tail, close);
    if (want.includes('&lt;')) neutralised++;
    assert.equal(wrapEdited(head, { text, edits, tail, marked }, close), want, JSON.stringify({ text, edits }));
  }
  assert.ok(neutralised > 2000, `${neutralised} cases with a forged marker: the comparison is not vacuous`);
});
