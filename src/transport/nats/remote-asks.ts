/**
 * Asks and tells to actors of other processes (the kernel's `RemoteRoute`): each goes to the inbox
 * of a process that announced the path (`rustyclaw.<cluster>._node.<node>`) with its deadline;
 * what is in flight to a process that stops announcing fails with `actor_crashed`, and an ask that
 * nothing received (no responders) goes to another process running the path, once.
 */
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Kind, type WireMessage } from '../../../protocol/wire.js';
import type { ExternalResponse } from '../../../protocol/envelope.js';
import type { SerializedError } from '../../kernel/errors.js';
import type { NatsLink } from './link.js';
import type { Peer } from './peers.js';

import { utf8 } from './bytes.js';
const dec = new TextDecoder();

type Reply = (r: { p?: unknown; e?: SerializedError }) => void;

/** An ask sent to another process and not answered yet. */
interface InFlight {
  node: string;
  to: string;
  deadline: number;
  /** Its reply arrived (null: its deadline passed first). */
  answer: (m: Msg | null) => void;
  fail: (e: SerializedError) => void;
}

/** How often the asks in flight are checked against their deadlines (one timer for all of them). */
const SWEEP_MS = 50;

export type PeerGoneWhy = 'timeout' | 'leaving' | 'replaced' | 'gone';

/**
 * Replies come back on one subscription of this process, `<inbox>.*`, each ask with its own
 * reply subject `<inbox>.<key>` (so a server's no-responders status names the ask it belongs to),
 * and one coarse timer sweeps the deadlines. nats.js's `request` took 3–4× the CPU per pipelined
 * ask in the asking process (41–53 against 12–16 µs): three Error objects with stack traces and a
 * timer for each (docs/decisions.md).
 */
export class RemoteAsks {
  private nextFlight = 1;
  private readonly inflight = new Map<number, InFlight>();
  private replies: { nc: NatsConnection; sub: Subscription; prefix: string } | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** Paths other processes ever announced: only those are forwarded (anything else is unknown here). */
  readonly remotePaths = new Set<string>();

  constructor(private readonly l: NatsLink) {}

  forward(msg: WireMessage, reply: Reply | null, retry = true): boolean {
    if (!this.remotePaths.has(msg.to)) return false;
    const fail = (code: string, message: string) => {
      if (reply) reply({ e: { code, message } });
      else this.l.log.warn({ to: msg.to, type: msg.ty, code }, `dead letter: ${message}`);
    };
    const peer = this.l.peers.pick(msg.to);
    if (!peer) {
      fail('unknown_actor', `no process of cluster '${this.l.cluster}' runs '${msg.to}' now`);
      return true;
    }
    const nc = this.l.conn();
    if (!nc || !this.l.isConnected() || nc.isClosed()) {
      fail('bus_unreachable', `${msg.to} on node ${peer.node}: NATS is unreachable (${this.l.cfg.servers.join(', ')}); reconnecting`);
      return true;
    }
    const ask = msg.k === Kind.Ask && reply !== null;
    const timeoutMs = ask ? Math.max(1, (msg.dl ?? Date.now() + 30_000) - Date.now()) : undefined;
    let body: Uint8Array;
    try {
      const env = ask
        ? { v: 1, op: 'ask', id: msg.id!, to: msg.to, type: msg.ty, payload: msg.p ?? {}, timeout_ms: Math.min(3_600_000, timeoutMs!), node: this.l.node, from: msg.from }
        : { v: 1, op: 'tell', to: msg.to, type: msg.ty, payload: msg.p ?? {}, node: this.l.node, from: msg.from };
      body = utf8(JSON.stringify(env));
    } catch (err) {
      fail('invalid_message', `${msg.ty} to ${msg.to}: the payload cannot be sent to another process as JSON (${(err as Error).message})`);
      return true;
    }
    const inbox = this.l.subjects.nodeInbox(peer.node);
    if (!ask) {
      try {
        nc.publish(inbox, body);
      } catch (err) {
        fail('invalid_message', `${msg.ty} to ${msg.to} on node ${peer.node}: ${(err as Error).message}`);
      }
      return true;
    }
    let prefix: string;
    try {
      prefix = this.replySubjects(nc);
    } catch (err) {
      fail('bus_unreachable', `${msg.to} on node ${peer.node}: cannot subscribe to replies: ${(err as Error).message}`);
      return true;
    }
    const key = this.nextFlight++;
    const answer = (m: Msg | null) => {
      if (m === null) return reply!({ e: { code: 'timeout', message: `ask ${msg.ty} to ${msg.to} on node ${peer.node} timed out` } });
      if (m.data.length === 0 && m.headers?.code === 503) {
        // Nothing listened on its inbox, so the ask was never delivered: the process is gone.
        // Another process that runs the path may take it (running it once, not twice).
        if (retry) {
          this.l.peers.drop(peer.node);
          this.forward(msg, reply, false);
          return;
        }
        return reply!({ e: { code: 'actor_crashed', message: `${msg.to} on node ${peer.node} (pid ${peer.pid}): the process is gone (nothing listens on its inbox)` } });
      }
      const r = this.parseReply(m, msg.to, peer.node);
      if (r.e?.code === 'unknown_actor') this.l.peers.forget(peer.node, msg.to);
      reply!(r);
    };
    this.inflight.set(key, { node: peer.node, to: msg.to, deadline: Date.now() + timeoutMs!, answer, fail: (e) => reply!({ e }) });
    try {
      nc.publish(inbox, body, { reply: prefix + key });
    } catch (err) {
      this.inflight.delete(key);
      reply!({ e: { code: 'invalid_message', message: `${msg.ty} to ${msg.to} on node ${peer.node}: ${(err as Error).message}` } });
      return true;
    }
    this.armSweep();
    return true;
  }

  /** The reply subjects' prefix on this connection, subscribing on first use. */
  private replySubjects(nc: NatsConnection): string {
    if (this.replies?.nc === nc) return this.replies.prefix;
    const prefix = `${createInbox()}.`;
    const sub = nc.subscribe(`${prefix}*`, {
      callback: (err, m) => {
        if (err) {
          this.l.log.warn({ subject: `${prefix}*`, err: err.message }, 'reply subscription error; asks in flight fail');
          if (this.replies?.sub === sub) this.replies = null;
          this.failAll({ code: 'bus_unreachable', message: `the replies' subscription failed: ${err.message}` });
          return;
        }
        const key = Number(m.subject.slice(prefix.length));
        const f = this.inflight.get(key);
        if (!f) return; // timed out or failed already
        this.inflight.delete(key);
        f.answer(m);
      },
    });
    this.replies = { nc, sub, prefix };
    return prefix;
  }

  /** One coarse timer for every ask in flight, running while there are any. */
  private armSweep(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => {
      if (this.inflight.size === 0) {
        clearInterval(this.sweepTimer!);
        this.sweepTimer = null;
        return;
      }
      const now = Date.now();
      for (const [key, f] of this.inflight) {
        if (f.deadline > now) continue;
        this.inflight.delete(key);
        f.answer(null);
      }
    }, SWEEP_MS);
    this.sweepTimer.unref();
  }

  private parseReply(m: Msg, to: string, node: string): { p?: unknown; e?: SerializedError } {
    let r: Partial<ExternalResponse & { ok: boolean; payload: unknown; error: SerializedError }>;
    try {
      r = JSON.parse(dec.decode(m.data)) as typeof r;
    } catch (err) {
      return { e: { code: 'invalid_reply', message: `${to} on node ${node}: the reply is not valid JSON (${(err as Error).message})` } };
    }
    if (r?.op !== 'reply' || typeof r.ok !== 'boolean') return { e: { code: 'invalid_reply', message: `${to} on node ${node}: the reply is not a reply envelope` } };
    if (r.ok) return { p: r.payload };
    const e = r.error;
    return { e: e && typeof e.code === 'string' && typeof e.message === 'string' ? e : { code: 'invalid_reply', message: `${to} on node ${node}: failed without an error body` } };
  }

  /** What was in flight to a process that is gone fails (a leaving one first gets time to answer). */
  failPeer(peer: Peer, why: PeerGoneWhy): void {
    if (![...this.inflight.values()].some((f) => f.node === peer.node)) return;
    const fail = () => {
      const code = why === 'leaving' ? 'actor_stopped' : 'actor_crashed';
      const what = why === 'leaving' ? 'stopped' : why === 'gone' ? 'is gone (nothing listens on its inbox)' : why === 'timeout' ? `stopped answering (no announcement for ${this.l.cfg.node_timeout_ms} ms)` : 'restarted';
      for (const [key, f] of [...this.inflight]) {
        if (f.node !== peer.node) continue;
        this.inflight.delete(key);
        f.fail({ code, message: `${f.to} on node ${peer.node} (pid ${peer.pid}): the process ${what}` });
      }
    };
    // A process that leaves answers what it took before it goes; give it that long.
    if (why === 'leaving') setTimeout(fail, this.l.cfg.node_timeout_ms).unref();
    else fail();
  }

  /** This process stops: everything still in flight fails with `shutting_down`. */
  failAll(e?: SerializedError): void {
    const flights = [...this.inflight];
    this.inflight.clear();
    for (const [, f] of flights) f.fail(e ?? { code: 'shutting_down', message: `${f.to} on node ${f.node}: this process is stopping` });
  }
}
