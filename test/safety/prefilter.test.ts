/**
 * The anchor prefilter: the Aho–Corasick matcher finds exactly what a combined longest-first `gi`
 * alternation finds (case folding included), windowed scans equal one pass, and the detectors give
 * the same findings with the prefilter's hits as with their own scan.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiteralMatcher } from '../../actors/safety/literal-matcher.js';
import { Prefilter } from '../../actors/safety/prefilter.js';
import { LeakDetector, LEAK_ANCHORS } from '../../actors/safety/leak-detector.js';
import { InjectionDetector, INJECTION_TRIGGERS } from '../../actors/safety/injection-detector.js';
import { mixedText } from '../../bench/scenarios/safety.js';

/** (start, longest literal) at every position, the way the former combined alternation reported them. */
function viaRegExp(literals: readonly string[], text: string): string[] {
  const re = new RegExp([...literals].sort((a, b) => b.length - a.length).map((a) => a.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|'), 'gi');
  const out: string[] = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    out.push(`${m.index}:${m[0].toLowerCase()}`);
    re.lastIndex = m.index + 1;
  }
  return out;
}

function viaMatcher(m: LiteralMatcher, text: string): string[] {
  const f = m.findAll(text);
  const out: string[] = [];
  let prev = -1;
  for (let i = 0; i < f.count; i++) {
    if (f.starts[i] === prev) continue;
    prev = f.starts[i];
    out.push(`${f.starts[i]}:${m.literals[f.lits[i]]}`);
  }
  return out;
}

const ALL = [...new Set([...LEAK_ANCHORS.literals, ...INJECTION_TRIGGERS.literals])];

test('the matcher finds what a combined case-insensitive alternation finds, in the same order', () => {
  const m = new LiteralMatcher(ALL);
  let seed = 3;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const upper = ALL.map((l) => l.toUpperCase()).join(' ');
  const mixedCase = ALL.map((l) => [...l].map((c) => (rnd() < 0.5 ? c.toUpperCase() : c)).join('')).join('');
  const units = Array.from({ length: 50_000 }, () => String.fromCharCode(Math.floor(rnd() * 65536))).join('');
  const texts = [mixedText(300_000, 5), upper, mixedCase, units, 'ÜBERGEH übergeh İgnore ıgnore ſecret ſk-', 'kkkkkkkk' + 'tokentokentoken'];
  for (const t of texts) assert.deepEqual(viaMatcher(m, t), viaRegExp(ALL, t), t.slice(0, 40));
});

test('every occurrence is reported, overlapping ones included; bad literal sets are refused', () => {
  const m = new LiteralMatcher(['he', 'she', 'hers', 'his']);
  const f = m.findAll('ushers');
  const hits = Array.from({ length: f.count }, (_, i) => `${f.starts[i]}:${m.literals[f.lits[i]]}`);
  assert.deepEqual(hits, ['1:she', '2:hers', '2:he']);
  assert.throws(() => new LiteralMatcher(['ok', '']), RangeError);
  assert.throws(() => new LiteralMatcher(['x'.repeat(256)]), RangeError);
});

test('scan resumed at arbitrary cut points (state carried) reports exactly the hits of one pass, at range edges too', () => {
  const m = new LiteralMatcher(ALL);
  const whole = (t: string) => {
    const out: string[] = [];
    m.scan(t, 0, t.length, (s, li) => out.push(`${s}:${li}`));
    return out;
  };
  const text = mixedText(60_000, 11) + 'password';
  const one = whole(text);
  assert.deepEqual(one.filter((h) => h.startsWith(`${text.length - 8}:`)).length > 0, true, 'a literal ending at the last code unit is reported');
  let seed = 9;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let trial = 0; trial < 20; trial++) {
    const cuts = [0, ...Array.from({ length: 30 }, () => Math.floor(rnd() * text.length)).sort((a, b) => a - b), text.length];
    const out: string[] = [];
    let state = 0;
    for (let i = 0; i + 1 < cuts.length; i++) state = m.scan(text, cuts[i], cuts[i + 1], (s, li) => out.push(`${s}:${li}`), state);
    assert.deepEqual(out, one);
  }
  // Ranges of one code unit, each ending a literal ("he" inside "hehe"), and an empty range.
  const tiny = new LiteralMatcher(['he', 'eh']);
  const hits: string[] = [];
  let st = 0;
  for (let i = 0; i < 4; i++) st = tiny.scan('hehe', i, i + 1, (s, li) => hits.push(`${s}:${tiny.literals[li]}`), st);
  assert.equal(tiny.scan('hehe', 2, 2, () => hits.push('x'), st), st);
  assert.deepEqual(hits, ['0:he', '1:eh', '2:he']);
});

test('windowed prefilter scans equal one pass, and a view equals a scan of the slice', () => {
  const pre = new Prefilter([LEAK_ANCHORS, INJECTION_TRIGGERS]);
  const text = mixedText(250_000, 9);
  const drain = (w: number) => {
    const it = pre.scanSteps(text, w);
    for (;;) {
      const r = it.next();
      if (r.done) return r.value;
    }
  };
  const one = drain(10_000_000);
  const windowed = drain(7_777);
  assert.deepEqual([...windowed.starts.subarray(0, windowed.count)], [...one.starts.subarray(0, one.count)]);
  assert.deepEqual([...windowed.lits.subarray(0, windowed.count)], [...one.lits.subarray(0, one.count)]);
  const leakOwn = new LiteralMatcher(LEAK_ANCHORS.literals);
  for (const [from, to] of [[0, text.length], [1234, 99_999], [50_000, 50_010]]) {
    const v = pre.view(one, 0, from, to);
    const own = leakOwn.findAll(text.slice(from, to));
    assert.deepEqual([...v.starts.subarray(0, v.count)], [...own.starts.subarray(0, own.count)], `${from}-${to}`);
    assert.deepEqual([...v.lits.subarray(0, v.count)], [...own.lits.subarray(0, own.count)], `${from}-${to}`);
  }
});

test('the detectors find the same with the prefilter\'s hits as with their own scan', () => {
  const pre = new Prefilter([LEAK_ANCHORS, INJECTION_TRIGGERS]);
  const leaks = new LeakDetector({ fingerprintKey: 'k' });
  const inj = new InjectionDetector();
  for (const seed of [1, 2]) {
    const text = mixedText(200_000, seed);
    const it = pre.scanSteps(text);
    let r = it.next();
    while (!r.done) r = it.next();
    const all = r.value;
    assert.deepEqual(leaks.scan(text, pre.view(all, 0, 0, text.length)), leaks.scan(text));
    assert.deepEqual(inj.detect(text, pre.view(all, 1, 0, text.length)), inj.detect(text));
  }
});
