/**
 * Black-box: three `rustyclaw start` processes on a real nats-server share the job load through the
 * JetStream work-queue stream (`nats.jobs: shared`, the default). A stock NATS client submits jobs
 * (each submit goes to any process, queue group `q`) and follows their events: every process runs
 * some; a process killed with kill -9 mid-job has its jobs redelivered after the ack wait and run
 * elsewhere; none lost, none completed twice, none started again while its first run was alive;
 * routines fire from the lease holder only, once per firing, and go on firing after it is killed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { natsServerOrSkip } from '../support/nats-server.js';
import { startNode, stopNode, until, type NodeProc } from './helpers.js';

const dec = new TextDecoder();

interface JobEv {
  event: 'started' | 'finished';
  id: string;
  state: string;
  node?: string;
  at: number;
  attempts: number;
  routine_id?: string;
}

async function ask(nc: NatsConnection, cluster: string, type: string, payload: unknown, timeout = 10_000): Promise<any> {
  const m = await nc.request(`rustyclaw.${cluster}.system.scheduler`, JSON.stringify({ v: 1, op: 'ask', id: 1, to: 'system/scheduler', type, payload, timeout_ms: timeout }), { timeout: timeout + 1000 });
  const r = JSON.parse(dec.decode(m.data));
  if (!r.ok) throw new Error(`${type}: ${r.error.code}: ${r.error.message}`);
  return r.payload;
}

function follow(nc: NatsConnection, cluster: string): JobEv[] {
  const evs: JobEv[] = [];
  nc.subscribe(`rustyclaw.${cluster}._topic.scheduler%2Ejobs`, { callback: (_e, m) => void evs.push(JSON.parse(dec.decode(m.data)).payload) });
  return evs;
}

const opts = (cluster: string) => ({ cluster, actors: ['scheduler'], agent: false, nats: '  lease_ttl_ms: 2000\n  job_ack_wait_ms: 3000' });

test('shared jobs: three processes each run some of the jobs; kill -9 mid-job redelivers, 0 lost, 0 duplicates', { timeout: 400_000 }, async (t) => {
  const srv = await natsServerOrSkip(t);
  if (!srv) return;
  const cluster = 'share';
  const nodes: NodeProc[] = [];
  t.after(async () => {
    for (const n of nodes) await stopNode(n);
  });
  for (const name of ['alpha', 'beta', 'gamma']) nodes.push(await startNode(name, srv.url, opts(cluster)));
  const nc = await connect({ servers: srv.url });
  t.after(() => nc.close());
  const evs = follow(nc, cluster);
  await nc.flush();

  // Round 1: short jobs, submitted through whichever process the queue group picks.
  const N = 150;
  const ids: string[] = [];
  for (let i = 0; i < N; i++) ids.push((await ask(nc, cluster, 'job.submit', { kind: 'noop', params: { sleep_ms: 30 }, key: `r1-${i}` })).id);
  await until('every round-1 job completed', async () => ids.every((id) => evs.some((e) => e.id === id && e.event === 'finished' && e.state === 'completed')), 120_000, 200);
  const ranOn = new Map<string, number>();
  for (const e of evs) if (e.event === 'finished' && ids.includes(e.id)) ranOn.set(e.node ?? '?', (ranOn.get(e.node ?? '?') ?? 0) + 1);
  assert.deepEqual([...ranOn.keys()].sort(), ['alpha', 'beta', 'gamma'], `every process ran some jobs: ${JSON.stringify([...ranOn])}`);
  // A submit on one process is visible on every other at once (status reads the shared KV record).
  for (const n of nodes) {
    const r = await n.cli(['job', 'status', ids[0]!, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).state, 'completed');
  }
  // Idempotency across processes: the same key returns the same job, wherever it lands.
  for (let i = 0; i < 6; i++) assert.equal((await ask(nc, cluster, 'job.submit', { kind: 'noop', key: 'r1-0' })).id, ids[0]);

  // Round 2: long jobs; kill -9 a process while it runs some of them.
  const M = 45;
  const long: string[] = [];
  for (let i = 0; i < M; i++) long.push((await ask(nc, cluster, 'job.submit', { kind: 'noop', params: { sleep_ms: 1500 }, key: `r2-${i}`, retry: { max_attempts: 5, backoff_ms: 50 } })).id);
  const victim = nodes[1]!;
  await until(`${victim.name} to run some round-2 jobs`, async () => evs.some((e) => e.event === 'started' && e.node === victim.name && long.includes(e.id)), 60_000, 20);
  const killedAt = Date.now();
  process.kill(victim.svc.pid, 'SIGKILL');
  await victim.svc.exited;
  const interrupted = new Set(evs.filter((e) => e.event === 'started' && e.node === victim.name && long.includes(e.id)).map((e) => e.id).filter((id) => !evs.some((e) => e.id === id && e.event === 'finished')));
  assert.ok(interrupted.size > 0, 'the killed process was running jobs');
  await until('every round-2 job completed', async () => long.every((id) => evs.some((e) => e.id === id && e.event === 'finished' && e.state === 'completed')), 180_000, 250);

  const all = [...ids, ...long];
  const completions = new Map<string, number>();
  for (const e of evs) if (e.event === 'finished' && e.state === 'completed') completions.set(e.id, (completions.get(e.id) ?? 0) + 1);
  assert.deepEqual(all.filter((id) => !completions.has(id)), [], 'no job lost');
  assert.deepEqual([...completions].filter(([, n]) => n > 1), [], 'no job completed twice');
  // No second start while the first run was alive: a job starts again only after its run ended (finished, or its process was killed).
  for (const id of all) {
    const starts = evs.filter((e) => e.id === id && e.event === 'started');
    for (let i = 1; i < starts.length; i++) {
      assert.ok(starts[i - 1]!.node === victim.name && starts[i]!.at >= killedAt, `job ${id} started again on ${starts[i]!.node} while its run on ${starts[i - 1]!.node} was alive`);
    }
  }
  // The interrupted jobs ran again elsewhere, after the ack wait, as a counted attempt.
  for (const id of interrupted) {
    const j = await ask(nc, cluster, 'job.status', { id });
    assert.equal(j.state, 'completed');
    assert.ok(j.attempts >= 2, JSON.stringify(j));
    assert.match(JSON.stringify(j.attempt_errors ?? []), /worker_lost/);
  }

  // Hostile input on the shared subjects and bucket: a log line naming what was wrong, nothing runs
  // twice, the processes stay up.
  const startsBefore = evs.filter((e) => e.event === 'started' && e.id === ids[0]).length;
  nc.publish(`rustyclaw.${cluster}._jobq`, 'not json');
  nc.publish(`rustyclaw.${cluster}._jobq`, JSON.stringify({ id: '../../etc/passwd' }));
  nc.publish(`rustyclaw.${cluster}._jobq`, JSON.stringify({ id: ids[0] })); // a replayed message of a finished job
  const kv = await new Kvm(nc).open(`rustyclaw_${cluster}_jobs`);
  await kv.put('job.jbogus1', 'garbage');
  await kv.put('job.jbogus2', JSON.stringify({ id: 'jbogus2', state: 'pending' }));
  nc.publish(`rustyclaw.${cluster}._jobq`, JSON.stringify({ id: 'jbogus1' }));
  const leaderReply = JSON.parse(dec.decode((await nc.request(`rustyclaw.${cluster}._scheduler.leader`, '{"type":"job.submit"}', { timeout: 5000 })).data));
  assert.equal(leaderReply.ok, false);
  assert.match(leaderReply.error.message, /_scheduler\.leader: type: expected one of routine\.create/);
  const alive = [nodes[0]!, nodes[2]!];
  const logs = () => alive.map((n) => n.svc.stderr()).join('\n');
  const seen = () => logs().split('\n').filter((l) => /_jobq|jbogus/.test(l)).slice(0, 6).join(' | ');
  await until('log lines naming the bad messages and records', async () => /_jobq: message \d+ is not .{0,12}id.{0,12}: <job id>/.test(logs()) && /key job\.jbogus1 is not JSON/.test(logs()) && /key job\.jbogus2 is not a job record/.test(logs()), 30_000, 200).catch((e: Error) => {
    throw new Error(`${e.message}; the log has: ${seen()}`);
  });
  const after = (await ask(nc, cluster, 'job.submit', { kind: 'noop' })).id as string;
  await until('a job after the hostile input', async () => evs.some((e) => e.id === after && e.event === 'finished' && e.state === 'completed'), 30_000, 100);
  assert.equal(evs.filter((e) => e.event === 'started' && e.id === ids[0]).length, startsBefore, 'a replayed message does not run a finished job again');
  for (const n of alive) {
    assert.equal(n.svc.child.exitCode, null, `${n.name} stays up`);
    assert.doesNotMatch(n.svc.stderr(), /uncaught|TypeError|stack/i);
  }
});

test('shared jobs: routines fire once per firing from the lease holder, and go on after it is killed', { timeout: 300_000 }, async (t) => {
  const srv = await natsServerOrSkip(t);
  if (!srv) return;
  const cluster = 'fire';
  const nodes: NodeProc[] = [];
  t.after(async () => {
    for (const n of nodes) await stopNode(n);
  });
  for (const name of ['alpha', 'beta', 'gamma']) nodes.push(await startNode(name, srv.url, opts(cluster)));
  const nc = await connect({ servers: srv.url });
  t.after(() => nc.close());
  const evs = follow(nc, cluster);
  await nc.flush();
  const stats = async () => ask(nc, cluster, 'scheduler.stats', {});
  const leaderName = await until('a lease holder', async () => (await stats()).leader_node as string, 20_000);
  // Created through any process (forwarded to the holder), listed from any other.
  const created = await ask(nc, cluster, 'routine.create', { id: 'tick', kind: 'noop', trigger: { type: 'cron', expr: '* * * * * *' } }).catch(async (e) => {
    throw new Error(`${e.message} (holder ${leaderName})`);
  });
  const rid = created.routine.id as string;
  for (const n of nodes) {
    const r = await n.cli(['routine', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(rid));
  }
  const fired = () => evs.filter((e) => e.event === 'finished' && e.routine_id === rid);
  await until('the routine to fire a few times', async () => fired().length >= 4, 30_000, 100);
  const leader = nodes.find((n) => n.name === leaderName)!;
  process.kill(leader.svc.pid, 'SIGKILL');
  await leader.svc.exited;
  const before = fired().length;
  const next = await until('another process to take the lease', async () => {
    const s = await stats();
    return s.leader_node && s.leader_node !== leaderName ? (s.leader_node as string) : null;
  }, 20_000, 100);
  assert.notEqual(next, leaderName);
  await until('the routine to fire again from the new holder', async () => fired().length >= before + 3, 30_000, 100);
  // Once per firing: one job per cron second (no two within the same second).
  const jobs = (await ask(nc, cluster, 'job.list', { routine_id: rid, limit: 10_000 })).jobs as Array<{ created_at: number }>;
  const seconds = jobs.map((j) => Math.floor(j.created_at / 1000));
  assert.equal(new Set(seconds).size, seconds.length, `two jobs in one cron second: ${seconds.join(',')}`);
});

test('shared jobs: a paused process (SIGSTOP) has its jobs redelivered; resumed, its late reports are void — each job completes once', { timeout: 300_000 }, async (t) => {
  const srv = await natsServerOrSkip(t);
  if (!srv) return;
  const cluster = 'pause';
  const nodes: NodeProc[] = [];
  t.after(async () => {
    for (const n of nodes) await stopNode(n);
  });
  for (const name of ['alpha', 'beta']) nodes.push(await startNode(name, srv.url, opts(cluster)));
  const [alpha, beta] = nodes as [NodeProc, NodeProc];
  const nc = await connect({ servers: srv.url });
  t.after(() => nc.close());
  const evs = follow(nc, cluster);
  await nc.flush();
  const ids: string[] = [];
  for (let i = 0; i < 24; i++) ids.push((await ask(nc, cluster, 'job.submit', { kind: 'noop', params: { sleep_ms: 2500 }, key: `p-${i}`, retry: { max_attempts: 5, backoff_ms: 50 } })).id);
  await until('beta to run some jobs', async () => evs.some((e) => e.event === 'started' && e.node === 'beta'), 60_000, 20);
  const pausedAt = Date.now();
  process.kill(beta.svc.pid, 'SIGSTOP');
  const frozen = new Set(evs.filter((e) => e.event === 'started' && e.node === 'beta').map((e) => e.id).filter((id) => !evs.some((e) => e.id === id && e.event === 'finished')));
  // Longer than the ack wait (3 s): alpha takes them over.
  await until('alpha to take over a paused job', async () => evs.some((e) => e.event === 'started' && e.node === 'alpha' && frozen.has(e.id) && e.at > pausedAt), 60_000, 50);
  process.kill(beta.svc.pid, 'SIGCONT');
  await until('every job completed', async () => ids.every((id) => evs.some((e) => e.id === id && e.event === 'finished' && e.state === 'completed')), 120_000, 200);
  await new Promise((r) => setTimeout(r, 1500)); // late reports of the resumed process, if any, would show now
  const completions = new Map<string, string[]>();
  for (const e of evs) if (e.event === 'finished' && e.state === 'completed') completions.set(e.id, [...(completions.get(e.id) ?? []), e.node ?? '?']);
  assert.deepEqual(ids.filter((id) => !completions.has(id)), [], 'no job lost');
  assert.deepEqual([...completions].filter(([, by]) => by.length > 1), [], 'no job completed twice');
  for (const id of frozen) {
    const j = await ask(nc, cluster, 'job.status', { id });
    // Taken over while beta was paused, unless beta's run had just finished writing before the pause.
    if (completions.get(id)?.[0] === 'alpha') assert.ok(j.attempts >= 2, JSON.stringify(j));
  }
  assert.ok([...frozen].some((id) => completions.get(id)?.[0] === 'alpha'), 'alpha completed jobs beta had been running');
  // The resumed process stays in service.
  const after = (await ask(nc, cluster, 'job.submit', { kind: 'noop' })).id as string;
  await until('a job after the resume', async () => evs.some((e) => e.id === after && e.event === 'finished'), 30_000, 100);
  assert.equal(beta.svc.child.exitCode, null);
  assert.doesNotMatch(alpha.svc.stderr() + beta.svc.stderr(), /uncaught|TypeError/i);
});
