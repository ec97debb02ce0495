/**
 * End to end through the real kernel: `system/scheduler` in its own thread (with its own job
 * worker threads) and a fixture agent actor in another.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startSystem, type ActorSystem } from '../../src/kernel/index.js';
import { signWebhook } from '../../actors/scheduler/webhook.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { tempDir } from './helpers.js';

const FAKE_AGENT = fileURLToPath(new URL('./fixtures/fake-agent.js', import.meta.url));
const S = 'system/scheduler';

let sys: ActorSystem;
let gateway: Gateway;
let dir: string;
let cleanup: () => void;

async function until(fn: () => Promise<boolean>, what: string, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const status = (id: string) => sys.ask<any>(S, 'job.status', { id });
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: any) => `${e.code}: ${e.message}`);

before(async () => {
  ({ dir, cleanup } = tempDir());
  const ws = path.join(dir, 'workspaces', 'default');
  mkdirSync(ws, { recursive: true });
  writeFileSync(path.join(ws, 'HEARTBEAT.md'), '# Heartbeat\n- is the nightly backup done?\n');
  sys = await startSystem({
    config: { data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false } },
    tree: {
      kind: 'supervisor',
      id: 'root',
      // Crash tests restart the scheduler several times in a row.
      intensity: 1000,
      periodMs: 1000,
      backoffInitialMs: 0,
      backoffMaxMs: 0,
      children: [
        {
          kind: 'worker',
          id: S,
          actors: [
            {
              path: S,
              module: 'scheduler',
              config: {
                workers: 2,
                worker_heartbeat_ms: 50,
                lease_ms: 1000,
                heartbeat: { interval_ms: 1000, agents: ['default'], model: 'cheap' },
                retry: { max_attempts: 3, backoff_ms: 20 },
              },
            },
          ],
        },
        { kind: 'worker', id: 'agents/default', actors: [{ path: 'agents/default', module: FAKE_AGENT, config: { answer: 'HEARTBEAT_OK', delay_ms: 2 } }] },
      ],
    },
  });
  // Webhooks arrive at the gateway, which hands them to the scheduler (scheduler.webhook).
  gateway = await startGateway({ sys, config: { ...sys.config, endpoint: { ...sys.config.endpoint, enabled: true, host: '127.0.0.1', port: 0 } }, token: 'e2e-token', log: sys.log });
});
after(async () => {
  await gateway?.stop();
  await sys.stop();
  cleanup();
});

test('agent_turn job through the kernel: own session, silent, result stored', async () => {
  const { id, state } = await sys.ask(S, 'job.submit', { kind: 'agent_turn', agent: 'default', prompt: 'write the report' });
  assert.ok(['pending', 'running'].includes(state), state);
  await until(async () => (await status(id)).state === 'completed', 'completed');
  const j = await status(id);
  assert.equal(j.result.text, 'HEARTBEAT_OK');
  const { log } = await sys.ask<any>('agents/default', 'test.log');
  const turn = log.find((l: any) => l.session === `job:${id}`);
  assert.deepEqual({ purpose: turn.purpose, silent: turn.silent, text: turn.text }, { purpose: 'job', silent: true, text: 'write the report' });
  const list = await sys.ask<any>(S, 'job.list', { state: 'completed' });
  assert.ok(list.jobs.some((x: any) => x.id === id));
});

test('heartbeat runs HEARTBEAT.md silently with the cheap model; notifies only when action is needed', async () => {
  const notes: any[] = [];
  const off = sys.subscribe('notifications', (p) => notes.push(p));
  try {
    await until(async () => ((await sys.ask<any>('agents/default', 'test.log')).log as any[]).some((l) => l.purpose === 'heartbeat'), 'a heartbeat turn', 5000);
    const hb = ((await sys.ask<any>('agents/default', 'test.log')).log as any[]).find((l) => l.purpose === 'heartbeat');
    assert.equal(hb.model, 'cheap');
    assert.equal(hb.silent, true);
    assert.match(hb.text, /nightly backup/);
    assert.equal(notes.length, 0, 'HEARTBEAT_OK is silent');
    await sys.ask('agents/default', 'test.answer', { answer: 'The backup failed: disk full.' });
    await until(async () => notes.length > 0, 'notification', 5000);
    assert.deepEqual({ kind: notes[0].kind, agent: notes[0].agent, text: notes[0].text }, { kind: 'heartbeat', agent: 'default', text: 'The backup failed: disk full.' });
  } finally {
    off();
    await sys.ask('agents/default', 'test.answer', { answer: 'HEARTBEAT_OK' });
    // An empty HEARTBEAT.md stops the turns.
    writeFileSync(path.join(dir, 'workspaces', 'default', 'HEARTBEAT.md'), '<!-- nothing to check -->\n');
  }
});

test('cancel a running agent_turn: the agent gets agent.cancel for the job session', async () => {
  const { id } = await sys.ask(S, 'job.submit', { kind: 'agent_turn', agent: 'default', prompt: '[slow] crawl everything' });
  await until(async () => ((await sys.ask<any>('agents/default', 'test.log')).log as any[]).some((l) => l.session === `job:${id}`), 'turn started');
  assert.deepEqual(await sys.ask(S, 'job.cancel', { id }), { id, state: 'cancelled' });
  await until(async () => ((await sys.ask<any>('agents/default', 'test.log')).cancels as string[]).includes(`job:${id}`), 'agent.cancel');
  assert.equal((await status(id)).state, 'cancelled');
});

test('event and webhook routines fire jobs; manual run; enable/disable; delete', async () => {
  const ev = await sys.ask<any>(S, 'routine.create', { id: 'on-alert', kind: 'noop', trigger: { type: 'event', topic: 'alerts', pattern: 'disk (full|failing)' } });
  assert.equal(ev.routine.enabled, true);
  await sys.ask('agents/default', 'test.publish', { topic: 'alerts', payload: { msg: 'cpu hot' } });
  await sys.ask('agents/default', 'test.publish', { topic: 'alerts', payload: { msg: 'disk full on /var' } });
  await until(async () => (await sys.ask<any>(S, 'job.list', { routine_id: 'on-alert' })).total === 1, 'event job');

  const wh = await sys.ask<any>(S, 'routine.create', { id: 'gh-push', prompt: 'summarise the push', agent: 'default', trigger: { type: 'webhook' } });
  assert.match(wh.webhook.url, /^http:\/\/127\.0\.0\.1:\d+\/hooks\/gh-push$/);
  assert.equal(wh.routine.trigger.secret, undefined, 'the routine view never carries the secret');
  assert.ok(wh.webhook.secret.length >= 16, 'routine.create returns the generated secret once');
  const body = JSON.stringify({ ref: 'main' });
  const ts = Math.floor(Date.now() / 1000);
  const res = await request(wh.webhook.url, { method: 'POST', body, headers: { 'content-type': 'application/json', [wh.webhook.timestamp_header]: String(ts), [wh.webhook.signature_header]: signWebhook(wh.webhook.secret, ts, body) } });
  assert.equal(res.statusCode, 202);
  const { job_id } = (await res.body.json()) as any;
  await until(async () => (await status(job_id)).state === 'completed', 'webhook job');
  assert.match((await status(job_id)).prompt, /summarise the push\n\n\[webhook trigger\]\n\{"ref":"main"\}/);
  const unsigned = await request(wh.webhook.url, { method: 'POST', body });
  assert.equal(unsigned.statusCode, 401);
  await unsigned.body.dump();

  const dis = await sys.ask<any>(S, 'routine.disable', { id: 'on-alert' });
  assert.equal(dis.routine.enabled, false);
  await sys.ask('agents/default', 'test.publish', { topic: 'alerts', payload: 'disk failing' });
  const run = await sys.ask<any>(S, 'routine.run', { id: 'on-alert' });
  assert.ok(run.job_id, 'manual run works while disabled');
  assert.equal((await sys.ask<any>(S, 'routine.enable', { id: 'on-alert' })).routine.enabled, true);
  const names = (await sys.ask<any>(S, 'routine.list')).routines.map((r: any) => r.id).sort();
  assert.deepEqual(names, ['gh-push', 'on-alert']);
  assert.deepEqual(await sys.ask(S, 'routine.delete', { id: 'gh-push' }), { deleted: true });
});

test('bad input gets a clear error naming what was wrong; nothing stored is lost; the service stays up', async () => {
  const before = (await sys.ask<any>(S, 'routine.list')).routines.length;
  assert.match(await codeOf(sys.ask(S, 'routine.create', { id: 'c', prompt: 'x', trigger: { type: 'cron', expr: '0 25 * * *' } })), /^invalid_routine: trigger\.expr: invalid cron expression/);
  assert.match(await codeOf(sys.ask(S, 'routine.create', { id: 'r', prompt: 'x', trigger: { type: 'event', topic: 't', pattern: '(a*)*b' } })), /^invalid_routine: trigger\.pattern: catastrophic pattern refused/);
  assert.match(await codeOf(sys.ask(S, 'routine.create', { id: 'u', prompt: 'x', trigger: { type: 'manual' }, shedule: 'daily' })), /^invalid_routine: shedule: unknown field/);
  assert.match(await codeOf(sys.ask(S, 'job.submit', { kind: 'agent_turn', prompt: 'x' })), /^invalid_job: agent: required/);
  assert.match(await codeOf(sys.ask(S, 'routine.create', { id: 'g', prompt: 'x', agent: 'ghost', trigger: { type: 'manual' } })), /^invalid_routine: agent: no agent "ghost" is configured \(agents: default\)/);
  // The kernel's check (validate: all, as npm test runs) names `payload.extra`; the scheduler's own `extra`.
  assert.match(await codeOf(sys.ask(S, 'job.submit', { kind: 'noop', extra: 1 })), /^invalid_message: job\.submit: (payload\.)?extra: Unexpected property/);
  assert.match(await codeOf(sys.ask(S, 'job.status', { id: 'nope' })), /^not_found/);
  assert.match(await codeOf(sys.ask(S, 'routine.run', { id: 'nope' })), /^not_found/);
  assert.equal((await sys.ask<any>(S, 'routine.list')).routines.length, before);
  // Still serving: a job submitted after all that runs to completion.
  const { id } = await sys.ask<any>(S, 'job.submit', { kind: 'noop' });
  await until(async () => (await status(id)).state === 'completed', 'a job after bad input completed');
});

test('kill the worker running a job: it is re-queued and completes', async () => {
  const { id } = await sys.ask(S, 'job.submit', { kind: 'noop', params: { sleep_ms: 400 } });
  await until(async () => (await sys.ask<any>(S, 'scheduler.stats')).workers.some((w: any) => w.running > 0), 'running');
  const idx = (await sys.ask<any>(S, 'scheduler.stats')).workers.findIndex((w: any) => w.running > 0);
  const killed = await sys.ask<any>(S, 'scheduler.kill_worker', { worker: idx });
  assert.equal(killed.jobs, 1);
  await until(async () => (await status(id)).state === 'completed', 'completed after re-queue');
  assert.equal((await status(id)).attempts, 2);
});

test('crash of the scheduler thread: every accepted job is accounted for, none ran twice at once', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push((await sys.ask<any>(S, 'job.submit', { kind: 'agent_turn', agent: 'default', prompt: `task ${i}` })).id);
  for (let i = 0; i < 20; i++) ids.push((await sys.ask<any>(S, 'job.submit', { kind: 'noop', params: { sleep_ms: 200 } })).id);
  const inc = (await sys.ask<any>(S, 'scheduler.stats')).incarnation;
  sys.threadOf(S)!.kill('crash', 'killed by test');
  await sys.waitUp(S, 10_000);
  await until(async () => {
    const st = await Promise.all(ids.map((id) => status(id).catch(() => ({ state: 'missing' }))));
    return st.every((s: any) => s.state === 'completed');
  }, 'all jobs completed after restart', 20_000);
  const stats = await sys.ask<any>(S, 'scheduler.stats');
  assert.equal(stats.incarnation, inc + 1);
  assert.ok(stats.counters.recovered > 0, 'some jobs were running at the crash and were recovered');
  assert.equal((await sys.ask<any>('agents/default', 'test.log')).duplicates, 0);
});

test('repeated crashes of the scheduler thread under load: nothing lost, no turn of a job twice at once', async () => {
  const before = (await sys.ask<any>('agents/default', 'test.log')).duplicates;
  const ids = (await Promise.all(Array.from({ length: 600 }, (_, i) => sys.ask<any>(S, 'job.submit', { kind: 'agent_turn', agent: 'default', prompt: `chunk ${i}` })))).map((r) => r.id);
  for (let k = 0; k < 4; k++) {
    await new Promise((r) => setTimeout(r, 150));
    await sys.waitUp(S, 10_000);
    sys.threadOf(S)!.kill('crash', 'chaos in test');
  }
  await sys.waitUp(S, 10_000);
  await until(async () => {
    const st = await sys.ask<any>(S, 'scheduler.stats').catch(() => undefined);
    return !!st && st.jobs.pending === 0 && st.jobs.running === 0;
  }, 'queue drained', 30_000);
  const states = await Promise.all(ids.map((id) => status(id).then((j) => j.state)));
  assert.equal(states.filter((x) => x !== 'completed').length, 0);
  assert.equal((await sys.ask<any>('agents/default', 'test.log')).duplicates, before);
});
