/**
 * Acceptance, part 1: the CLI with no service running, config errors and environment overrides —
 * every case a child process run from an unrelated directory with a private HOME.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeWorld, noCrash, runCli } from './helpers.js';

const w = makeWorld();

/** Every README command that needs the service, as a user types it. */
const NEEDS_SERVICE: string[][] = [
  ['status'],
  ['status', '--json'],
  ['stop'],
  ['chat', 'hello'],
  ['usage'],
  ['usage', '--json'],
  ['providers'],
  ['memory', 'stats'],
  ['memory', 'search', 'anything', '--mode', 'bm25'],
  ['memory', 'delete', '--id', 'x'],
  ['safety', 'check-url', 'http://127.0.0.1/'],
  ['safety', 'stats'],
  ['safety', 'rules'],
  ['job', 'list'],
  ['job', 'status', 'j-1'],
  ['job', 'cancel', 'j-1'],
  ['job', 'watch'],
  ['routine', 'list'],
  ['routine', 'create', 'r1', '--manual', '--prompt', 'x'],
  ['routine', 'delete', 'r1'],
  ['routine', 'run', 'r1'],
  ['routine', 'enable', 'r1'],
  ['routine', 'disable', 'r1'],
];

for (const args of NEEDS_SERVICE) {
  test(`no service: \`rustyclaw ${args.join(' ')}\` says so, exits 1, creates nothing`, async () => {
    const r = await runCli(w, ['-c', w.config, ...args], { stdin: 'open' });
    assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, /no running RustyClaw service for data dir .*home\/\.rustyclaw.*--in-process/s);
    assert.equal(r.stdout, '', 'nothing that looks like a result');
    assert.ok(noCrash(r.stderr), r.stderr);
    assert.equal(existsSync(path.join(w.elsewhere, '.rustyclaw')), false, 'no data dir in the cwd');
  });
}

test('no service: --in-process status boots a tree and says it is not a service', async () => {
  const r = await runCli(w, ['-c', w.config, '--in-process', 'status']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^no service running: a tree booted in-process/);
  assert.match(r.stdout, /system\/embedder\s.*running/);
  assert.ok(!/warn|WARN|"level":40/.test(r.stderr), `no unrelated warnings: ${r.stderr}`);
});

test('no service: --in-process safety scan - reads stdin and finds a secret', async () => {
  const r = await runCli(w, ['-c', w.config, '--in-process', 'safety', 'scan', '-', '--json'], { stdin: 'token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 here\n' });
  assert.equal(r.code === 0 || r.code === 1, true, r.stderr);
  assert.match(r.stdout, /github/i);
  assert.ok(!/warn|WARN|"level":40/.test(r.stderr), `no unrelated warnings: ${r.stderr}`);
});

test('chat with stdin an open pipe and no message waits for stdin until the deadline, then names it', async () => {
  const r = await runCli(w, ['-c', w.config, '--timeout', '2s', 'chat'], { stdin: 'open', killAfterMs: 60_000 });
  assert.equal(r.code, 124);
  assert.match(r.stderr, /chat timed out after 2 s waiting for the message on stdin/);
});

test('chat with stdin closed and empty is an error, not a REPL', async () => {
  const r = await runCli(w, ['-c', w.config, 'chat'], { stdin: 'closed' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no message \(stdin was empty\)/);
});

test('--timeout with a bad value is a clear error', async () => {
  for (const bad of ['abc', '-5', '5x']) {
    const r = await runCli(w, ['--timeout', bad, 'status']);
    assert.equal(r.code, 1, bad);
    assert.match(r.stderr, /--timeout: '.*' is not a duration/);
  }
});

test('config errors name where the value came from: flag, environment variable, or file and line', async () => {
  let r = await runCli(w, ['-c', w.config, 'start', '--port', '-5']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /endpoint\.port: .*got -5 \(from --port -5\)/);
  assert.doesNotMatch(r.stderr, /line \d+/);

  r = await runCli(w, ['-c', w.config, 'start'], { env: { RUSTYCLAW_PORT: 'abc' } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /endpoint\.port: Expected integer, got "abc" \(from RUSTYCLAW_PORT="abc" in the environment\)/);

  r = await runCli(w, ['start', '--placement', 'tiny']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /kernel\.placement: expected one of dedicated, shared, edge, got "tiny" \(from --placement tiny\)/);

  const bad = path.join(w.project, 'bad.yaml');
  writeFileSync(bad, 'kernel:\n  placement: tiny\n  mailbox:\n    capacty: 3\n');
  r = await runCli(w, ['-c', bad, 'start']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 2: kernel\.placement: expected one of dedicated, shared, edge, got "tiny"/);
  assert.match(r.stderr, /line 4: kernel\.mailbox\.capacty: unknown option \(allowed here: capacity, overflow\)/);

  r = await runCli(w, ['-c', path.join(w.project, 'missing.yaml'), 'status']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /missing\.yaml.*cannot read the file/s);
  for (const x of [r.stderr]) assert.ok(noCrash(x), x);
});

test('environment overrides: RUSTYCLAW_DATA_DIR, XDG_DATA_HOME, and -d winning over both', async () => {
  let r = await runCli(w, ['status'], { env: { RUSTYCLAW_DATA_DIR: '/tmp/rc-acc-elsewhere-dir' } });
  assert.match(r.stderr, /for data dir \/tmp\/rc-acc-elsewhere-dir /);
  r = await runCli(w, ['status'], { env: { XDG_DATA_HOME: path.join(w.home, 'xdg') } });
  assert.match(r.stderr, new RegExp(`for data dir ${path.join(w.home, 'xdg', 'rustyclaw')} `));
  r = await runCli(w, ['-d', 'local-dir', 'status'], { env: { RUSTYCLAW_DATA_DIR: '/tmp/rc-acc-elsewhere-dir' } });
  assert.match(r.stderr, new RegExp(`for data dir ${path.join(w.elsewhere, 'local-dir')} `));
  r = await runCli(w, ['--log-level', 'loud', '--in-process', 'status']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /log\.level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud" \(from --log-level loud\)/);
});

test('help and version exit 0 for every command group', async () => {
  for (const args of [['--help'], ['--version'], ['chat', '--help'], ['memory', '--help'], ['safety', '--help'], ['job', '--help'], ['routine', '--help'], ['start', '--help']]) {
    const r = await runCli(w, args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stdout.length > 0);
  }
  const r = await runCli(w, ['no-such-command']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown command 'no-such-command'/);
});

test('logs: JSON when stderr is piped, readable lines with --log-format pretty (as on a terminal)', async () => {
  const json = await runCli(w, ['-c', w.config, '--in-process', '--log-level', 'info', 'status']);
  assert.equal(json.code, 0, json.stderr);
  const first = json.stderr.split('\n').find(Boolean)!;
  assert.equal(typeof JSON.parse(first).msg, 'string', 'piped: one JSON object per line');
  const pretty = await runCli(w, ['-c', w.config, '--in-process', '--log-level', 'info', '--log-format', 'pretty', 'status']);
  assert.equal(pretty.code, 0, pretty.stderr);
  assert.match(pretty.stderr, /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR): /m);
  assert.doesNotMatch(pretty.stderr, /^\{"level"/m);
  const bad = await runCli(w, ['-c', w.config, '--log-format', 'xml', 'status']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /log\.format: expected one of auto, json, pretty, got "xml" \(from --log-format xml\)/);
});
