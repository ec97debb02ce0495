/**
 * The injection patterns that skip windows without their needed triggers (PATTERN_NEEDS): every match
 * of such a pattern contains one of those triggers, as the prefilter folds case — on the development
 * set, the fixtures and seeded texts built from the patterns' own words — so skipping changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PATTERN_NEEDS, INJECTION_TRIGGERS } from '../../actors/safety/injection-detector.js';
import { LiteralMatcher } from '../../actors/safety/literal-matcher.js';
import { rng } from '../../bench/lib/rng.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function rows(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.jsonl')).flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => String((JSON.parse(l) as { text?: unknown }).text ?? '')));
}

/**
 * A random string the simple regex `src` (literals, groups, alternation, `?`, `\s{a,b}`, classes,
 * bounded gaps) matches most of the time: a generator over the pattern's own syntax, so the check
 * sees many real matches of every pattern.
 */
function sample(src: string, r: () => number): string {
  let i = 0;
  const alt = (): string => {
    const branches: string[] = [seq()];
    while (src[i] === '|') { i++; branches.push(seq()); }
    return branches[Math.floor(r() * branches.length)];
  };
  const seq = (): string => {
    let out = '';
    while (i < src.length && src[i] !== '|' && src[i] !== ')') {
      let atom: string;
      const c = src[i];
      if (c === '(') {
        const look = src.startsWith('(?!', i) || src.startsWith('(?<!', i) || src.startsWith('(?=', i);
        i += src.startsWith('(?<!', i) ? 4 : src[i + 1] === '?' ? 3 : 1;
        const inner = alt();
        i++; // ')'
        atom = look ? '' : inner;
      } else if (c === '[') {
        let end = i + 1;
        while (src[end] !== ']') end += src[end] === '\\' ? 2 : 1;
        const cls = src.slice(i + 1, end);
        atom = cls.startsWith('^') ? (cls.includes('\\s') ? 'q' : ' ') : cls.replace(/\\./g, '')[0] ?? ' ';
        i = end + 1;
      } else if (c === '\\') {
        const e = src[i + 1];
        atom = e === 's' ? ' ' : e === 'b' ? '' : e === 'n' ? '\n' : e === 'w' ? 'a' : e === 'd' ? '1' : e;
        i += 2;
      } else if (c === '^' || c === '$') {
        atom = '';
        i++;
      } else {
        atom = c;
        i++;
      }
      // Quantifiers: `?` keeps the atom at random, `{a,b}` repeats it a to at most a+2 times.
      if (src[i] === '?') { i++; if (r() < 0.5) atom = ''; }
      else if (src[i] === '{') {
        const m = /^\{(\d+)(?:,(\d+))?\}\??/.exec(src.slice(i))!;
        i += m[0].length;
        const lo = Number(m[1]), hi = Math.min(Number(m[2] ?? m[1]), lo + 2);
        atom = atom.repeat(lo + Math.floor(r() * (hi - lo + 1)));
      } else if (src[i] === '+' || src[i] === '*') { i++; if (src[i] === '?') i++; }
      out += atom;
    }
    return out;
  };
  return alt();
}

function seeded(n: number): string[] {
  const r = rng(23);
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const [re] = PATTERN_NEEDS[k % PATTERN_NEEDS.length];
    const t = sample(re.source, r);
    out.push(r() < 0.3 ? t.toUpperCase() : r() < 0.3 ? `x ${t} y` : t);
  }
  return out;
}

test('every match of a gated injection pattern contains one of its needed triggers', () => {
  const texts = [...rows(path.join(repoRoot, '../shared/data/safety')), ...rows(path.join(repoRoot, 'test/fixtures/safety')), ...seeded(20_000)];
  for (const [re, lits] of PATTERN_NEEDS) {
    let checked = 0;
    const m = new LiteralMatcher(lits);
    assert.ok(lits.every((l) => INJECTION_TRIGGERS.literals.includes(l.toLowerCase())), 'needed literals are triggers');
    for (const t of texts) {
      re.lastIndex = 0;
      let x: RegExpExecArray | null;
      while ((x = re.exec(t)) !== null) {
        if (x[0].length === 0) { re.lastIndex++; continue; }
        assert.ok(m.findAll(x[0]).count > 0, `${re.source.slice(0, 40)}… matched ${JSON.stringify(x[0])} without a needed trigger`);
        checked++;
      }
    }
    assert.ok(checked >= 20, `${re.source.slice(0, 40)}…: the check saw only ${checked} matches`);
  }
});
