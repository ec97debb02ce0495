/**
 * A catastrophic regex in safety.custom_rules fails `rustyclaw start` at config load, naming the YAML
 * path and line (before: the service printed ready and the safety actor crash-looped). Also the
 * shared safe-regex module's engines: linear where V8's engine takes the pattern, probe otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../kernel/helpers.js';
import { compileSafeRegex, UnsafePatternError } from '../../src/lib/safe-regex.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const exec = promisify(execFile);

test('start refuses a catastrophic custom rule with its YAML path and line; nothing starts', async () => {
  for (const [pattern, flags, why] of [
    ['(a+)+$', '', /nested quantifier/],
    ['^(\\w+\\s?)*$', 'i', /nested quantifier/],
    ['^\\w*\\w*\\w*\\w*\\w*\\w*\\w*x$', 'i', /took over \d+ ms/],
  ] as const) {
    const dir = tempDir('rc-pattern-');
    const cfg = path.join(dir, 'rustyclaw.yaml');
    writeFileSync(cfg, `data_dir: ${dir}/data\nendpoint:\n  port: 0\nsafety:\n  custom_rules:\n    - id: fine\n      pattern: 'EMP-[0-9]{6}'\n    - id: bad\n      pattern: '${pattern}'\n      flags: '${flags}'\n`);
    const r = await exec(process.execPath, [CLI, '--config', cfg, 'start'], { env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn' }, timeout: 120_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(r.code, 1, `${pattern}: start fails`);
    assert.match(r.stderr, /line 9: safety\.custom_rules\.1\.pattern: catastrophic pattern refused/, pattern);
    assert.match(r.stderr, why, pattern);
    assert.ok(!r.stderr.includes('ready in') && !existsSync(path.join(dir, 'data')), 'nothing started');
  }
});

test('safe regex: linear engine where it applies, probe otherwise, static refusals name the path', () => {
  assert.equal(compileSafeRegex('deploy (failed|error)', '', { path: 'p' }).engine, 'linear');
  assert.equal(compileSafeRegex('deploy (failed|error)', 'i', { path: 'p' }).engine, 'backtracking');
  assert.throws(() => compileSafeRegex('(a|aa)*$', '', { path: 'x.pattern' }), (e: unknown) => e instanceof UnsafePatternError && e.message.startsWith('x.pattern: catastrophic'));
  assert.throws(() => compileSafeRegex('(a)\\1', '', { path: 'p' }), /backreference/);
  assert.throws(() => compileSafeRegex('(?<=a)b', '', { path: 'p' }), /lookbehind/);
  assert.throws(() => compileSafeRegex('a', 'g', { path: 'p' }), /flags may only contain/);
  assert.throws(() => compileSafeRegex('(', '', { path: 'p' }), /invalid regex/);
  const big = compileSafeRegex('x', '', { path: 'p', global: true });
  assert.ok(big.regex.global);
});
