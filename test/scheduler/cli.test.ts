/** The job and routine CLI commands, against a real kernel running the scheduler. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { startSystem, type ActorSystem } from '../../src/kernel/index.js';
import { register as registerJob } from '../../src/cli/commands/job.js';
import { register as registerRoutine, specFromFlags, specsFromYaml } from '../../src/cli/commands/routine.js';
import { tempDir } from './helpers.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';

let sys: ActorSystem;
let gateway: Gateway;
let dir: string;
let cleanup: () => void;

before(async () => {
  ({ dir, cleanup } = tempDir());
  sys = await startSystem({
    config: { data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false } },
    tree: {
      kind: 'supervisor',
      id: 'root',
      children: [{ kind: 'worker', id: 'system/scheduler', actors: [{ path: 'system/scheduler', module: 'scheduler', config: { heartbeat: { enabled: false } } }] }],
    },
  });
  // Webhooks are received by the gateway; routine.create prints its URL.
  gateway = await startGateway({ sys, config: { ...sys.config, endpoint: { ...sys.config.endpoint, enabled: true, host: '127.0.0.1', port: 0 } }, token: 'cli-token', log: sys.log });
});
after(async () => {
  await gateway?.stop();
  await sys.stop();
  cleanup();
});

/** Run one CLI invocation in process; returns stdout. */
async function cli(...args: string[]): Promise<string> {
  const program = new Command('rustyclaw').exitOverride();
  const rt = { ask: sys.ask.bind(sys), close: async () => {} };
  let out = '';
  const io = { out: (s: string) => void (out += s), err: () => {} };
  registerJob(program, rt, io);
  registerRoutine(program, rt, io);
  await program.parseAsync(['node', 'rustyclaw', ...args]);
  return out;
}

test('create from flags: exactly one trigger, ints checked, errors name the field', () => {
  const s = specFromFlags('daily', { cron: '0 9 * * MON-FRI', tz: 'Europe/Berlin', missed: 'run_once', prompt: 'summarise', maxFailures: '5', maxAttempts: '2' });
  assert.deepEqual(s.trigger, { type: 'cron', expr: '0 9 * * MON-FRI', tz: 'Europe/Berlin', missed: 'run_once' });
  assert.equal(s.max_consecutive_failures, 5);
  assert.deepEqual(s.retry, { max_attempts: 2, backoff_ms: 1000 });
  assert.throws(() => specFromFlags('x', { prompt: 'p' }), /trigger: give exactly one of/);
  assert.throws(() => specFromFlags('x', { prompt: 'p', manual: true, webhook: true }), /got webhook, manual/);
  assert.throws(() => specFromFlags('x', { prompt: 'p', event: 'ci' }), /trigger\.pattern: --pattern is required/);
  assert.throws(() => specFromFlags('x', { prompt: 'p', manual: true, cooldown: 'soon' }), /--cooldown must be a non-negative integer/);
  assert.throws(() => specFromFlags('x', { prompt: 'p', cron: '0 9 * *' }), /trigger\.expr: cron expression needs 5 or 6 fields, got 4/);
  assert.throws(() => specFromFlags('x', { prompt: 'p', cron: '0 9 * * *', missed: 'always' }), /trigger\.missed/);
});

test('create from YAML: one or many; unknown fields and YAML errors are named', () => {
  const one = specsFromYaml('id: nightly\nprompt: check the backups\ntrigger:\n  type: cron\n  expr: "0 3 * * *"\n', 'r.yaml');
  assert.equal(one[0].id, 'nightly');
  const many = specsFromYaml('- id: a\n  kind: noop\n  trigger: {type: manual}\n- id: b\n  kind: noop\n  trigger: {type: webhook}\n');
  assert.deepEqual(many.map((r) => r.id), ['a', 'b']);
  assert.throws(() => specsFromYaml('id: a\nprompt: p\ntrigger: {type: manual}\nschedule: daily\n', 'r.yaml'), /^Error: r\.yaml: schedule: unknown field$/);
  assert.throws(() => specsFromYaml('id: a\nprompt: p\ntrigger: {type: cron, expr: "* * * * *", when: 1}\n', 'r.yaml'), /r\.yaml: trigger\.when: unknown field/);
  assert.throws(() => specsFromYaml('- id: ok\n  prompt: p\n  trigger: {type: manual}\n- id: BAD\n  prompt: p\n  trigger: {type: manual}\n', 'r.yaml'), /r\.yaml \[1\]: id:/);
  assert.throws(() => specsFromYaml('id: a\n  prompt: : bad', 'r.yaml'), /^Error: r\.yaml: .* at line \d+, column \d+/s);
});

test('routine and job commands end to end', async () => {
  const file = path.join(dir, 'routines.yaml');
  writeFileSync(file, '- id: sleepy\n  kind: noop\n  params: {sleep_ms: 60000}\n  trigger: {type: manual}\n- id: hook\n  kind: noop\n  trigger: {type: webhook}\n');
  const created = await cli('routine', 'create', '--file', file);
  assert.match(created, /created routine sleepy: manual/);
  assert.match(created, /created routine hook: webhook\n {2}POST http:\/\/127\.0\.0\.1:\d+\/hooks\/hook\n {2}secret \(shown once\): \S{20,}/);
  assert.match(await cli('routine', 'create', 'tick', '--cron', '0 0 1 1 *', '--tz', 'UTC', '--kind', 'noop'), /created routine tick: cron 0 0 1 1 \* \(UTC\), next \d{4}-01-01 00:00:00 UTC/);

  const list = await cli('routine', 'list');
  assert.match(list, /^id\s+enabled\s+trigger/);
  assert.match(list, /sleepy\s+yes\s+manual/);
  assert.match(list, /tick\s+yes\s+cron 0 0 1 1 \* \(UTC\)/);

  const run = await cli('routine', 'run', 'sleepy');
  const id = /started job (\S+)/.exec(run)![1];
  assert.match(await cli('routine', 'run', 'sleepy'), /skipped: max_concurrent/);
  process.exitCode = 0;

  const jobs = await cli('job', 'list', '--state', 'pending');
  const all = await cli('job', 'list');
  assert.ok(jobs.includes(id) || all.includes(id));
  const st = await cli('job', 'status', id);
  assert.match(st, new RegExp(`id\\s+${id}`));
  assert.match(st, /routine\s+sleepy/);
  assert.equal(JSON.parse(await cli('job', 'status', id, '--json')).id, id);
  assert.equal(await cli('job', 'cancel', id), `cancelled ${id}\n`);
  assert.match(await cli('job', 'status', id), /state\s+cancelled/);
  assert.match(await cli('job', 'list', '--state', 'cancelled'), new RegExp(`${id}\\s+cancelled\\s+noop`));

  assert.equal(await cli('routine', 'disable', 'tick'), 'disabled tick\n');
  assert.match(await cli('routine', 'list'), /tick\s+no/);
  assert.equal(await cli('routine', 'enable', 'tick'), 'enabled tick\n');
  assert.equal(await cli('routine', 'delete', 'tick'), 'deleted tick\n');
  assert.doesNotMatch(await cli('routine', 'list'), /tick/);
  await assert.rejects(cli('job', 'status', 'nope'), /not found/);
  await assert.rejects(cli('job', 'list', '--state', 'weird'), /--state must be one of/);
});

test('notification lines for heartbeat alerts and auto-disabled routines', async () => {
  const { notificationLine } = await import('../../src/cli/commands/job.js');
  const at = Date.UTC(2026, 0, 2, 3, 4, 5);
  assert.equal(notificationLine({ kind: 'heartbeat', agent: 'default', job_id: 'j1', text: 'backup failed', at }), '2026-01-02 03:04:05 UTC  heartbeat default: backup failed (job j1)');
  assert.equal(notificationLine({ kind: 'routine_disabled', routine: 'r', reason: 'auto-disabled after 3 consecutive failures', at }), '2026-01-02 03:04:05 UTC  routine r: auto-disabled after 3 consecutive failures');
  assert.equal(notificationLine({ other: 1 }, at), '2026-01-02 03:04:05 UTC  {"other":1}');
});
