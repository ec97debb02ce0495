import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, validateConfig, ConfigError } from '../../src/config/load.js';
import { tempDir } from '../kernel/helpers.js';

function yamlFile(text: string): string {
  const f = path.join(tempDir('rc-cfg-'), 'rustyclaw.yaml');
  writeFileSync(f, text);
  return f;
}

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig({ file: yamlFile(text), env });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.problems;
  }
  return [];
}

test('the shipped rustyclaw.yaml loads and every option has a value', () => {
  const cfg = loadConfig({ file: new URL('../../../rustyclaw.yaml', import.meta.url).pathname, env: {} });
  assert.equal(cfg.kernel.placement, 'dedicated');
  assert.equal(cfg.endpoint.host, '127.0.0.1', 'the endpoint is loopback-only by default');
  assert.ok(path.isAbsolute(cfg.data_dir));
});

test('defaults apply when there is no file', () => {
  const cfg = loadConfig({ env: {}, file: yamlFile('') });
  assert.equal(cfg.kernel.mailbox.capacity, 1024);
  assert.equal(cfg.kernel.mailbox.overflow, 'wait');
});

test('malformed YAML is reported, not thrown as a stack trace', () => {
  const p = problems('kernel:\n  placement: [dedicated\n');
  assert.equal(p.length > 0, true);
  assert.match(p[0], /YAML syntax/);
});

test('an unknown option names its YAML path, line and the allowed keys', () => {
  const p = problems('kernel:\n  mailbox:\n    capacty: 10\n');
  assert.equal(p.length, 1);
  assert.match(p[0], /line 3/);
  assert.match(p[0], /kernel\.mailbox\.capacty: unknown option/);
  assert.match(p[0], /capacity/);
});

test('a wrong type names the path and what was expected', () => {
  const p = problems('kernel:\n  batch_max: lots\n');
  assert.match(p[0], /kernel\.batch_max: Expected integer, got "lots"/);
});

test('a wrong enum value is reported with its path', () => {
  const p = problems('kernel:\n  placement: everywhere\n');
  assert.match(p[0], /kernel\.placement/);
});

test('the endpoint refuses a non-loopback host unless allow_remote is set', () => {
  const p = problems('endpoint:\n  host: 0.0.0.0\n');
  assert.match(p[0], /endpoint\.host: '0\.0\.0\.0' is not a loopback address/);
  assert.deepEqual(problems('endpoint:\n  host: 0.0.0.0\n  allow_remote: true\n'), []);
});

test('environment variables override the file', () => {
  const cfg = loadConfig({ file: yamlFile('data_dir: /tmp/from-file\n'), env: { RUSTYCLAW_DATA_DIR: '/tmp/from-env', RUSTYCLAW_PLACEMENT: 'shared' } });
  assert.equal(cfg.data_dir, '/tmp/from-env');
  assert.equal(cfg.kernel.placement, 'shared');
  assert.match(problems('', { RUSTYCLAW_PLACEMENT: 'sideways' })[0], /kernel\.placement/);
});

test('an unreadable file is a clear error', () => {
  assert.throws(() => loadConfig({ file: '/nonexistent/rustyclaw.yaml', env: {} }), /cannot read the file/);
});

test('a bad value names where it came from: the env var or the flag, not a line of the file', () => {
  const file = yamlFile('endpoint:\n  port: 7420\n');
  assert.deepEqual(problems('endpoint:\n  port: 7420\n', { RUSTYCLAW_PORT: 'abc' }), ['endpoint.port: Expected integer, got "abc" (from RUSTYCLAW_PORT="abc" in the environment)']);
  try {
    loadConfig({ file, env: {}, overrides: { endpoint: { port: -5 } }, overrideSources: { 'endpoint.port': '--port -5' } });
    assert.fail('expected a ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.problems, ['endpoint.port: Expected integer to be greater or equal to 0, got -5 (from --port -5)']);
  }
  // Flags win over the environment.
  const cfg = loadConfig({ file, env: { RUSTYCLAW_PORT: '1234' }, overrides: { endpoint: { port: 4321 } }, overrideSources: { 'endpoint.port': '--port 4321' } });
  assert.equal(cfg.endpoint.port, 4321);
});

test('a union of literals lists its allowed values', () => {
  assert.deepEqual(problems('kernel:\n  placement: tiny\n'), ['line 2: kernel.placement: expected one of dedicated, shared, edge, got "tiny"']);
});

test('the data dir defaults to the user home (XDG_DATA_HOME first), not the cwd; a file-relative one only when named', () => {
  assert.equal(loadConfig({ file: yamlFile(''), env: { HOME: '/home/u' } }).data_dir, '/home/u/.rustyclaw');
  assert.equal(loadConfig({ file: yamlFile(''), env: { HOME: '/home/u', XDG_DATA_HOME: '/x/share' } }).data_dir, '/x/share/rustyclaw');
  const f = yamlFile('data_dir: .rustyclaw\n');
  assert.equal(loadConfig({ file: f, env: { HOME: '/home/u' } }).data_dir, path.join(path.dirname(f), '.rustyclaw'));
});

test('validating an already validated config gives an equal fresh copy; one changed since is checked again', () => {
  const first = validateConfig({ kernel: { placement: 'edge' }, agents: [{ id: 'default' }] });
  const again = validateConfig(first);
  assert.notEqual(again, first, 'a fresh copy, so the caller\'s object is never changed');
  assert.deepEqual(again, first);
  again.data_dir = '/elsewhere';
  assert.notEqual(first.data_dir, '/elsewhere');
  first.kernel.memory_limit_mb = 1;
  assert.throws(() => validateConfig(first), (e: Error) => e instanceof ConfigError && /kernel\.memory_limit_mb/.test(e.message));
  (again.kernel as Record<string, unknown>).no_such_option = true;
  assert.throws(() => validateConfig(again), (e: Error) => e instanceof ConfigError && /no_such_option/.test(e.message));
});
