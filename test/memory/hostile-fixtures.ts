/**
 * Hostile but ordinary inputs for a workspace indexer, generated deterministically (seeded) so a
 * test or bench run sees the same bytes: one endless token, hex dumps, base64 (wrapped and as one
 * line), minified JavaScript, a lock file, a 10 MB single line, and pathological Unicode. They are
 * families of input, not tuned cases: sizes are parameters.
 */
import fs from 'node:fs';
import path from 'node:path';

/** xorshift32: a small deterministic generator (fixtures must not change between runs). */
export function rng(seed = 0x9e3779b9): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function randomBytes(n: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

function wrap(s: string, width: number): string {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += width) out.push(s.slice(i, i + width));
  return out.join('\n');
}

export function longToken(chars: number): string {
  const alpha = 'abcdefghijklmnopqrstuvwxyz';
  const r = rng(7);
  let s = '';
  while (s.length < chars) s += alpha[(r() * 26) | 0];
  return s;
}

export function hexBlob(bytes: number, oneLine = true): string {
  const hex = randomBytes(bytes, 11).toString('hex');
  return oneLine ? hex : wrap(hex, 64);
}

export function base64Blob(bytes: number, oneLine = false): string {
  const b = randomBytes(bytes, 13).toString('base64');
  return oneLine ? b : wrap(b, 76);
}

/** Minified-JS-like: identifiers, operators and string literals, no newlines. */
export function minifiedJs(chars: number): string {
  const r = rng(17);
  const ids = ['a', 'b', 'e', 'n', 't', 'r', 'o', '_0x3f2a', 'this', 'return', 'function', 'var', 'null', 'void 0'];
  const ops = ['=', '(', ')', '{', '}', ';', ',', '.', '&&', '||', '?', ':', '+', '===', '!'];
  const parts: string[] = [];
  let n = 0;
  while (n < chars) {
    const p = r() < 0.55 ? ids[(r() * ids.length) | 0] : r() < 0.9 ? ops[(r() * ops.length) | 0] : `"${longToken(8 + ((r() * 40) | 0))}"`;
    parts.push(p);
    n += p.length;
  }
  return parts.join('').slice(0, chars);
}

/** package-lock.json-like: many lines of integrity hashes and urls. */
export function lockFile(entries: number): string {
  const r = rng(19);
  const lines = ['{', '  "lockfileVersion": 3,', '  "packages": {'];
  for (let i = 0; i < entries; i++) {
    const name = `pkg-${(r() * 1e9) | 0}`;
    lines.push(`    "node_modules/${name}": {`, `      "version": "1.${i % 50}.${i % 7}",`, `      "resolved": "https://registry.npmjs.org/${name}/-/${name}-1.0.0.tgz",`, `      "integrity": "sha512-${randomBytes(64, i + 1).toString('base64')}"`, '    },');
  }
  lines.push('  }', '}');
  return lines.join('\n');
}

/** Combining-mark towers, zero-width joiners, bidi overrides, astral emoji, NFKC expanders. */
export function pathologicalUnicode(chars: number): string {
  const r = rng(23);
  const pieces = [
    () => 'a' + '\u0301\u0316\u0327\u0350'.repeat(50),
    () => '\u202e' + 'evil' + '\u202c',
    () => '\u200d'.repeat(40),
    () => '👩‍👩‍👧‍👦'.repeat(10),
    () => '\ufdfa'.repeat(20), // one character that NFKC expands to 18
    () => 'ｆｕｌｌｗｉｄｔｈ',
    () => 'normal words between',
    () => '\ud835\udd4f'.repeat(30), // mathematical double-struck letters
  ];
  let s = '';
  while (s.length < chars) s += pieces[(r() * pieces.length) | 0]() + (r() < 0.3 ? '\n' : ' ');
  return s;
}

export interface Fixture {
  name: string;
  text: string;
}

/** The family of hostile inputs; `scale` 1 gives the sizes named in issue 14 (10 MB single line included). */
export function hostileFixtures(scale = 1): Fixture[] {
  const mb = Math.max(1, Math.round(1024 * 1024 * scale));
  return [
    { name: 'long-token.txt', text: longToken(Math.round(70_000 * scale) || 1000) },
    { name: 'hex-blob.txt', text: hexBlob(Math.round(30_000 * scale) || 500) },
    { name: 'hex-dump.txt', text: hexBlob(Math.round(200_000 * scale) || 500, false) },
    { name: 'base64.txt', text: base64Blob(mb) },
    { name: 'base64-line.txt', text: base64Blob(mb, true) },
    { name: 'minified.js', text: minifiedJs(2 * mb) },
    { name: 'package-lock.json', text: lockFile(Math.round(2000 * scale) || 10) },
    { name: 'unicode.txt', text: pathologicalUnicode(Math.round(200_000 * scale) || 1000) },
    // Just under memory.max_file_bytes' default (10 MiB): one line, no whitespace at all.
    { name: 'single-line-10mb.txt', text: hexBlob(Math.floor((10 * mb - 16) / 2)) },
  ];
}

export function writeFixtures(dir: string, scale = 1): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return hostileFixtures(scale).map((f) => {
    const p = path.join(dir, f.name);
    fs.writeFileSync(p, f.text);
    return p;
  });
}
