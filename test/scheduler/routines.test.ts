import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { RoutineEngine, RoutineInputError, cronNextRuns, validateRoutineSpec } from '../../actors/scheduler/routines.js';
import { JobScheduler } from '../../actors/scheduler/job-scheduler.js';
import { resolveSchedulerConfig } from '../../actors/scheduler/config.js';
import type { Job, JobSubmit } from '../../protocol/scheduler.js';
import { openStore, tempDir, testConfig, waitFor } from './helpers.js';

const cfg = resolveSchedulerConfig({}).routines;

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RoutineInputError, `expected RoutineInputError, got ${String(e)}`);
    return e.field;
  }
  throw new Error('no error');
}

test('routine validation names the offending field; unknown fields are rejected', () => {
  const ok = { id: 'daily', prompt: 'summarise', trigger: { type: 'cron', expr: '0 9 * * MON-FRI', tz: 'Europe/Berlin' } };
  assert.equal(validateRoutineSpec(ok).id, 'daily');
  assert.equal(fieldOf(() => validateRoutineSpec({ ...ok, colour: 'red' })), 'colour');
  assert.equal(fieldOf(() => validateRoutineSpec({ ...ok, trigger: { ...ok.trigger, every: 5 } })), 'trigger.every');
  assert.equal(fieldOf(() => validateRoutineSpec({ ...ok, trigger: { type: 'sometimes' } })), 'trigger.type');
  assert.equal(fieldOf(() => validateRoutineSpec({ ...ok, trigger: { type: 'cron', expr: '61 * * * *' } })), 'trigger.expr');
  assert.equal(fieldOf(() => validateRoutineSpec({ ...ok, trigger: { type: 'cron', expr: '* * *' } })), 'trigger.expr');
  assert.equal(fieldOf(() => validateRoutineSpec({ ...ok, trigger: { type: 'cron', expr: '0 9 * * *', tz: 'Mars/Olympus' } })), 'trigger.tz');
  assert.equal(fieldOf(() => validateRoutineSpec({ ...ok, id: 'Bad Id!' })), 'id');
  assert.equal(fieldOf(() => validateRoutineSpec({ ...ok, max_concurrent: 0 })), 'max_concurrent');
  assert.equal(fieldOf(() => validateRoutineSpec({ id: 'x', trigger: { type: 'manual' } })), 'prompt');
  assert.equal(fieldOf(() => validateRoutineSpec({ id: 'x', prompt: 'p' })), 'trigger');
  assert.match(String((() => { try { validateRoutineSpec({ ...ok, trigger: { type: 'cron', expr: '61 * * * *' } }); } catch (e) { return (e as Error).message; } })()), /trigger\.expr: invalid cron expression "61 \* \* \* \*"/);
});

test('cron next-fire: weekdays in a time zone, 6-field seconds, DST gaps and repeats', () => {
  // Friday 2026-11-27 → next 09:00 New York weekday is Friday 14:00Z (EST, UTC-5), then Monday.
  const ny = cronNextRuns('0 9 * * MON-FRI', 'America/New_York', 2, new Date('2026-11-27T00:00:00Z')).map((d) => d.toISOString());
  assert.deepEqual(ny, ['2026-11-27T14:00:00.000Z', '2026-11-30T14:00:00.000Z']);
  // Summer: 09:00 EDT is 13:00Z.
  assert.equal(cronNextRuns('0 9 * * *', 'America/New_York', 1, new Date('2026-07-01T00:00:00Z'))[0].toISOString(), '2026-07-01T13:00:00.000Z');
  // 6 fields: every 15 s.
  assert.deepEqual(
    cronNextRuns('*/15 * * * * *', 'UTC', 3, new Date('2026-01-01T00:00:01Z')).map((d) => d.toISOString()),
    ['2026-01-01T00:00:15.000Z', '2026-01-01T00:00:30.000Z', '2026-01-01T00:00:45.000Z'],
  );
  // Spring forward in Berlin (2026-03-29 02:00 → 03:00): a 02:30 job still runs once that day, and
  // the UTC offset changes from +1 to +2 around it.
  const spring = cronNextRuns('30 2 * * *', 'Europe/Berlin', 3, new Date('2026-03-28T00:00:00Z')).map((d) => d.toISOString());
  assert.equal(spring[0], '2026-03-28T01:30:00.000Z');
  assert.ok(spring[1].startsWith('2026-03-29'), `one run on the gap day: ${spring[1]}`);
  assert.equal(spring[2], '2026-03-30T00:30:00.000Z');
  // Fall back (2026-10-25 03:00 → 02:00): a 02:30 fixed-time job runs once, not twice.
  const fall = cronNextRuns('30 2 * * *', 'Europe/Berlin', 3, new Date('2026-10-24T12:00:00Z')).map((d) => d.toISOString());
  assert.equal(fall.filter((d) => d.startsWith('2026-10-25')).length, 1);
  assert.equal(fall[1], '2026-10-26T01:30:00.000Z');
});

class Bus {
  private e = new EventEmitter();
  subscribe = (topic: string, fn: (p: unknown, t: string) => void) => {
    const h = (p: unknown) => fn(p, topic);
    this.e.on(topic, h);
    return () => this.e.off(topic, h);
  };
  publish = (topic: string, p: unknown) => this.e.emit(topic, p);
}

async function withEngine(fn: (x: { eng: RoutineEngine; sched: JobScheduler; bus: Bus; notes: unknown[]; fired: string[] }) => Promise<void>, over: Record<string, unknown> = {}) {
  const { dir, cleanup } = tempDir();
  const kv = openStore(dir);
  const sched = await JobScheduler.create({ store: kv, config: testConfig(over), host: { ask: async () => 'ok' } });
  const bus = new Bus();
  const notes: unknown[] = [];
  const fired: string[] = [];
  const eng = new RoutineEngine({
    store: kv,
    config: { ...cfg, regex_probe_ms: 300 },
    submit: (s: JobSubmit) => sched.submit(s),
    activeJobs: () => [...sched.store.all()].filter((j) => j.state === 'pending' || j.state === 'running'),
    subscribe: bus.subscribe,
    publish: (_t, p) => notes.push(p),
    onFired: (_r, src, id) => fired.push(`${src}:${id}`),
  });
  sched.on('finished', (j: Job) => void eng.onJobFinished(j));
  await eng.start();
  try {
    await fn({ eng, sched, bus, notes, fired });
  } finally {
    eng.stop();
    await sched.close();
    await kv.close();
    cleanup();
  }
}

test('event trigger: regex over a topic fires a job with the event appended; non-matching events do not', async () => {
  await withEngine(async ({ eng, sched, bus, fired }) => {
    await eng.create({ id: 'on-deploy-fail', kind: 'noop', prompt: 'investigate', trigger: { type: 'event', topic: 'ci', pattern: 'deploy (failed|error)' }, max_concurrent: 5 });
    bus.publish('ci', { msg: 'deploy ok' });
    bus.publish('other', 'deploy failed');
    bus.publish('ci', { msg: 'deploy failed on prod' });
    await waitFor(() => fired.length === 1, 'one firing');
    const job = sched.get(fired[0].split(':')[1])!;
    assert.equal(job.routine_id, 'on-deploy-fail');
    assert.match(job.prompt!, /^investigate\n\n\[event trigger\]\n\{"msg":"deploy failed on prod"\}/);
    // Long inputs are capped before matching: a match beyond the cap does not count.
    bus.publish('ci', 'x'.repeat(cfg.event_max_input) + 'deploy failed');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fired.length, 1);
  });
});

test('invalid and catastrophic event patterns are refused at creation; nothing is stored', async () => {
  await withEngine(async ({ eng }) => {
    const base = { kind: 'noop', prompt: 'p', trigger: { type: 'event', topic: 't', pattern: '' } } as const;
    for (const [pattern, flags, msg] of [
      ['(unclosed', '', /trigger\.pattern: invalid regex/],
      ['(a+)+$', '', /trigger\.pattern: catastrophic pattern refused \(nested quantifier/],
      ['^(\\w+\\s?)*$', 'i', /nested quantifier/],
      ['(x|y)\\1*', '', /backreference/],
      // Overlapping alternation under a repeat: refused by the shared static check (src/lib/safe-regex.ts).
      ['^(a|a)*$', 'i', /nested quantifier: the group at position 1 contains an alternation/],
      ['ok', 'g', /trigger\.flags/],
    ] as const) {
      await assert.rejects(eng.create({ ...base, id: 'bad', trigger: { ...base.trigger, pattern, flags } }), (e: Error) => {
        assert.match(e.message, msg);
        return true;
      });
    }
    // Stacked unbounded repeats pass the static check (polynomial, not exponential); with `i` it
    // cannot use the linear engine, so the probe measures it on adversarial input and refuses it.
    await assert.rejects(eng.create({ ...base, id: 'bad', trigger: { ...base.trigger, pattern: '^\\w*\\w*\\w*\\w*\\w*\\w*\\w*x$', flags: 'i' } }), /took over 300 ms/);
    assert.equal(eng.list().length, 0);
    // A fine case-insensitive pattern is accepted.
    await eng.create({ ...base, id: 'good', trigger: { ...base.trigger, pattern: 'deploy (failed|error)', flags: 'i' } });
    assert.equal(eng.list().length, 1);
  });
});

test('guardrails: consecutive failures auto-disable; cooldown and max_concurrent skip firings', async () => {
  await withEngine(async ({ eng, sched, notes }) => {
    await eng.create({ id: 'flaky', kind: 'noop', params: { fail: 'upstream 500' }, trigger: { type: 'manual' }, retry: { max_attempts: 1, backoff_ms: 0 }, max_consecutive_failures: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await eng.fire('flaky', 'manual');
      await waitFor(() => sched.get(r.job_id!)?.state === 'failed', 'failed');
      await new Promise((res) => setTimeout(res, 20));
    }
    await waitFor(() => eng.get('flaky')!.enabled === false, 'auto-disabled');
    assert.match(eng.get('flaky')!.disabled_reason!, /auto-disabled after 2 consecutive failures \(last: upstream 500\)/);
    assert.deepEqual((notes[0] as any).kind, 'routine_disabled');
    assert.match((await eng.fire('flaky', 'event')).skipped!, /^disabled: auto-disabled/);
    // Re-enabling resets the failure count.
    assert.equal((await eng.setEnabled('flaky', true)).consecutive_failures, 0);

    await eng.create({ id: 'slow', kind: 'noop', params: { sleep_ms: 300 }, trigger: { type: 'manual' }, max_concurrent: 1, cooldown_ms: 60_000 });
    // The engine hears of a finished job from the scheduler's `finished` event (its handler was
    // registered first), which can come well after the store says `completed` on a loaded machine.
    const finished = new Set<string>();
    sched.on('finished', (j: Job) => finished.add(j.id));
    const first = await eng.fire('slow', 'event');
    assert.ok(first.job_id);
    assert.match((await eng.fire('slow', 'manual')).skipped!, /^max_concurrent: 1 run/);
    await waitFor(() => finished.has(first.job_id!), 'slow done');
    assert.equal(sched.get(first.job_id!)?.state, 'completed');
    assert.match((await eng.fire('slow', 'event')).skipped!, /^cooldown: \d+ ms left/);
    // Manual runs ignore the cooldown.
    assert.ok((await eng.fire('slow', 'manual')).job_id);
    assert.equal(eng.get('slow')!.skipped, 2);
  });
});

test('missed cron firings while down: run_once fires one job, skip fires none; routines survive restart', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const past = Date.now() - 10 * 60_000;
    {
      const kv = openStore(dir);
      const eng = new RoutineEngine({ store: kv, config: cfg, submit: async () => { throw new Error('not while creating'); }, activeJobs: () => [], subscribe: () => () => {}, clock: () => past });
      await eng.create({ id: 'catchup', kind: 'noop', trigger: { type: 'cron', expr: '* * * * *', missed: 'run_once' } });
      await eng.create({ id: 'skipper', kind: 'noop', trigger: { type: 'cron', expr: '* * * * *', missed: 'skip' } });
      eng.stop();
      await kv.close();
    }
    const kv = openStore(dir);
    const submitted: JobSubmit[] = [];
    const eng = new RoutineEngine({
      store: kv,
      config: cfg,
      submit: async (s) => (submitted.push(s), { id: `job${submitted.length}` } as Job),
      activeJobs: () => [],
      subscribe: () => () => {},
    });
    await eng.start();
    try {
      assert.equal(submitted.length, 1);
      assert.equal(submitted[0].routine_id, 'catchup');
      assert.ok(eng.counters.missed >= 18);
      assert.ok(eng.get('skipper')!.skipped >= 9);
      assert.ok(eng.get('catchup')!.next_fire_at! > Date.now());
    } finally {
      eng.stop();
      await kv.close();
    }
  } finally {
    cleanup();
  }
});

test('a 6-field cron routine fires on its second', async () => {
  await withEngine(async ({ eng, fired }) => {
    await eng.create({ id: 'tick', kind: 'noop', trigger: { type: 'cron', expr: '* * * * * *' }, max_concurrent: 10 });
    await waitFor(() => fired.length >= 2, 'two ticks', 4000);
    assert.ok(eng.cronLateness.length >= 2);
    assert.ok(eng.cronLateness.every((ms) => ms >= 0 && ms < 1000), `lateness ${eng.cronLateness}`);
    await eng.remove('tick');
    const n = fired.length;
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(fired.length, n, 'no firing after delete');
  });
});
