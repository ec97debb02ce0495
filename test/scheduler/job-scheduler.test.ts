import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobScheduler, type SchedulerHost } from '../../actors/scheduler/job-scheduler.js';
import { JobStore } from '../../actors/scheduler/job-store.js';
import type { Job } from '../../protocol/scheduler.js';
import { openStore, tempDir, testConfig, waitFor } from './helpers.js';

const noHost: SchedulerHost = { ask: async () => { throw Object.assign(new Error('no agents here'), { code: 'unknown_actor' }); } };

async function withScheduler(over: Record<string, unknown>, host: SchedulerHost, fn: (s: JobScheduler, dir: string) => Promise<void>) {
  const { dir, cleanup } = tempDir();
  const kv = openStore(dir);
  const s = await JobScheduler.create({ store: kv, config: testConfig(over), host });
  try {
    await fn(s, dir);
  } finally {
    await s.close();
    await kv.close();
    cleanup();
  }
}

const terminal = (j: Job | undefined) => !!j && ['completed', 'failed', 'cancelled'].includes(j.state);

test('noop jobs run on the worker pool and complete', async () => {
  await withScheduler({}, noHost, async (s) => {
    const jobs = await s.submitMany(Array.from({ length: 200 }, () => ({ kind: 'noop' as const })));
    await waitFor(() => jobs.every((j) => s.get(j.id)?.state === 'completed'), 'all completed');
    const j = s.get(jobs[0].id)!;
    assert.equal(j.attempts, 1);
    assert.equal(j.epoch, 1);
    assert.deepEqual(j.result, { ok: true });
    assert.equal(s.stats().jobs.completed, 200);
  });
});

test('max parallel (global and per agent) is never exceeded', async () => {
  await withScheduler({ max_parallel: 3, max_parallel_per_agent: 1 }, { ask: async () => { await new Promise((r) => setTimeout(r, 20)); return 'done'; } }, async (s) => {
    let running = 0;
    let peak = 0;
    const perAgent = new Map<string, number>();
    let agentPeak = 0;
    s.on('started', (j: Job) => {
      peak = Math.max(peak, ++running);
      if (j.agent) {
        const n = (perAgent.get(j.agent) ?? 0) + 1;
        perAgent.set(j.agent, n);
        agentPeak = Math.max(agentPeak, n);
      }
    });
    s.on('finished', (j: Job) => {
      running--;
      if (j.agent) perAgent.set(j.agent, perAgent.get(j.agent)! - 1);
    });
    const specs = [
      ...Array.from({ length: 12 }, () => ({ kind: 'noop' as const, params: { sleep_ms: 15 } })),
      ...Array.from({ length: 6 }, (_, i) => ({ kind: 'agent_turn' as const, agent: i % 2 ? 'a' : 'b', prompt: 'hi' })),
    ];
    const jobs = await s.submitMany(specs);
    await waitFor(() => jobs.every((j) => s.get(j.id)?.state === 'completed'), 'all completed');
    assert.ok(peak <= 3, `peak ${peak}`);
    assert.equal(peak, 3);
    assert.equal(agentPeak, 1);
  });
});

test('cancel a pending and a running job; the worker lets go of the running one', async () => {
  await withScheduler({ max_parallel: 1 }, noHost, async (s) => {
    const [run, queued] = await s.submitMany([{ kind: 'noop', params: { sleep_ms: 60_000 } }, { kind: 'noop' }]);
    await waitFor(() => s.get(run.id)?.state === 'running' && s.stats().workers.some((w) => w.running === 1), 'running');
    assert.equal((await s.cancel(queued.id)).state, 'cancelled');
    const c = await s.cancel(run.id);
    assert.equal(c.state, 'cancelled');
    assert.equal(c.error?.code, 'cancelled');
    await waitFor(() => s.stats().running === 0 && s.stats().workers.every((w) => w.running === 0), 'slot released');
    // Cancelling again is a no-op; the slot serves new jobs.
    assert.equal((await s.cancel(run.id)).state, 'cancelled');
    const next = await s.submit({ kind: 'noop' });
    await waitFor(() => s.get(next.id)?.state === 'completed', 'next completes');
    assert.equal(s.get(run.id)!.state, 'cancelled');
  });
});

test('cancelling a running agent_turn aborts the agent turn via agent.cancel', async () => {
  const calls: Array<{ to: string; type: string; payload: any }> = [];
  const pending = new Map<string, (v: unknown) => void>();
  const host: SchedulerHost = {
    ask: (to, type, payload: any) => {
      calls.push({ to, type, payload });
      if (type === 'agent.send') return new Promise((r) => pending.set(payload.session, r));
      if (type === 'agent.cancel') {
        pending.get(payload.session)?.({ text: 'aborted' });
        return Promise.resolve({ cancelled: true });
      }
      return Promise.reject(new Error('unexpected'));
    },
  };
  await withScheduler({}, host, async (s) => {
    const j = await s.submit({ kind: 'agent_turn', agent: 'default', prompt: 'long task', model: 'cheap' });
    await waitFor(() => calls.some((c) => c.type === 'agent.send'), 'agent.send');
    const send = calls.find((c) => c.type === 'agent.send')!;
    assert.equal(send.to, 'agents/default');
    assert.deepEqual(send.payload, { text: 'long task', session: `job:${j.id}`, purpose: 'job', model: 'cheap', silent: true });
    await s.cancel(j.id);
    await waitFor(() => calls.some((c) => c.type === 'agent.cancel'), 'agent.cancel');
    assert.deepEqual(calls.find((c) => c.type === 'agent.cancel')!.payload, { session: `job:${j.id}` });
    await waitFor(() => s.stats().running === 0, 'slot released');
    assert.equal(s.get(j.id)!.state, 'cancelled');
  });
});

test('failed attempts are retried with backoff, then the job fails with its errors kept', async () => {
  await withScheduler({}, noHost, async (s) => {
    const j = await s.submit({ kind: 'noop', params: { fail: 'boom' }, retry: { max_attempts: 3, backoff_ms: 20 } });
    await waitFor(() => terminal(s.get(j.id)), 'failed', 5000);
    const f = s.get(j.id)!;
    assert.equal(f.state, 'failed');
    assert.equal(f.attempts, 3);
    assert.equal(f.error?.message, 'boom');
    assert.equal(f.attempt_errors?.length, 3);
    assert.equal(s.counters.requeued, 2);
  });
});

test('killing the worker running a job re-queues it; it completes on another attempt', async () => {
  await withScheduler({}, noHost, async (s) => {
    const j = await s.submit({ kind: 'noop', params: { sleep_ms: 300 }, retry: { max_attempts: 3, backoff_ms: 10 } });
    await waitFor(() => s.get(j.id)?.state === 'running' && s.stats().workers.some((w) => w.running === 1), 'running');
    const idx = s.stats().workers.findIndex((w) => w.running === 1);
    const killed = await s.pool.kill(idx);
    assert.equal(killed?.jobs, 1);
    await waitFor(() => s.get(j.id)?.state === 'completed', 'completed after requeue');
    const done = s.get(j.id)!;
    assert.equal(done.attempts, 2);
    assert.equal(done.attempt_errors?.[0].code, 'worker_lost');
    assert.ok(s.counters.worker_lost >= 1);
  });
});

test('a stuck worker (no heartbeats) loses its lease, is terminated, and the job fails per its retry policy', async () => {
  await withScheduler({ lease_ms: 200, worker_heartbeat_ms: 30 }, noHost, async (s) => {
    const j = await s.submit({ kind: 'noop', params: { block_ms: 5000 }, retry: { max_attempts: 1, backoff_ms: 0 } });
    await waitFor(() => terminal(s.get(j.id)), 'stuck job resolved', 4000);
    const f = s.get(j.id)!;
    assert.equal(f.state, 'failed');
    assert.equal(f.error?.code, 'worker_lost');
    assert.ok(s.counters.lease_expired >= 1);
    // The pool replaced the killed worker and still runs jobs.
    const k = await s.submit({ kind: 'noop' });
    await waitFor(() => s.get(k.id)?.state === 'completed', 'pool recovered');
  });
});

test('job timeout aborts the run and counts as a failed attempt', async () => {
  await withScheduler({}, noHost, async (s) => {
    const j = await s.submit({ kind: 'noop', params: { sleep_ms: 10_000 }, timeout_ms: 50, retry: { max_attempts: 1, backoff_ms: 0 } });
    await waitFor(() => terminal(s.get(j.id)), 'timed out');
    assert.equal(s.get(j.id)!.error?.code, 'timeout');
  });
});

test('invalid submissions are rejected with the field named', async () => {
  await withScheduler({}, noHost, async (s) => {
    await assert.rejects(s.submit({ kind: 'agent_turn', prompt: 'x' }), /agent: required/);
    await assert.rejects(s.submit({ kind: 'agent_turn', agent: 'a', prompt: ' ' }), /prompt: required/);
    await assert.rejects(s.submit({ kind: 'bogus' as any }), /kind: must be/);
    assert.equal(s.stats().jobs.pending, 0);
  });
});

test('restart recovery: pending jobs run, running jobs of the dead incarnation are re-queued, finished ones stay', async () => {
  const { dir, cleanup } = tempDir();
  try {
    // Simulate a crash: jobs written by an incarnation whose threads are gone.
    const kv = openStore(dir);
    const js = await JobStore.open(kv);
    const base = { kind: 'noop' as const, purpose: 'job' as const, retry: { max_attempts: 2, backoff_ms: 0 }, timeout_ms: 5000 };
    const [p, r, r1, c] = await js.create([base, base, { ...base, retry: { max_attempts: 1, backoff_ms: 0 } }, base]);
    await js.transition([
      { id: r.id, to: 'running', bumpEpoch: true, patch: { attempts: 1, lease: { worker: 'w0.1', incarnation: 1, granted_at: 0 } } },
      { id: r1.id, to: 'running', bumpEpoch: true, patch: { attempts: 1 } },
      { id: c.id, to: 'running', bumpEpoch: true, patch: { attempts: 1 } },
    ]);
    await js.transition([{ id: c.id, to: 'completed' }]);
    await kv.close();

    const kv2 = openStore(dir);
    const s = await JobScheduler.create({ store: kv2, config: testConfig(), host: noHost });
    try {
      assert.equal(s.incarnation, 2);
      await waitFor(() => [p, r, r1].every((j) => terminal(s.get(j.id))), 'recovered jobs settle');
      assert.equal(s.get(p.id)!.state, 'completed');
      assert.equal(s.get(r.id)!.state, 'completed');
      assert.equal(s.get(r.id)!.attempts, 2);
      assert.equal(s.get(r.id)!.attempt_errors?.[0].code, 'scheduler_restarted');
      assert.equal(s.get(r1.id)!.state, 'failed');
      assert.equal(s.get(c.id)!.state, 'completed');
      assert.equal(s.counters.recovered, 2);
    } finally {
      await s.close();
      await kv2.close();
    }
  } finally {
    cleanup();
  }
});

test('the duplicate-run probe sees two concurrent runs of one slot, and none when a killed run is re-queued', async () => {
  const { createProbe, probeConflicts } = await import('../../actors/scheduler/worker-pool.js');
  const { dir, cleanup } = tempDir();
  const kv = openStore(dir);
  const probe = createProbe(4);
  const s = await JobScheduler.create({ store: kv, config: testConfig({ max_parallel: 4 }), host: noHost, probe });
  try {
    // Negative control: two different jobs claiming the same slot at once are a "duplicate".
    const twins = await s.submitMany([0, 1].map(() => ({ kind: 'noop' as const, params: { sleep_ms: 150, probe_slot: 0 } })));
    await waitFor(() => twins.every((j) => s.get(j.id)?.state === 'completed'), 'twins done');
    assert.equal(probeConflicts(probe), 1);
    // A job killed mid-run and re-run is not.
    const j = await s.submit({ kind: 'noop', params: { sleep_ms: 300, probe_slot: 1 }, retry: { max_attempts: 3, backoff_ms: 0 } });
    await waitFor(() => s.stats().workers.some((w) => w.running === 1), 'running');
    await s.pool.kill(s.stats().workers.findIndex((w) => w.running === 1));
    await waitFor(() => s.get(j.id)?.state === 'completed', 're-run completes');
    assert.equal(s.get(j.id)!.attempts, 2);
    assert.equal(probeConflicts(probe), 1, 'no new conflict');
  } finally {
    await s.close();
    await kv.close();
    cleanup();
  }
});

test('an unknown agent fails the job at once (no retries); a missing one in a kernel says unknown_actor', async () => {
  await withScheduler({}, noHost, async (s) => {
    const j = await s.submit({ kind: 'agent_turn', agent: 'ghost', prompt: 'hi', retry: { max_attempts: 5, backoff_ms: 10 } });
    await waitFor(() => terminal(s.get(j.id)), 'failed');
    assert.equal(s.get(j.id)!.state, 'failed');
    assert.equal(s.get(j.id)!.attempts, 1);
    assert.equal(s.get(j.id)!.error?.code, 'unknown_actor');
  });
});

test('close hands interrupted runs back as pending without counting the attempt; the next start runs them', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let kv = openStore(dir);
    let s = await JobScheduler.create({ store: kv, config: testConfig(), host: noHost });
    const j = await s.submit({ kind: 'noop', params: { sleep_ms: 200 }, retry: { max_attempts: 1, backoff_ms: 0 } });
    await waitFor(() => s.stats().workers.some((w) => w.running === 1), 'running');
    await s.close();
    assert.equal(s.get(j.id)!.state, 'pending');
    assert.equal(s.get(j.id)!.attempts, 0);
    await kv.close();
    kv = openStore(dir);
    s = await JobScheduler.create({ store: kv, config: testConfig(), host: noHost });
    try {
      await waitFor(() => s.get(j.id)?.state === 'completed', 'completed after restart');
      assert.equal(s.get(j.id)!.attempts, 1);
      assert.equal(s.get(j.id)!.attempt_errors?.[0].code, 'shutdown');
    } finally {
      await s.close();
      await kv.close();
    }
  } finally {
    cleanup();
  }
});

test('idempotency key: a repeated submit returns the same job, also across a restart and within one batch', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let kv = openStore(dir);
    let s = await JobScheduler.create({ store: kv, config: testConfig(), host: noHost });
    const [a, b] = await Promise.all([s.submit({ kind: 'noop', key: 'report-2026-01-01' }), s.submit({ kind: 'noop', key: 'report-2026-01-01' })]);
    assert.equal(a.id, b.id);
    const batch = await s.submitMany([{ kind: 'noop', key: 'k2' }, { kind: 'noop', key: 'k2' }, { kind: 'noop' }]);
    assert.equal(batch[0].id, batch[1].id);
    assert.notEqual(batch[0].id, batch[2].id);
    assert.equal(s.counters.submitted, 3);
    await s.close();
    await kv.close();
    kv = openStore(dir);
    s = await JobScheduler.create({ store: kv, config: testConfig(), host: noHost });
    try {
      assert.equal((await s.submit({ kind: 'noop', key: 'report-2026-01-01' })).id, a.id);
      assert.equal(s.list().total, 3);
    } finally {
      await s.close();
      await kv.close();
    }
  } finally {
    cleanup();
  }
});

test('pruning finished jobs beyond keep_finished also resets their agent sessions', async () => {
  const resets: string[] = [];
  const host: SchedulerHost = {
    ask: async (_to, type, payload: any) => {
      if (type === 'agent.reset') resets.push(payload.session);
      return { text: 'ok' };
    },
  };
  await withScheduler({ keep_finished: 10, max_parallel: 64, max_parallel_per_agent: 64 }, host, async (s) => {
    const jobs = await s.submitMany(Array.from({ length: 500 }, (_, i) => ({ kind: 'agent_turn' as const, agent: 'a', prompt: `p${i}` })));
    await waitFor(() => s.stats().jobs.completed === 10 && resets.length === 490, 'pruned to 10');
    const kept = jobs.filter((j) => s.get(j.id));
    assert.equal(kept.length, 10);
    const reset = new Set(resets);
    assert.equal(reset.size, 490);
    for (const j of jobs) assert.equal(reset.has(`job:${j.id}`), !s.get(j.id), j.id);
  });
});

test('workers_start on_demand (the default): no job threads until a job is due; one submitted right after boot runs', async () => {
  await withScheduler({}, noHost, async (s) => {
    assert.equal(s.pool.started, false);
    assert.ok(s.stats().workers.every((w) => !w.alive), JSON.stringify(s.stats().workers));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.pool.started, false);
    const t0 = performance.now();
    const j = await s.submit({ kind: 'noop' });
    await waitFor(() => s.get(j.id)?.state === 'completed', 'first job completes');
    const firstMs = performance.now() - t0;
    assert.equal(s.pool.started, true);
    // The first job runs on whichever thread is up first; the other one follows.
    await waitFor(() => s.stats().workers.filter((w) => w.alive).length === 2, 'both job threads up');
    assert.ok(firstMs < 5000, `first job took ${firstMs} ms`);
  });
});

test('workers_start eager: the job threads run from boot', async () => {
  await withScheduler({ workers_start: 'eager' }, noHost, async (s) => {
    assert.equal(s.pool.started, true);
    assert.equal(s.stats().workers.filter((w) => w.alive).length, 2);
  });
});

test('workers_start: a bad value is refused naming the option', () => {
  assert.throws(() => testConfig({ workers_start: 'sometimes' }), /workers_start/);
});
