/**
 * The one safe-regex module: user-supplied patterns (safety.custom_rules, scheduler event triggers)
 * are accepted only if matching them cannot take catastrophic time.
 *
 * 1. Bounded length, allowed flags, valid syntax.
 * 2. A static shape check refuses the known catastrophic shapes: a repeated group that itself
 *    contains a quantifier or an alternation (`(a+)+`, `(a|aa)*`), an unbounded group repeated a
 *    counted number of times (`(.*a){20}`), counts above 1000, backreferences, lookbehind.
 * 3. A pattern V8's linear-time engine accepts (flag `l`, enabled with
 *    `--enable-experimental-regexp-engine`) runs on it: no backtracking at all.
 * 4. Otherwise (e.g. case-insensitive or Unicode matching, lookahead) it is probed: run, in a
 *    throw-away worker with a time limit, against adversarial inputs as long as the input cap;
 *    too slow means refused. The probe is synchronous (the caller blocks on a shared flag), so a
 *    config can be checked while it loads.
 */
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';

let linearAvailable = false;
try {
  v8.setFlagsFromString('--enable-experimental-regexp-engine');
  const linearFlag = 'l';
  new RegExp('a', linearFlag);
  linearAvailable = true;
} catch {
  linearAvailable = false;
}

/** A refused pattern; the message starts with the config path of the pattern. */
export class UnsafePatternError extends Error {
  readonly code = 'invalid_pattern';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'UnsafePatternError';
  }
}

export interface SafeRegexOptions {
  /** Where the pattern comes from, e.g. `safety.custom_rules.0.pattern` (starts every error). */
  path: string;
  /** Flags the caller allows (default `ims`); each at most once. */
  allowedFlags?: string;
  /** Add the `g` flag (the regex is used with exec loops / lastIndex). */
  global?: boolean;
  maxLength?: number;
  /** Probe: adversarial input length (the caller caps inputs to it) and time limit. */
  maxInput?: number;
  probeMs?: number;
}

export interface SafeRegex {
  engine: 'linear' | 'backtracking';
  regex: RegExp;
}

export const DEFAULT_MAX_PATTERN = 1000;

/** Compile a user pattern or throw an UnsafePatternError saying why it is refused. */
export function compileSafeRegex(pattern: unknown, flags: unknown, opts: SafeRegexOptions): SafeRegex {
  const path = opts.path;
  const maxLength = opts.maxLength ?? DEFAULT_MAX_PATTERN;
  if (typeof pattern !== 'string' || pattern.length === 0) throw new UnsafePatternError(path, 'pattern must be a non-empty string');
  if (pattern.length > maxLength) throw new UnsafePatternError(path, `pattern longer than ${maxLength} characters`);
  const f = flags ?? '';
  const allowed = opts.allowedFlags ?? 'ims';
  if (typeof f !== 'string' || [...f].some((c) => !allowed.includes(c)) || new Set(f).size !== f.length) {
    throw new UnsafePatternError(path, `flags may only contain ${[...allowed].join(', ')}, each once (got "${String(f)}")`);
  }
  const all = f + (opts.global ? 'g' : '');
  let re: RegExp;
  try {
    re = new RegExp(pattern, all);
  } catch (e) {
    throw new UnsafePatternError(path, `invalid regex: ${(e as Error).message}`);
  }
  const why = catastrophicReason(pattern);
  if (why) throw new UnsafePatternError(path, `catastrophic pattern refused (${why}); rewrite it without nested repetition`);
  if (linearAvailable) {
    try {
      return { engine: 'linear', regex: new RegExp(pattern, all + 'l') };
    } catch {
      // Not expressible in the linear engine: checked on the backtracking path below.
    }
  }
  const maxInput = opts.maxInput ?? 4096;
  const probeMs = opts.probeMs ?? 200;
  if (!probeSync(pattern, f, adversarialInputs(pattern, maxInput), probeMs)) {
    throw new UnsafePatternError(path, `catastrophic pattern refused: matching a ${maxInput}-character input took over ${probeMs} ms`);
  }
  return { engine: 'backtracking', regex: re };
}

interface GroupState {
  hasQuantifier: boolean;
  hasUnbounded: boolean;
  hasAlternation: boolean;
  start: number;
}

/** Why a pattern risks catastrophic backtracking, or undefined when the static check finds nothing. */
export function catastrophicReason(p: string): string | undefined {
  const stack: GroupState[] = [{ hasQuantifier: false, hasUnbounded: false, hasAlternation: false, start: 0 }];
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      const n = p[i + 1];
      if (!inClass && n !== undefined && /[1-9k]/.test(n)) return `backreference at position ${i}`;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (p[i + 1] === ']') i++;
      continue;
    }
    if (c === '(') {
      if (p.startsWith('(?<=', i) || p.startsWith('(?<!', i)) return `lookbehind at position ${i}`;
      stack.push({ hasQuantifier: false, hasUnbounded: false, hasAlternation: false, start: i });
      continue;
    }
    if (c === '|') {
      stack[stack.length - 1].hasAlternation = true;
      continue;
    }
    if (c === ')') {
      if (stack.length === 1) return undefined; // unbalanced: the RegExp syntax check reports it
      const g = stack.pop()!;
      const q = quantifierAt(p, i + 1);
      // (a+)+, (a|aa)*: exponential; (.*a){20}: polynomial of degree 20.
      if (q && ((q.infinite && (g.hasQuantifier || g.hasAlternation)) || (q.repeats && g.hasUnbounded))) {
        return `nested quantifier: the group at position ${g.start} contains ${g.hasQuantifier ? 'a quantifier' : 'an alternation'} and is itself repeated`;
      }
      const parent = stack[stack.length - 1];
      if (q) {
        if (q.count > 1000) return `repetition count above 1000 at position ${i + 1}`;
        parent.hasQuantifier = true;
        if (q.infinite) parent.hasUnbounded = true;
        i += q.length;
      }
      parent.hasQuantifier ||= g.hasQuantifier;
      parent.hasUnbounded ||= g.hasUnbounded;
      continue;
    }
    if (c === '*' || c === '+' || c === '{' || c === '?') {
      const q = quantifierAt(p, i);
      if (!q) continue;
      if (q.count > 1000) return `repetition count above 1000 at position ${i}`;
      stack[stack.length - 1].hasQuantifier = true;
      if (q.infinite) stack[stack.length - 1].hasUnbounded = true;
      i += q.length - 1;
    }
  }
  return undefined;
}

/** `infinite`: no upper bound (* + {n,}); `repeats`: may match more than once. */
function quantifierAt(p: string, i: number): { infinite: boolean; repeats: boolean; count: number; length: number } | null {
  const c = p[i];
  if (c === '*' || c === '+') return { infinite: true, repeats: true, count: 0, length: p[i + 1] === '?' ? 2 : 1 };
  if (c === '?') return { infinite: false, repeats: false, count: 1, length: p[i + 1] === '?' ? 2 : 1 };
  if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}\??/.exec(p.slice(i, i + 24));
    if (!m) return null;
    const hi = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
    return { infinite: hi === Infinity, repeats: hi > 1, count: Number.isFinite(hi) ? Math.max(hi, Number(m[1])) : Number(m[1]), length: m[0].length };
  }
  return null;
}

/** Inputs that make backtracking engines blow up on risky patterns: long runs of the pattern's own characters, then a mismatch. */
export function adversarialInputs(pattern: string, len: number): string[] {
  const lits = new Set<string>();
  for (const ch of pattern.replace(/\\./g, '')) if (/[\w \-.,:;@/]/.test(ch)) lits.add(ch);
  for (const ch of ['a', '0', ' ', 'x']) lits.add(ch);
  const chars = [...lits].slice(0, 10);
  const out: string[] = [];
  for (const ch of chars) out.push(ch.repeat(len - 1) + '\u0001');
  for (let i = 0; i + 1 < chars.length && i < 4; i++) out.push((chars[i] + chars[i + 1]).repeat(Math.floor((len - 1) / 2)) + '\u0001');
  return out;
}

// flag[0]: 0 starting, 1 running the inputs, 2 done, 3 failed to compile.
const PROBE_SRC = `
const { workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.sab);
Atomics.store(flag, 0, 1); Atomics.notify(flag, 0);
try {
  const re = new RegExp(workerData.pattern, workerData.flags);
  for (const s of workerData.inputs) re.test(s);
  Atomics.store(flag, 0, 2);
} catch { Atomics.store(flag, 0, 3); }
Atomics.notify(flag, 0);
`;

/** Thread start-up under load can take seconds; it does not count against the pattern. */
const PROBE_START_MS = 30_000;

/** True when every input was matched within `timeoutMs` (blocks the calling thread meanwhile). */
export function probeSync(pattern: string, flags: string, inputs: string[], timeoutMs: number): boolean {
  const sab = new SharedArrayBuffer(4);
  const flag = new Int32Array(sab);
  const w = new Worker(PROBE_SRC, { eval: true, workerData: { pattern, flags, inputs, sab }, resourceLimits: { maxOldGenerationSizeMb: 32 } });
  w.unref();
  w.on('error', () => undefined); // an out-of-memory probe counts as too slow
  try {
    Atomics.wait(flag, 0, 0, PROBE_START_MS);
    if (Atomics.load(flag, 0) === 1) Atomics.wait(flag, 0, 1, timeoutMs);
    return Atomics.load(flag, 0) === 2;
  } finally {
    void w.terminate();
  }
}
