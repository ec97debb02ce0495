/**
 * Event-trigger regexes with a bounded run time.
 *
 1. Every pattern must pass a static check: no quantified group that itself contains a variable
 *    quantifier (`(a+)+`, `(\w*\s?)*`, star height > 1) and no quantified backreference.
 * 2. A pattern that V8's linear-time engine accepts (flag `l`, enabled here with
 *    `--enable-experimental-regexp-engine`) runs on it: no backtracking at all, so what the
 *    static check misses (`(a|a)*$`) stays linear in the (capped) input too.
 * 3. Otherwise (case-insensitive matching, backreferences, lookarounds, big counted repeats) it is
 *    probed: run, in a throw-away worker with a time limit, against adversarial inputs as long as
 *    the input cap; too slow means rejected.
 * Inputs are truncated to `maxInput` characters before matching.
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

export class PatternError extends Error {
  readonly code = 'invalid_pattern';
}

export interface EventMatcher {
  engine: 'linear' | 'backtracking';
  test(input: string): boolean;
}

/** Why a pattern risks catastrophic backtracking, or undefined when the static check finds nothing. */
export function catastrophicReason(pattern: string): string | undefined {
  interface Frame {
    variable: boolean; // contains a variable-length quantifier
    start: number;
  }
  const stack: Frame[] = [{ variable: false, start: 0 }];
  let lastAtomGroup: Frame | undefined;
  let lastAtomBackref = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const n = pattern[i + 1] ?? '';
      lastAtomBackref = /[1-9k]/.test(n);
      lastAtomGroup = undefined;
      i++;
      continue;
    }
    if (c === '[') {
      // Skip the class.
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      while (i < pattern.length && pattern[i] !== ']') {
        if (pattern[i] === '\\') i++;
        i++;
      }
      lastAtomGroup = undefined;
      lastAtomBackref = false;
      continue;
    }
    if (c === '(') {
      stack.push({ variable: false, start: i });
      lastAtomGroup = undefined;
      lastAtomBackref = false;
      continue;
    }
    if (c === ')') {
      const f = stack.length > 1 ? stack.pop()! : undefined;
      lastAtomGroup = f;
      lastAtomBackref = false;
      if (f?.variable) stack[stack.length - 1].variable = true;
      continue;
    }
    const q = quantifierAt(pattern, i);
    if (q) {
      if (q.variable) {
        if (lastAtomGroup?.variable) {
          return `nested quantifier: the group at position ${lastAtomGroup.start} repeats a part that is itself repeated (e.g. (a+)+)`;
        }
        if (lastAtomBackref) return `quantified backreference at position ${i}`;
        stack[stack.length - 1].variable = true;
      }
      i = q.end;
      if (pattern[i + 1] === '?') i++;
      lastAtomGroup = undefined;
      lastAtomBackref = false;
      continue;
    }
    lastAtomGroup = undefined;
    lastAtomBackref = false;
  }
  return undefined;
}

function quantifierAt(p: string, i: number): { variable: boolean; end: number } | undefined {
  const c = p[i];
  if (c === '*' || c === '+') return { variable: true, end: i };
  if (c === '?') return { variable: false, end: i };
  if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    return { variable: max > min, end: i + m[0].length - 1 };
  }
  return undefined;
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

const PROBE_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
const re = new RegExp(workerData.pattern, workerData.flags);
for (const s of workerData.inputs) re.test(s);
parentPort.postMessage('done');
`;

function probe(pattern: string, flags: string, inputs: string[], timeoutMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const w = new Worker(PROBE_SRC, { eval: true, workerData: { pattern, flags, inputs }, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      void w.terminate();
      resolve(ok);
    };
    // The timer starts once the worker runs, so thread start-up does not count against the pattern.
    let t: NodeJS.Timeout = setTimeout(() => finish(false), timeoutMs + 2000);
    w.once('online', () => {
      clearTimeout(t);
      t = setTimeout(() => finish(false), timeoutMs);
    });
    w.once('message', () => finish(true));
    w.once('error', (e) => {
      if (!settled) {
        settled = true;
        clearTimeout(t);
        reject(e);
      }
    });
  });
}

/** Compile an event pattern or throw a PatternError saying why it is refused. */
export async function compileEventPattern(pattern: string, flags: string, opts: { maxInput: number; probeMs: number }): Promise<EventMatcher> {
  if (!/^[ims]*$/.test(flags) || new Set(flags).size !== flags.length) throw new PatternError(`flags ${JSON.stringify(flags)}: only i, m, s are allowed, each once`);
  let re: RegExp;
  try {
    re = new RegExp(pattern, flags);
  } catch (e) {
    throw new PatternError(`invalid regex: ${(e as Error).message}`);
  }
  const why = catastrophicReason(pattern);
  if (why) throw new PatternError(`catastrophic pattern refused (${why}); rewrite it without nested repetition`);
  const cap = (s: string) => (s.length > opts.maxInput ? s.slice(0, opts.maxInput) : s);
  if (linearAvailable) {
    try {
      const lin = new RegExp(pattern, flags + 'l');
      return { engine: 'linear', test: (s) => lin.test(cap(s)) };
    } catch {
      // Not expressible in the linear engine: fall through to the checked backtracking path.
    }
  }
  const fast = await probe(pattern, flags, adversarialInputs(pattern, opts.maxInput), opts.probeMs);
  if (!fast) throw new PatternError(`catastrophic pattern refused: matching a ${opts.maxInput}-character input took over ${opts.probeMs} ms`);
  return { engine: 'backtracking', test: (s) => re.test(cap(s)) };
}

/** The text an event regex is tested against: a string payload as is, anything else as JSON. */
export function eventText(payload: unknown): string {
  if (typeof payload === 'string') return payload;
  try {
    return JSON.stringify(payload) ?? '';
  } catch {
    return String(payload);
  }
}
