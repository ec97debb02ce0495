/** Subject mapping, pattern covers and the peer table (in-process parts of the NATS transport). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subjects, coverOf, decodeSegment, encodeSegment } from '../../src/transport/nats/subjects.js';
import { Peers } from '../../src/transport/nats/peers.js';
import { kvKey, storeKey } from '../../actors/scheduler/job-store-jetstream.js';
import { topicMatches } from '../../src/kernel/topics.js';

test('paths and topics map to one subject each and back, reserved characters escaped', () => {
  const s = new Subjects('c1');
  assert.equal(s.actor('system/memory'), 'rustyclaw.c1.system.memory');
  assert.equal(s.pathOf('rustyclaw.c1.system.memory'), 'system/memory');
  assert.equal(s.actor('agents/my.agent'), 'rustyclaw.c1.agents.my%2Eagent');
  assert.equal(s.pathOf(s.actor('agents/my.agent')), 'agents/my.agent');
  assert.equal(s.pathOf('rustyclaw.c1._node.x'), null);
  assert.equal(s.pathOf('rustyclaw.c2.system.memory'), null);
  for (const t of ['scheduler.jobs', 'agents/default/events', 'a b/*>/%41', 'x//y', '']) assert.equal(s.topicOf(s.topic(t)), t, t);
  for (const seg of ['', '.', '%', '*', '>', ' \t', 'plain']) assert.equal(decodeSegment(encodeSegment(seg)), seg);
  assert.ok(!/[.*> ]/.test(encodeSegment('a.b*c>d e')));
});

test('a topic pattern subscribes to a subject that covers every topic it matches', () => {
  const s = new Subjects('c');
  const covers = (subject: string, topic: string) => {
    const sub = subject.split('.');
    const tok = s.topic(topic).split('.');
    for (let i = 0; i < sub.length; i++) {
      if (sub[i] === '>') return tok.length > i;
      if (sub[i] !== tok[i]) return false;
    }
    return sub.length === tok.length;
  };
  const cases: Array<[string, string[]]> = [
    ['agents/*', ['agents/default/events', 'agents/x']],
    ['agen*', ['agents/x', 'agenda']],
    ['*', ['anything/at/all', 'scheduler.jobs']],
    ['scheduler.jobs', ['scheduler.jobs']],
    ['provider/stream/*', ['provider/stream/42']],
  ];
  for (const [pattern, topics] of cases) {
    for (const t of topics) {
      assert.ok(topicMatches(pattern, t));
      assert.ok(covers(s.topicPattern(pattern), t), `${pattern} → ${s.topicPattern(pattern)} covers ${t}`);
    }
  }
});

test('coverOf drops patterns another one covers, so no event matches two', () => {
  assert.deepEqual(coverOf(['agents/*', 'agents/default/events', 'notifications', 'ag*']).sort(), ['ag*', 'notifications']);
  assert.deepEqual(coverOf(['a', 'a', 'b*']).sort(), ['a', 'b*']);
  assert.deepEqual(coverOf(['*', 'x', 'y/*']), ['*']);
});

test('peers: announcements, replays, restarts and expiry', () => {
  const gone: string[] = [];
  const p = new Peers((peer, why) => gone.push(`${peer.node}:${why}`));
  const a = { v: 1 as const, op: 'node' as const, node: 'b', incarnation: 'i1', pid: 1, host: 'h', started_at: '2026-01-01T00:00:00Z', seq: 1, actors: ['system/memory'], topics: [] };
  assert.deepEqual(p.apply(a, 0), { added: true, actorsChanged: true, topicsChanged: true });
  assert.deepEqual(p.apply(a, 1), { added: false, actorsChanged: false, topicsChanged: false }, 'a replay is ignored');
  assert.equal(p.pick('system/memory')?.node, 'b');
  p.apply({ ...a, incarnation: 'old', started_at: '2025-01-01T00:00:00Z', seq: 9 }, 2);
  assert.equal(p.get('b')?.incarnation, 'i1', 'an older incarnation announcing is stale');
  p.apply({ ...a, incarnation: 'i2', started_at: '2026-01-02T00:00:00Z', seq: 1 }, 3);
  assert.deepEqual(gone, ['b:replaced']);
  p.apply({ ...a, node: 'c', incarnation: 'j', seq: 1 }, 3);
  const picks = new Set([p.pick('system/memory')?.node, p.pick('system/memory')?.node]);
  assert.deepEqual([...picks].sort(), ['b', 'c'], 'round robin over the processes running a path');
  p.forget('c', 'system/memory');
  assert.equal(p.pick('system/memory')?.node, 'b');
  p.expire(10_000, 3000);
  assert.deepEqual(gone.sort(), ['b:replaced', 'b:timeout', 'c:timeout']);
  assert.equal(p.pick('system/memory'), undefined);
});

test('KV keys of the JetStream store are reversible and valid', () => {
  for (const k of ['job:j0001', 'meta:incarnation', 'routine:a b=c', '.x.', 'ü', '€uro', '=u0041']) {
    assert.match(kvKey(k), /^[-/_=.A-Za-z0-9]+$/);
    assert.ok(!kvKey(k).startsWith('.'));
    assert.equal(storeKey(kvKey(k)), k);
  }
});
