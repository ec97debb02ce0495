/**
 * Remote asks on a real nats-server, the other process played by a stock client that announces
 * itself and answers (or does not) on its node inbox: replies matched to their asks however they
 * are ordered, one timer for all the asks in flight (not one each), typed errors for a deadline,
 * no responders and a reply that is not JSON; a late reply is ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { natsServerOrSkip } from '../support/nats-server.js';
import { clientNode } from '../support/nats-client-node.js';
import { until } from './helpers.js';

const dec = new TextDecoder();
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** A process of cluster `cluster` named `fake` running `fake/echo`, as seen on the bus. */
async function fakePeer(url: string, cluster: string) {
  const nc: NatsConnection = await connect({ servers: url });
  let seq = 0;
  const startedAt = new Date().toISOString();
  const announce = () => nc.publish(`rustyclaw.${cluster}._nodes`, JSON.stringify({ v: 1, op: 'node', node: 'fake', incarnation: 'f1', pid: 4242, host: 'h', started_at: startedAt, seq: ++seq, actors: ['fake/echo'], topics: [] }));
  announce();
  const timer = setInterval(announce, 200);
  const got: Msg[] = [];
  const inbox: Subscription = nc.subscribe(`rustyclaw.${cluster}._node.fake`, { callback: (_e, m) => void got.push(m) });
  await nc.flush();
  return {
    got,
    body: (m: Msg) => JSON.parse(dec.decode(m.data)) as { id: number; type: string; payload: unknown; timeout_ms: number },
    answer: (m: Msg, reply: unknown) => m.respond(typeof reply === 'string' ? reply : JSON.stringify(reply)),
    async deaf() {
      inbox.unsubscribe();
      await nc.flush();
    },
    async close() {
      clearInterval(timer);
      inbox.unsubscribe();
      await nc.close();
    },
  };
}


test('remote asks: replies matched in any order, one timer for all in flight, typed errors, late replies ignored', { timeout: 120_000 }, async (t) => {
  const srv = await natsServerOrSkip(t);
  if (!srv) return;
  const peer = await fakePeer(srv.url, 'ra');
  const c = await clientNode(srv.url, 'ra');
  t.after(async () => {
    await c.t.stop();
    await c.sys.stop();
    await peer.close();
    await srv.stop();
  });
  // The client learns of fake/echo from the announcements (an unknown path fails at once, a known one times out here).
  await until('the client forwards to fake/echo', () => c.sys.ask('fake/echo', 'echo', {}, { timeoutMs: 200 }).then(() => false, (e: { code?: string }) => e.code === 'timeout'));
  peer.got.length = 0;

  // 300 pipelined asks held by the peer, then answered in reverse order: each caller gets its own reply.
  const before = timers();
  const N = 300;
  const asks = Array.from({ length: N }, (_, i) => c.sys.ask<{ n: number }>('fake/echo', 'echo', { n: i }, { timeoutMs: 20_000 }));
  await until(`${N} asks reach the peer`, async () => peer.got.length === N, 10_000, 10);
  const during = timers();
  assert.ok(during - before < 10, `asks in flight hold ${during - before} more timers (expected one sweep, not one per ask)`);
  const replySubjects = peer.got.map((m) => m.reply!);
  assert.equal(new Set(replySubjects).size, N, 'each ask has its own reply subject');
  assert.equal(new Set(replySubjects.map((s) => s.slice(0, s.lastIndexOf('.')))).size, 1, 'under one prefix');
  for (const m of [...peer.got].reverse()) {
    const b = peer.body(m);
    peer.answer(m, { v: 1, op: 'reply', id: b.id, ok: true, payload: b.payload });
  }
  const out = await Promise.all(asks);
  assert.deepEqual(out.map((r) => r.n), Array.from({ length: N }, (_, i) => i));
  peer.got.length = 0;

  // Not answered: a timeout by the deadline; the reply arriving later is dropped, the next ask works.
  const t0 = Date.now();
  await assert.rejects(c.sys.ask('fake/echo', 'echo', { n: 1 }, { timeoutMs: 400 }), (e: { code?: string }) => e.code === 'timeout');
  const took = Date.now() - t0;
  assert.ok(took >= 350 && took < 2000, `timed out after ${took} ms (deadline 400 ms)`);
  const late = peer.got.shift()!;
  peer.answer(late, { v: 1, op: 'reply', id: peer.body(late).id, ok: true, payload: { late: true } });
  const next = c.sys.ask<{ n: number }>('fake/echo', 'echo', { n: 7 }, { timeoutMs: 5000 });
  await until('the next ask arrives', async () => peer.got.length === 1, 5000, 10);
  const m = peer.got.shift()!;
  peer.answer(m, { v: 1, op: 'reply', id: peer.body(m).id, ok: true, payload: peer.body(m).payload });
  assert.deepEqual(await next, { n: 7 });

  // A reply that is not JSON, and a failure reply: typed errors naming the node.
  const bad = c.sys.ask('fake/echo', 'echo', {}, { timeoutMs: 5000 });
  const failed = c.sys.ask('fake/echo', 'echo', {}, { timeoutMs: 5000 });
  await until('both arrive', async () => peer.got.length === 2, 5000, 10);
  peer.answer(peer.got[0]!, 'not json {');
  peer.answer(peer.got[1]!, { v: 1, op: 'reply', id: 0, ok: false, error: { code: 'unknown_type', message: 'no such type' } });
  peer.got.length = 0;
  await assert.rejects(bad, (e: { code?: string; message: string }) => e.code === 'invalid_reply' && /on node fake/.test(e.message));
  await assert.rejects(failed, (e: { code?: string }) => e.code === 'unknown_type');

  // Nothing listens on the peer's inbox (it still announces): the ask fails fast, not at its deadline.
  await peer.deaf();
  const t1 = Date.now();
  await assert.rejects(c.sys.ask('fake/echo', 'echo', {}, { timeoutMs: 10_000 }), (e: { code?: string }) => e.code === 'actor_crashed' || e.code === 'unknown_actor');
  assert.ok(Date.now() - t1 < 3000, `no responders took ${Date.now() - t1} ms`);
});
