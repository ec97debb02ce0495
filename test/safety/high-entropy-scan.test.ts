/**
 * highEntropyAssignments (indexOf over `=`/`:` and early exits) finds exactly the matches of the
 * regex it stands for, /[=:][ \t]{0,3}["']?([A-Za-z0-9+/=_-]{32,256})["']?,?[ \t]*$/gm — same start,
 * end and value — on generated lines with runs of every length around the bounds and separators inside values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { highEntropyAssignments } from '../../actors/safety/leak-detector.js';
import { mixedText } from '../../bench/scenarios/safety.js';
import { rng } from '../../bench/lib/rng.js';

const RE = /[=:][ \t]{0,3}["']?([A-Za-z0-9+/=_-]{32,256})["']?,?[ \t]*$/gm;
function viaRegex(text: string): Array<[number, number, string]> {
  const out: Array<[number, number, string]> = [];
  RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = RE.exec(text)) !== null) out.push([m.index, m.index + m[0].length, m[1]]);
  return out;
}
function viaScan(text: string): Array<[number, number, string]> {
  const out: Array<[number, number, string]> = [];
  highEntropyAssignments(text, (index, end, value) => out.push([index, end, value]));
  return out;
}

test('high-entropy assignment scan equals its regex (seeded lines, mixed text)', () => {
  const r = rng(31);
  const V = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-';
  const pick = (a: string) => a[Math.floor(r() * a.length)];
  const run = (n: number) => Array.from({ length: n }, () => pick(V)).join('');
  const seps = ['=', ':', '= ', ': "', "='", '=\t\t', ':   ', '==', '=:'];
  const ends = ['', '"', "'", '",', ' ', '\t', ',', ' x', '.', '\r', '\u2028'];
  let found = 0;
  for (let n = 0; n < 4000; n++) {
    const lines: string[] = [];
    for (let i = 0, k = 1 + Math.floor(r() * 6); i < k; i++) {
      const len = [5, 7, 8, 15, 16, 30, 31, 32, 33, 100, 255, 256, 257, 300][Math.floor(r() * 14)];
      lines.push(`${run(Math.floor(r() * 8))}${seps[Math.floor(r() * seps.length)]}${run(len)}${ends[Math.floor(r() * ends.length)]}`);
    }
    const t = lines.join(r() < 0.5 ? '\n' : '\r\n');
    const want = viaRegex(t);
    found += want.length;
    assert.deepEqual(viaScan(t), want, JSON.stringify(t));
  }
  assert.ok(found > 1000, `${found} matches: the comparison is not vacuous`);
  const mixed = mixedText(200_000, 9);
  assert.deepEqual(viaScan(mixed), viaRegex(mixed));
});
