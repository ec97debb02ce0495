/**
 * Bounded-behaviour checks over every built-in pattern directly (not only through the anchored scan):
 * each sticky format regex tried at many positions of pathological strings, every injection family
 * over long runs, and the window optimisation of the injection detector against a full scan.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FORMAT_RULES } from '../../actors/safety/leak-rules.js';
import { LeakDetector } from '../../actors/safety/leak-detector.js';
import { FAMILIES, InjectionDetector } from '../../actors/safety/injection-detector.js';
import { findEdits } from '../../actors/safety/sanitizer.js';
import { UrlPolicy } from '../../src/lib/net/url-guard.js';

const PATHOLOGICAL = [
  'a'.repeat(100_000) + '!', 'A'.repeat(100_000) + '!', '0'.repeat(100_000) + '!', '-'.repeat(100_000), '_'.repeat(100_000) + '!',
  'aA0_-'.repeat(20_000), '.'.repeat(100_000), ' '.repeat(100_000) + 'x', '='.repeat(100_000),
];

test('every format rule regex stays fast on pathological input at every 97th position', () => {
  for (const rule of FORMAT_RULES) {
    for (const s of PATHOLOGICAL) {
      const t = performance.now();
      for (let at = 0; at < s.length; at += 97) {
        rule.re.lastIndex = at;
        rule.re.exec(s);
      }
      const ms = performance.now() - t;
      assert.ok(ms < 1500, `${rule.id} on ${JSON.stringify(s.slice(0, 6))}… took ${ms.toFixed(0)} ms`);
    }
  }
});

test('every injection family, the sanitizer and the URL guard stay fast on pathological input', () => {
  const inputs = [...PATHOLOGICAL, 'ignore '.repeat(20_000), 'you are '.repeat(15_000), '<|'.repeat(50_000), '![a]('.repeat(20_000), '<!--'.repeat(25_000), '<script'.repeat(15_000)];
  for (const fam of FAMILIES) {
    for (const s of inputs) {
      const t = performance.now();
      for (const re of fam.res) {
        re.lastIndex = 0;
        let n = 0;
        while (re.exec(s) !== null && n++ < 100_000) if (re.lastIndex === 0) break;
      }
      const ms = performance.now() - t;
      assert.ok(ms < 3000, `${fam.name} on ${JSON.stringify(s.slice(0, 8))}… took ${ms.toFixed(0)} ms`);
    }
  }
  for (const s of inputs) {
    // CPU time of this thread's process, not wall clock: neighbours' load does not count against us.
    const ms = cpuMs(() => {
      findEdits(s);
      new InjectionDetector().detect(s);
      new UrlPolicy().checkUrl('http://' + s.slice(0, 9000) + '/');
    });
    assert.ok(ms < 3000, `sanitizer/detector/url on ${JSON.stringify(s.slice(0, 8))}… took ${ms.toFixed(0)} ms CPU`);
  }
});

/** CPU milliseconds (user + system) spent by fn. */
function cpuMs(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}

test('the leak scan is linear on long lines full of key words (4× the input costs < 8× the CPU)', () => {
  const d = new LeakDetector();
  // Runs of `=` / `:` once cost 9 s per MB (the high-entropy line pattern backtracked through every value length).
  for (const unit of ['plain words without anything secret in them. ', 'token ', 'key: ', 'password\t', 'kind: Secret ', '<|', '=', ':', 'A', '=a', 'x=' + 'Ab1'.repeat(20) + '\r']) {
    const small = unit.repeat(Math.ceil(60_000 / unit.length));
    const large = unit.repeat(Math.ceil(240_000 / unit.length));
    const run = (s: string) => Math.min(...[0, 1, 2].map(() => cpuMs(() => { d.scan(s); })));
    const a = run(small);
    const b = run(large);
    assert.ok(b < 8 * a + 40, `${JSON.stringify(unit)}: ${a.toFixed(1)} ms CPU for 60 K, ${b.toFixed(1)} ms for 240 K`);
  }
});

test('the injection detector and the sanitizer are linear on runs of triggers (4× the input costs < 8× the CPU)', () => {
  for (const unit of ['<|', 'ignore ', 'you are ', '![a](', '<!--', 'system: ']) {
    const small = unit.repeat(Math.ceil(60_000 / unit.length));
    const large = unit.repeat(Math.ceil(240_000 / unit.length));
    const run = (s: string) => Math.min(...[0, 1, 2].map(() => cpuMs(() => { findEdits(s); new InjectionDetector().detect(s); })));
    const a = run(small);
    const b = run(large);
    // A quadratic scan would cost 16×; the constant covers timer granularity on tiny figures.
    assert.ok(b < 8 * a + 40, `${JSON.stringify(unit)}: ${a.toFixed(1)} ms CPU for 60 K, ${b.toFixed(1)} ms for 240 K`);
  }
});

test('the trigger-window optimisation finds the same families as running every pattern on the whole text', () => {
  const file = fileURLToPath(new URL('../../../test/fixtures/safety/injection.jsonl', import.meta.url));
  const texts = readFileSync(file, 'utf8').trim().split('\n').map((l) => String(JSON.parse(l).text));
  const filler = 'Background text about unrelated things. '.repeat(300);
  texts.push(filler + texts[0] + filler, texts.join('\n\n'));
  const det = new InjectionDetector();
  for (const t of texts) {
    const full = FAMILIES.filter((f) => f.res.some((re) => { re.lastIndex = 0; return re.exec(t) !== null; })).map((f) => f.name);
    assert.deepEqual([...det.matchFamilies(t).keys()], full, t.slice(0, 80));
  }
});

test('a megabyte of one repeated unit costs a bounded amount of CPU in the leak scan and the sanitizer', () => {
  const d = new LeakDetector();
  // Before: `=` 4.6 s, `key=` 2.0 s, `sk-` 1.7 s of CPU per MB; now 0.1–0.4 s.
  for (const unit of ['=', '=a', ':', 'A', 'a', '1', '-', 'sk-', 'key=', 'password=', 'token: ', '1|']) {
    const s = unit.repeat(Math.ceil(1_000_000 / unit.length));
    const ms = cpuMs(() => { d.scan(s); });
    assert.ok(ms < 1200, `${JSON.stringify(unit)}: ${ms.toFixed(0)} ms CPU for 1 MB`);
  }
  // The markup sanitizer on `<a <a …` (the hidden-style pattern looked 500 characters past every `<a`: 0.95 s).
  const tags = '<a '.repeat(333_334);
  const ms = cpuMs(() => { findEdits(tags, { markup: true }); });
  assert.ok(ms < 600, `<a runs: ${ms.toFixed(0)} ms CPU for 1 MB`);
});
