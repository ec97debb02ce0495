/**
 * The scheduler with the real agent actor and the real provider router, in the default tree,
 * against a loopback OpenAI-compatible server (the remote LLM is the only stand-in).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startSystem, type ActorSystem } from '../../src/kernel/index.js';
import { providerEntry, startLlmServer, type LlmServer } from '../support/llm-servers.js';
import { tempDir } from './helpers.js';

const S = 'system/scheduler';
let sys: ActorSystem;
let llm: LlmServer;
let dir: string;
let cleanup: () => void;
let heartbeatAnswer = 'HEARTBEAT_OK';

async function until(fn: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const lastUser = (body: any): string => {
  const m = [...(body?.messages ?? [])].reverse().find((x: any) => x.role === 'user');
  return typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content ?? '');
};

before(async () => {
  ({ dir, cleanup } = tempDir());
  llm = await startLlmServer('openai', {
    fallback: (req) => {
      const text = lastUser(req.body);
      if (text.includes('[Scheduled heartbeat check')) return { kind: 'reply', reply: { text: heartbeatAnswer } };
      if (text.includes('[slow]')) return { kind: 'hang' };
      return { kind: 'reply', reply: { text: `done: ${text}` } };
    },
  });
  const ws = path.join(dir, 'workspaces', 'default');
  mkdirSync(ws, { recursive: true });
  writeFileSync(path.join(ws, 'HEARTBEAT.md'), '<!-- idle for now -->\n# Heartbeat\n');
  sys = await startSystem({
    config: {
      data_dir: dir,
      log: { level: 'silent' },
      endpoint: { enabled: false },
      kernel: { system_actors: ['provider-router', 'scheduler'] },
      providers: { p0: providerEntry(llm) },
      models: { default: { chain: ['p0'], context_window: 8000 }, cheap: { chain: ['p0'], context_window: 8000 } },
      agents: [{ id: 'default' }],
      scheduler: { workers: 1, webhook: { enabled: false }, heartbeat: { interval_ms: 1000, model: 'cheap' } },
    },
  });
});
after(async () => {
  await sys.stop();
  await llm.close();
  cleanup();
});

test('an agent_turn job runs a real agent turn in its own session', async () => {
  const { id } = await sys.ask(S, 'job.submit', { kind: 'agent_turn', agent: 'default', prompt: 'list three colours' });
  await until(async () => (await sys.ask<any>(S, 'job.status', { id })).state === 'completed', 'job completed');
  const job = await sys.ask<any>(S, 'job.status', { id });
  assert.equal(job.result.text, 'done: list three colours');
  const session = await sys.ask('agents/default', 'agent.session', { session: `job:${id}` });
  assert.equal(session.exists, true);
  assert.equal(session.turns, 1);
  const main = await sys.ask('agents/default', 'agent.session', { session: 'main' });
  assert.equal(main.exists, false, "the user's chat session is untouched");
});

test('heartbeat: no LLM request while HEARTBEAT.md is only comments; then silent on HEARTBEAT_OK, notified otherwise', async () => {
  await new Promise((r) => setTimeout(r, 2500));
  const heartbeatRequests = () => llm.requests.filter((r) => lastUser(r.body).includes('[Scheduled heartbeat check')).length;
  assert.equal(heartbeatRequests(), 0, 'idle heartbeat spends nothing');
  const notes: any[] = [];
  const off = sys.subscribe('notifications', (p) => notes.push(p));
  try {
    writeFileSync(path.join(dir, 'workspaces', 'default', 'HEARTBEAT.md'), '# Heartbeat\n- Is anything on fire?\n');
    await until(() => heartbeatRequests() >= 1, 'a heartbeat request', 5000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(notes.length, 0, 'HEARTBEAT_OK stays silent');
    heartbeatAnswer = 'Yes: the disk is 98% full.';
    await until(() => notes.length > 0, 'notification', 5000);
    assert.equal(notes[0].kind, 'heartbeat');
    assert.equal(notes[0].text, 'Yes: the disk is 98% full.');
    // Heartbeat spend is booked apart from jobs and chat (what `rustyclaw usage` shows).
    const usage = await sys.ask('system/provider-router', 'provider.usage', { group_by: ['purpose'] });
    const hb = usage.rows.find((r: any) => r.key.purpose === 'heartbeat');
    const job = usage.rows.find((r: any) => r.key.purpose === 'job');
    assert.ok(hb && hb.requests >= 2, JSON.stringify(usage.rows));
    assert.ok(job && job.requests >= 1);
  } finally {
    off();
    writeFileSync(path.join(dir, 'workspaces', 'default', 'HEARTBEAT.md'), '');
  }
});

test('cancelling a running agent_turn aborts the agent turn (its LLM stream)', async () => {
  const { id } = await sys.ask(S, 'job.submit', { kind: 'agent_turn', agent: 'default', prompt: '[slow] think hard' });
  await until(() => llm.requests.some((r) => lastUser(r.body).includes('[slow] think hard')), 'LLM request in flight');
  await sys.ask(S, 'job.cancel', { id });
  await until(async () => (await sys.ask<any>(S, 'scheduler.stats')).running === 0, 'slot released', 5000);
  assert.equal((await sys.ask<any>(S, 'job.status', { id })).state, 'cancelled');
  // The agent is free for the next job at once (the hung request was not awaited).
  const t0 = Date.now();
  const { id: next } = await sys.ask(S, 'job.submit', { kind: 'agent_turn', agent: 'default', prompt: 'quick one' });
  await until(async () => (await sys.ask<any>(S, 'job.status', { id: next })).state === 'completed', 'next job');
  assert.ok(Date.now() - t0 < 10_000);
});
