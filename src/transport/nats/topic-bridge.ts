/**
 * Topics across processes: an event goes to NATS (`rustyclaw.<cluster>._topic.<topic>`) only when
 * another process announced a matching subscription pattern, or it matches `nats.export_topics`,
 * once per event (relays and subscriptions reduced to a cover); events from NATS are checked and
 * published to this process's subscribers.
 */
import type { Msg, Subscription } from '@nats-io/transport-node';
import { RELAY } from '../../kernel/router.js';
import type { NatsLink } from './link.js';
import { coverOf } from './subjects.js';
import { utf8 } from './bytes.js';

const dec = new TextDecoder();

/** NATS subjects that no other of the set covers (`a.>` covers `a.b`), so no event arrives twice. */
function subjectCover(subjects: Iterable<string>): string[] {
  const all = [...new Set(subjects)];
  return all.filter((s) => !all.some((t) => t !== s && t.endsWith('.>') && s.startsWith(t.slice(0, -1))));
}

export class TopicBridge {
  private readonly relays = new Map<string, () => void>();
  private readonly topicSubs = new Map<string, Subscription>();

  constructor(private readonly l: NatsLink) {}

  syncRelays(): void {
    const sys = this.l.system();
    if (this.l.isStopping()) return;
    const want = new Set(coverOf([...this.l.peers.topics(), ...this.l.cfg.export_topics]));
    for (const [p, off] of this.relays) {
      if (!want.has(p)) {
        off();
        this.relays.delete(p);
      }
    }
    this.l.log.debug({ relays: [...want] }, 'topics relayed to other processes');
    for (const p of want) {
      if (this.relays.has(p)) continue;
      const relay = Object.assign((payload: unknown, topic: string) => this.relay(topic, payload), { [RELAY]: true });
      this.relays.set(p, sys.router.subscribe(p, relay));
    }
  }

  private relay(topic: string, payload: unknown): void {
    const nc = this.l.conn();
    if (!nc || nc.isClosed()) return;
    let body: Uint8Array;
    try {
      // One stringify of the whole envelope: a flat string (a concatenation around the payload's
      // JSON costs the encoder a flattening copy per event).
      body = utf8(JSON.stringify({ v: 1, op: 'event', topic, payload }));
    } catch (err) {
      return void this.l.log.warn({ topic, err: (err as Error).message }, `event on ${topic} cannot be sent to other processes (not JSON)`);
    }
    try {
      nc.publish(this.l.subjects.topic(topic), body);
    } catch (err) {
      this.l.log.warn({ topic, err: (err as Error).message }, `event on ${topic} not sent to other processes`);
    }
  }

  /** Subscribe on NATS to what this process's subscribers want from others. */
  syncTopicSubs(): void {
    const nc = this.l.conn();
    if (!nc || this.l.isStopping()) return;
    const want = new Set(subjectCover(coverOf(this.l.system().topicInterest()).map((p) => this.l.subjects.topicPattern(p))));
    for (const [s, sub] of this.topicSubs) {
      if (!want.has(s)) {
        sub.unsubscribe();
        this.topicSubs.delete(s);
      }
    }
    this.l.log.debug({ subjects: [...want] }, 'topic subjects subscribed on NATS');
    for (const s of want) {
      if (this.topicSubs.has(s)) continue;
      // A subject without wildcards is one topic's (the encoding is one to one): its events must name that topic.
      const only = s.endsWith('.>') ? null : this.l.subjects.topicOf(s);
      this.topicSubs.set(s, nc.subscribe(s, { callback: (err, m) => (err ? this.l.log.warn({ subject: s, err: err.message }, 'subscription error') : this.onEvent(m, only)) }));
    }
  }

  /** `only`: the topic of the (exact) subscription, so the hot path compares strings, not subjects. */
  private onEvent(m: Msg, only: string | null): void {
    const data = m.data;
    if (data.length > this.l.cfg.max_payload_bytes) return void this.l.log.warn({ subject: m.subject, bytes: data.length }, `${m.subject}: event over nats.max_payload_bytes; dropped`);
    let e: { v?: unknown; op?: unknown; topic?: unknown; payload?: unknown };
    try {
      e = JSON.parse(dec.decode(data)) as typeof e;
    } catch (err) {
      return void this.l.log.warn({ subject: m.subject }, `${m.subject}: event is not valid JSON (${(err as Error).message}); dropped`);
    }
    if (typeof e !== 'object' || e === null || e.v !== 1 || e.op !== 'event' || typeof e.topic !== 'string') {
      return void this.l.log.warn({ subject: m.subject }, `${m.subject}: expected {"v":1,"op":"event","topic":…,"payload":…}; dropped`);
    }
    if (only !== null ? e.topic !== only : this.l.subjects.topic(e.topic) !== m.subject) {
      return void this.l.log.warn({ subject: m.subject, topic: e.topic }, `${m.subject}: event topic '${e.topic.slice(0, 100)}' does not match its subject; dropped`);
    }
    this.l.system().router.publish(e.topic, e.payload ?? null, true);
  }

  /** Stop relaying (stop: before the connection drains). */
  stopRelays(): void {
    for (const off of this.relays.values()) off();
    this.relays.clear();
  }

  unsubscribe(): void {
    for (const s of this.topicSubs.values()) s.unsubscribe();
  }
}
