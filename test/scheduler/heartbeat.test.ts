import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HeartbeatService, heartbeatAgents, isHeartbeatEmpty, parseHeartbeatAnswer } from '../../actors/scheduler/heartbeat.js';
import { JobScheduler, type SchedulerHost } from '../../actors/scheduler/job-scheduler.js';
import { resolveSchedulerConfig } from '../../actors/scheduler/config.js';
import type { Job } from '../../protocol/scheduler.js';
import { openStore, tempDir, testConfig, waitFor } from './helpers.js';

test('HEARTBEAT.md emptiness: missing, blank, comments, headings, empty list items are empty; any instruction is not', () => {
  for (const empty of [
    undefined,
    '',
    '   \n\n\t\n',
    '<!-- add checks here -->',
    '# Heartbeat\n\n## Daily\n<!--\n- check mail\n-->\n',
    '\uFEFF# Title\n---\n- \n- [ ]\n1.\n>\n***',
    '# Checks\n<!-- unterminated comment\n- check the build',
  ]) {
    assert.equal(isHeartbeatEmpty(empty), true, JSON.stringify(empty));
  }
  for (const content of ['- check the CI build', '# Checks\n- [ ] reply to Alice', 'Heartbeat\n=========', 'Look at the calendar <!-- soon -->', '> remind me about taxes']) {
    assert.equal(isHeartbeatEmpty(content), false, JSON.stringify(content));
  }
});

test('heartbeat answer protocol: HEARTBEAT_OK (with little slack) is silent, anything else needs action', () => {
  assert.deepEqual(parseHeartbeatAnswer('HEARTBEAT_OK'), { actionNeeded: false, notice: '' });
  assert.equal(parseHeartbeatAnswer('  **HEARTBEAT_OK**  ').actionNeeded, false);
  assert.equal(parseHeartbeatAnswer('`HEARTBEAT_OK`.').actionNeeded, false);
  assert.equal(parseHeartbeatAnswer('HEARTBEAT_OK — all quiet.').actionNeeded, false);
  assert.equal(parseHeartbeatAnswer('Nothing new. HEARTBEAT_OK').actionNeeded, false);
  assert.equal(parseHeartbeatAnswer('').actionNeeded, false);
  const a = parseHeartbeatAnswer('The nightly build failed twice; please look at job 42.');
  assert.deepEqual(a, { actionNeeded: true, notice: 'The nightly build failed twice; please look at job 42.' });
  const long = 'HEARTBEAT_OK ' + 'but actually the disk is at 97% and the backup job has not run for three days, please check'.repeat(1);
  assert.equal(parseHeartbeatAnswer(long).actionNeeded, true);
  assert.equal(parseHeartbeatAnswer('Server down. Otherwise HEARTBEAT_OK would apply, but not today.').actionNeeded, true);
  assert.equal(parseHeartbeatAnswer('ALL_GOOD', 'ALL_GOOD').actionNeeded, false);
});

test('heartbeat agents: workspaces resolved like the agent actor (list or map; default <dataDir>/workspaces/<id>)', () => {
  const list = heartbeatAgents({ agents: [{ id: 'main', workspace: '/srv/ws' }, { id: 'other', workspace: '' }] }, '/data', []);
  assert.deepEqual(list, [
    { id: 'main', workspace: '/srv/ws' },
    { id: 'other', workspace: path.join('/data', 'workspaces', 'other') },
  ]);
  assert.deepEqual(heartbeatAgents({ agents: { main: { workspace: 'rel/ws' } } }, '/data', []), [{ id: 'main', workspace: path.resolve('rel/ws') }]);
  assert.deepEqual(heartbeatAgents({}, '/data', []), [{ id: 'default', workspace: path.join('/data', 'workspaces', 'default') }]);
  assert.deepEqual(heartbeatAgents({ agents: [{ id: 'main' }, { id: 'other' }] }, '/data', ['other']).map((x) => x.id), ['other']);
});

test('heartbeat end to end: no agent call while HEARTBEAT.md is empty; silent on HEARTBEAT_OK; notifies otherwise', async () => {
  const { dir, cleanup } = tempDir();
  const kv = openStore(dir);
  let answer = 'HEARTBEAT_OK';
  const sends: any[] = [];
  const host: SchedulerHost = {
    ask: async (to, type, payload: any) => {
      if (type !== 'agent.send') return {};
      sends.push({ to, payload });
      return { text: answer, usage: { input_tokens: 10 } };
    },
  };
  const sched = await JobScheduler.create({ store: kv, config: testConfig(), host });
  const notes: any[] = [];
  const hbCfg = resolveSchedulerConfig({ heartbeat: { model: 'cheap', interval_ms: 60_000 } }).heartbeat;
  const ws = path.join(dir, 'workspaces', 'default');
  mkdirSync(ws, { recursive: true });
  const agent = { id: 'default', workspace: ws };
  const hb = new HeartbeatService({
    config: hbCfg,
    agents: [agent],
    store: kv,
    submit: (s) => sched.submit(s),
    isActive: (id) => sched.isActive(id),
    publish: (topic, p) => notes.push({ topic, p }),
  });
  sched.on('finished', (j: Job) => hb.onJobFinished(j));
  try {
    assert.equal(await hb.beat(agent), 'skipped_empty', 'missing file');
    writeFileSync(path.join(ws, 'HEARTBEAT.md'), '# Heartbeat\n<!-- nothing yet -->\n');
    assert.equal(await hb.beat(agent), 'skipped_empty', 'comments only');
    assert.equal(sends.length, 0, 'no LLM call while idle');

    writeFileSync(path.join(ws, 'HEARTBEAT.md'), '# Heartbeat\n- check whether the nightly backup ran\n');
    assert.equal(await hb.beat(agent), 'submitted');
    await waitFor(() => hb.counters.silent === 1, 'silent heartbeat done');
    assert.equal(sends.length, 1);
    assert.equal(sends[0].to, 'agents/default');
    assert.equal(sends[0].payload.purpose, 'heartbeat');
    assert.equal(sends[0].payload.model, 'cheap');
    assert.equal(sends[0].payload.silent, true);
    assert.match(sends[0].payload.session, /^job:/);
    assert.match(sends[0].payload.text, /answer with exactly: HEARTBEAT_OK/);
    assert.match(sends[0].payload.text, /nightly backup/);
    assert.equal(notes.length, 0);

    answer = 'The nightly backup did not run: the disk is full.';
    await hb.beat(agent);
    await waitFor(() => notes.length === 1, 'notification');
    assert.equal(notes[0].topic, 'notifications');
    assert.equal(notes[0].p.kind, 'heartbeat');
    assert.equal(notes[0].p.agent, 'default');
    assert.equal(notes[0].p.text, answer);
  } finally {
    hb.stop();
    await sched.close();
    await kv.close();
    cleanup();
  }
});
