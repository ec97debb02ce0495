/** Test helpers: random tokens in documented formats, built at run time so no secret-shaped literal sits in the repo. */
import { randomInt } from 'node:crypto';

export const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const HEX = '0123456789abcdef';
export const UPPER32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const B64 = ALNUM + '+/';

export function rand(charset: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += charset[randomInt(charset.length)];
  return s;
}

/** Random string from `charset` that contains at least one upper, lower and digit when the charset allows. */
export function mixed(charset: string, n: number): string {
  for (;;) {
    const s = rand(charset, n);
    if ((!/[A-Z]/.test(charset) || /[A-Z]/.test(s)) && (!/[a-z]/.test(charset) || /[a-z]/.test(s)) && (!/[0-9]/.test(charset) || /[0-9]/.test(s))) return s;
  }
}

/**
 * A random password-like value: letters with a digit every third character, so it can never look like
 * a code identifier (which the generic rules deliberately skip) — keeps tests deterministic in outcome.
 */
export function secretish(n: number): string {
  // Characters are drawn without repetition (while the pools last): a random draw like `XC9Vg9kz9Dk9Df`
  // repeats enough to fall under the entropy bar now and then, which made tests flaky.
  const letters = [...'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'];
  const digits = [...'0123456789'];
  const take = (pool: string[], all: string) => (pool.length ? pool.splice(randomInt(pool.length), 1)[0] : rand(all, 1));
  let s = '';
  for (let i = 0; i < n; i++) s += i % 3 === 2 ? take(digits, '0123456789') : take(letters, 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz');
  return s;
}

/** A Luhn-valid number with the given prefix and length. */
export function luhnNumber(prefix: string, length: number): string {
  let body = prefix;
  while (body.length < length - 1) body += String(randomInt(10));
  for (let d = 0; d <= 9; d++) {
    const cand = body + d;
    let sum = 0;
    let dbl = false;
    for (let i = cand.length - 1; i >= 0; i--) {
      let x = Number(cand[i]);
      if (dbl) { x *= 2; if (x > 9) x -= 9; }
      sum += x;
      dbl = !dbl;
    }
    if (sum % 10 === 0) return cand;
  }
  throw new Error('unreachable');
}

/** Time a synchronous call in ms. */
export function timed<T>(fn: () => T): { value: T; ms: number } {
  const t = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t };
}
