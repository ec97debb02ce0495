/** On-demand actors (`kernel.actors.<name>.start: on_demand`, the edge profile's default for request-only system actors). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defaultTree, startSystem, type WorkerNode } from '../../src/kernel/index.js';
import { validateConfig } from '../../src/config/load.js';
import { boot, ECHO, sup, tempDir } from './helpers.js';

/** One thread holding an eager echo actor and an on-demand one. */
function thread(id: string, lazyConfig: Record<string, unknown>): WorkerNode {
  return {
    kind: 'worker',
    id,
    actors: [
      { path: `${id}/eager`, module: ECHO },
      { path: `${id}/lazy`, module: ECHO, config: lazyConfig, onDemand: true },
    ],
  };
}

test('an on-demand actor is set up on its first message, not at boot; messages sent meanwhile are all served in order', async () => {
  const dir = tempDir();
  const marker = path.join(dir, 'setup-ran');
  const t = await boot(sup('root', [thread('od', { blockOnceFile: marker })]));
  try {
    assert.equal(existsSync(marker), false, 'setup ran at boot');
    assert.equal(await t.sys.ask('od/eager', 'test.echo', 'eager'), 'eager');
    assert.equal(existsSync(marker), false, 'an eager neighbour woke it');
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => t.sys.ask('od/lazy', 'test.echo', i)));
    assert.deepEqual(replies, Array.from({ length: 50 }, (_, i) => i));
    assert.equal(existsSync(marker), true);
    const st = await t.sys.status();
    assert.ok(st.actors.every((a) => a.state === 'running' && a.restarts === 0), JSON.stringify(st.actors));
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an on-demand setup that fails fails its waiting asks with actor_setup_failed naming the actor; the thread and its neighbour stay up; the next ask tries again', async () => {
  const t = await boot(sup('root', [thread('odf', { failSetup: true })]));
  try {
    const errs = await Promise.all(
      [1, 2, 3].map((i) =>
        t.sys.ask('odf/lazy', 'test.echo', i).then(
          () => null,
          (e: { code?: string; message: string }) => e,
        ),
      ),
    );
    for (const e of errs) {
      assert.ok(e, 'the ask failed');
      assert.equal(e.code, 'actor_setup_failed');
      assert.match(e.message, /odf\/lazy/);
      assert.match(e.message, /setup failed on purpose/);
    }
    assert.equal(await t.sys.ask('odf/eager', 'test.echo', 'still here'), 'still here');
    const again = await t.sys.ask('odf/lazy', 'test.echo', 4).catch((e: { code?: string }) => e.code);
    assert.equal(again, 'actor_setup_failed');
    assert.equal(t.sys.downLog.length, 0, JSON.stringify(t.sys.downLog));
  } finally {
    await t.close();
  }
});

test('a long synchronous on-demand setup gets the setup grace, not a stuck kill', async () => {
  const t = await boot(sup('root', [thread('ods', { blockSetupMs: 1200 })]), { liveness: { interval_ms: 50, deadline_ms: 300, setup_grace_ms: 20_000 } });
  try {
    assert.equal(await t.sys.ask('ods/lazy', 'test.echo', 'after a slow setup', { timeoutMs: 30_000 }), 'after a slow setup');
    assert.equal(t.sys.downLog.length, 0, JSON.stringify(t.sys.downLog));
    // After setup the running deadline applies again: a real endless loop is still replaced.
    await t.sys.ask('ods/eager', 'test.spin').catch(() => undefined);
    const deadline = Date.now() + 20_000;
    while (!t.sys.downLog.some((d) => d.reason === 'stuck') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(t.sys.downLog.some((d) => d.thread === 'ods' && d.reason === 'stuck'), JSON.stringify(t.sys.downLog));
  } finally {
    await t.close();
  }
});

test('placement edge starts request-only system actors on demand; the scheduler and explicit start: eager stay eager', () => {
  const cfg = (actors: Record<string, unknown> = {}) => validateConfig({ data_dir: '/tmp/rc-od', kernel: { placement: 'edge', actors } });
  const specs = (c: ReturnType<typeof cfg>) => {
    const out = new Map<string, boolean>();
    const walk = (n: { kind: string; children?: unknown[]; actors?: Array<{ path: string; onDemand?: boolean }> }) => {
      if (n.kind === 'worker') for (const a of n.actors ?? []) out.set(a.path, a.onDemand === true);
      else for (const ch of n.children ?? []) walk(ch as never);
    };
    walk(defaultTree(c) as never);
    return out;
  };
  const edge = specs(cfg());
  assert.equal(edge.get('system/memory'), true);
  assert.equal(edge.get('system/safety'), true);
  assert.equal(edge.get('system/scheduler'), false);
  assert.equal(specs(cfg({ memory: { start: 'eager' } })).get('system/memory'), false);
  const dedicated = specs(validateConfig({ data_dir: '/tmp/rc-od', kernel: { placement: 'dedicated', actors: { safety: { start: 'on_demand' } } } }));
  assert.equal(dedicated.get('system/memory'), false);
  assert.equal(dedicated.get('system/safety'), true);
  assert.throws(() => cfg({ memory: { start: 'later' } }), /kernel\.actors\.memory\.start/);
  // Agents only answer requests: on demand under edge too, unless kernel.actors.agent.start says eager.
  assert.equal(edge.get('agents/default'), true);
  assert.equal(specs(cfg({ agent: { start: 'eager' } })).get('agents/default'), false);
  assert.equal(dedicated.get('agents/default'), false);
  assert.equal(specs(validateConfig({ data_dir: '/tmp/rc-od', kernel: { placement: 'dedicated', actors: { agent: { start: 'on_demand' } } } })).get('agents/default'), true);
});

test('placement edge: the default tree boots with the agent dormant; its first message sets it up and is answered', async () => {
  const dir = tempDir();
  const sys = await startSystem({ config: { data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false }, kernel: { placement: 'edge' }, agents: [{ id: 'default' }] } });
  try {
    const state = async () => (await sys.status()).actors.find((a) => a.path === 'agents/default')?.state;
    assert.equal(await state(), 'on_demand');
    assert.deepEqual(await sys.ask('agents/default', 'agent.sessions', {}, { timeoutMs: 30_000 }), { sessions: [] });
    assert.equal(await state(), 'running');
    assert.equal(sys.downLog.length, 0, JSON.stringify(sys.downLog));
  } finally {
    await sys.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a declared blocking load (first use of a large library) gets the setup grace; an undeclared block of the same length is stuck', async () => {
  const t = await boot(sup('root', [thread('odb', {})]), { liveness: { interval_ms: 50, deadline_ms: 300, setup_grace_ms: 20_000 } });
  try {
    assert.equal(await t.sys.ask('odb/eager', 'test.blocking_load', { ms: 1200 }, { timeoutMs: 30_000 }), 1200);
    assert.equal(t.sys.downLog.length, 0, JSON.stringify(t.sys.downLog));
    await t.sys.ask('odb/eager', 'test.block', { ms: 5000 }, { timeoutMs: 30_000 }).catch(() => undefined);
    assert.ok(t.sys.downLog.some((d) => d.thread === 'odb' && d.reason === 'stuck'), JSON.stringify(t.sys.downLog));
  } finally {
    await t.close();
  }
});
