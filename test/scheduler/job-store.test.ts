import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobStore, canTransition, TransitionError, StaleEpochError, type NewJob } from '../../actors/scheduler/job-store.js';
import { openStore, tempDir } from './helpers.js';

const spec: NewJob = { kind: 'noop', purpose: 'job', retry: { max_attempts: 1, backoff_ms: 0 }, timeout_ms: 1000 };

test('state machine: allowed and rejected transitions', () => {
  assert.ok(canTransition('pending', 'running'));
  assert.ok(canTransition('pending', 'cancelled'));
  assert.ok(canTransition('running', 'completed'));
  assert.ok(canTransition('running', 'failed'));
  assert.ok(canTransition('running', 'cancelled'));
  assert.ok(canTransition('running', 'pending'));
  assert.ok(!canTransition('pending', 'completed'));
  for (const t of ['completed', 'failed', 'cancelled'] as const) {
    for (const to of ['pending', 'running', 'completed', 'failed', 'cancelled'] as const) assert.ok(!canTransition(t, to), `${t} → ${to}`);
  }
});

test('transitions persist, reject invalid moves and stale epochs, and batches are all-or-none', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const kv = openStore(dir);
    const js = await JobStore.open(kv);
    assert.equal(js.incarnation, 1);
    const [a, b] = await js.create([spec, spec]);
    assert.equal(a.state, 'pending');
    await assert.rejects(js.transition([{ id: a.id, to: 'completed' }]), TransitionError);
    const [ra] = await js.transition([{ id: a.id, to: 'running', bumpEpoch: true }]);
    assert.equal(ra.epoch, 1);
    await assert.rejects(js.transition([{ id: a.id, to: 'completed', expectEpoch: 0 }]), StaleEpochError);
    // One bad change in the batch: nothing applied (b stays pending, a stays running).
    await assert.rejects(js.transition([{ id: b.id, to: 'running' }, { id: a.id, to: 'pending' }, { id: b.id, to: 'completed' }]));
    assert.equal(js.get(b.id)!.state, 'pending');
    assert.equal(js.get(a.id)!.state, 'running');
    await js.transition([{ id: a.id, to: 'completed', expectEpoch: 1, patch: { result: { x: 1 } } }]);
    await assert.rejects(js.transition([{ id: a.id, to: 'running' }]), /invalid transition completed → running/);
    assert.deepEqual(js.countByState(), { pending: 1, running: 0, completed: 1, failed: 0, cancelled: 0 });
    await kv.close();

    // Reopen: same jobs, new incarnation.
    const kv2 = openStore(dir);
    const js2 = await JobStore.open(kv2);
    assert.equal(js2.incarnation, 2);
    assert.equal(js2.get(a.id)!.state, 'completed');
    assert.deepEqual(js2.get(a.id)!.result, { x: 1 });
    assert.equal(js2.get(b.id)!.state, 'pending');
    await kv2.close();
  } finally {
    cleanup();
  }
});

test('prune keeps the newest finished jobs', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const kv = openStore(dir);
    const js = await JobStore.open(kv);
    const jobs = await js.create(Array.from({ length: 5 }, () => spec));
    for (const j of jobs) await js.transition([{ id: j.id, to: 'cancelled' }]);
    assert.deepEqual((await js.prune(2)).map((j) => j.id), jobs.slice(0, 3).map((j) => j.id));
    assert.deepEqual(
      jobs.map((j) => !!js.get(j.id)),
      [false, false, false, true, true],
    );
    await kv.close();
  } finally {
    cleanup();
  }
});
