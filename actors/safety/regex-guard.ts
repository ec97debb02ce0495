/**
 * Accepts a user-supplied regex from config only if it cannot backtrack catastrophically:
 * bounded length, no backreferences or lookbehind, and no quantified group that itself contains a
 * quantifier or an alternation (the `(a+)+`, `(a|a)*` shapes behind exponential backtracking).
 * Unbounded `*`/`+` are allowed only on single characters or classes. Errors name the YAML path.
 */
export class RegexConfigError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'RegexConfigError';
  }
}

export const MAX_PATTERN_LENGTH = 512;

export function compileUserRegex(pattern: unknown, flags: unknown, path: string): RegExp {
  if (typeof pattern !== 'string' || pattern.length === 0) throw new RegexConfigError(path, 'pattern must be a non-empty string');
  if (pattern.length > MAX_PATTERN_LENGTH) throw new RegexConfigError(path, `pattern longer than ${MAX_PATTERN_LENGTH} characters`);
  const f = flags === undefined ? '' : flags;
  if (typeof f !== 'string' || !/^[imsu]*$/.test(f)) throw new RegexConfigError(path, `flags may only contain i, m, s, u (got "${String(f)}")`);
  checkShape(pattern, path);
  try {
    return new RegExp(pattern, f + 'g');
  } catch (e) {
    throw new RegexConfigError(path, `invalid regular expression: ${(e as Error).message}`);
  }
}

interface GroupState { hasQuantifier: boolean; hasUnbounded: boolean; hasAlternation: boolean }

function checkShape(p: string, path: string): void {
  const stack: GroupState[] = [{ hasQuantifier: false, hasUnbounded: false, hasAlternation: false }];
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      const n = p[i + 1];
      if (n !== undefined && /[1-9k]/.test(n)) throw new RegexConfigError(path, `backreferences are not allowed (at ${i})`);
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      continue;
    }
    if (c === '(') {
      if (p.startsWith('(?<=', i) || p.startsWith('(?<!', i)) throw new RegexConfigError(path, `lookbehind is not allowed (at ${i})`);
      stack.push({ hasQuantifier: false, hasUnbounded: false, hasAlternation: false });
      continue;
    }
    if (c === '|') {
      stack[stack.length - 1].hasAlternation = true;
      continue;
    }
    if (c === ')') {
      const g = stack.pop();
      if (!g || stack.length === 0) throw new RegexConfigError(path, `unbalanced ")" at ${i}`);
      const q = quantifierAt(p, i + 1);
      // (a+)+, (a|aa)*: exponential; (.*a){20}: polynomial of degree 20. Both rejected.
      if (q && ((q.infinite && (g.hasQuantifier || g.hasAlternation)) || (q.repeats && g.hasUnbounded))) {
        throw new RegexConfigError(path, `nested quantifier: a group containing ${g.hasUnbounded || g.hasQuantifier ? 'a quantifier' : 'an alternation'} is itself repeated (at ${i + 1}); this can backtrack catastrophically`);
      }
      const parent = stack[stack.length - 1];
      if (q) {
        if (q.count > 1000) throw new RegexConfigError(path, `repetition count above 1000 (at ${i + 1})`);
        parent.hasQuantifier = true;
        if (q.infinite) parent.hasUnbounded = true;
        i += q.length;
      }
      parent.hasQuantifier ||= g.hasQuantifier;
      parent.hasUnbounded ||= g.hasUnbounded;
      continue;
    }
    const q = quantifierAt(p, i);
    if (q && (c === '*' || c === '+' || c === '{' || c === '?')) {
      if (q.count > 1000) throw new RegexConfigError(path, `repetition count above 1000 (at ${i})`);
      stack[stack.length - 1].hasQuantifier = true;
      if (q.infinite) stack[stack.length - 1].hasUnbounded = true;
      i += q.length - 1;
    }
  }
  if (stack.length !== 1) throw new RegexConfigError(path, 'unbalanced "("');
}

/** `infinite`: no upper bound (* + {n,}); `repeats`: may match more than once. */
function quantifierAt(p: string, i: number): { infinite: boolean; repeats: boolean; count: number; length: number } | null {
  const c = p[i];
  if (c === '*' || c === '+') return { infinite: true, repeats: true, count: 0, length: p[i + 1] === '?' ? 2 : 1 };
  if (c === '?') return { infinite: false, repeats: false, count: 1, length: p[i + 1] === '?' ? 2 : 1 };
  if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}\??/.exec(p.slice(i, i + 20));
    if (!m) return null;
    const hi = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
    return { infinite: hi === Infinity, repeats: hi > 1, count: Number.isFinite(hi) ? Math.max(hi, Number(m[1])) : Number(m[1]), length: m[0].length };
  }
  return null;
}
