/**
 * Asks and tells to actors of other processes (the kernel's `RemoteRoute`): each goes to the inbox
 * of a process that announced the path (`rustyclaw.<cluster>._node.<node>`) with its deadline;
 * what is in flight to a process that stops announcing fails with `actor_crashed`, and an ask that
 * nothing received (no responders) goes to another process running the path, once.
 */
import type { Msg } from '@nats-io/transport-node';
import { Kind, type WireMessage } from '../../../protocol/wire.js';
import type { ExternalResponse } from '../../../protocol/envelope.js';
import type { SerializedError } from '../../kernel/errors.js';
import type { NatsLink } from './link.js';
import type { Peer } from './peers.js';

import { utf8 } from './bytes.js';
const dec = new TextDecoder();

interface InFlight {
  to: string;
  fail: (e: SerializedError) => void;
}

export type PeerGoneWhy = 'timeout' | 'leaving' | 'replaced' | 'gone';

export class RemoteAsks {
  private nextFlight = 1;
  private readonly inflight = new Map<string, Map<number, InFlight>>();
  /** Paths other processes ever announced: only those are forwarded (anything else is unknown here). */
  readonly remotePaths = new Set<string>();

  constructor(private readonly l: NatsLink) {}

  forward(msg: WireMessage, reply: ((r: { p?: unknown; e?: SerializedError }) => void) | null, retry = true): boolean {
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
    let flights = this.inflight.get(peer.node);
    if (!flights) this.inflight.set(peer.node, (flights = new Map()));
    const key = this.nextFlight++;
    let done = false;
    const settle = (r: { p?: unknown; e?: SerializedError }) => {
      if (done) return;
      done = true;
      this.inflight.get(peer.node)?.delete(key);
      reply!(r);
    };
    flights.set(key, { to: msg.to, fail: (e) => settle({ e }) });
    let req: Promise<Msg>;
    try {
      req = nc.request(inbox, body, { timeout: timeoutMs! });
    } catch (err) {
      settle({ e: { code: 'invalid_message', message: `${msg.ty} to ${msg.to} on node ${peer.node}: ${(err as Error).message}` } });
      return true;
    }
    req.then(
      (m) => {
        const r = this.parseReply(m, msg.to, peer.node);
        if (r.e?.code === 'unknown_actor') this.l.peers.forget(peer.node, msg.to);
        settle(r);
      },
      (err: Error) => {
        const e = this.requestError(err, msg, peer);
        if (e.code === 'actor_crashed' && retry && !done) {
          // Nothing listened on its inbox, so the ask was never delivered: the process is gone.
          // Another process that runs the path may take it (running it once, not twice).
          done = true;
          this.inflight.get(peer.node)?.delete(key);
          this.l.peers.drop(peer.node);
          this.forward(msg, reply, false);
          return;
        }
        settle({ e });
      },
    );
    return true;
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

  private requestError(err: Error, msg: WireMessage, peer: Peer): SerializedError {
    const name = err.name + ' ' + err.message;
    if (/timeout/i.test(name)) return { code: 'timeout', message: `ask ${msg.ty} to ${msg.to} on node ${peer.node} timed out` };
    if (/no responders|503/i.test(name) || (err as { isNoResponders?: () => boolean }).isNoResponders?.()) {
      return { code: 'actor_crashed', message: `${msg.to} on node ${peer.node} (pid ${peer.pid}): the process is gone (nothing listens on its inbox)` };
    }
    if (!this.l.isConnected()) return { code: 'bus_unreachable', message: `${msg.to} on node ${peer.node}: NATS connection lost (${this.l.cfg.servers.join(', ')})` };
    return { code: 'handler_error', message: `${msg.to} on node ${peer.node}: ${err.message}` };
  }

  /** What was in flight to a process that is gone fails (a leaving one first gets time to answer). */
  failPeer(peer: Peer, why: PeerGoneWhy): void {
    if (!this.inflight.get(peer.node)) return;
    const fail = () => {
      const now = this.inflight.get(peer.node);
      if (!now) return;
      this.inflight.delete(peer.node);
      const code = why === 'leaving' ? 'actor_stopped' : 'actor_crashed';
      const what = why === 'leaving' ? 'stopped' : why === 'gone' ? 'is gone (nothing listens on its inbox)' : why === 'timeout' ? `stopped answering (no announcement for ${this.l.cfg.node_timeout_ms} ms)` : 'restarted';
      for (const f of now.values()) f.fail({ code, message: `${f.to} on node ${peer.node} (pid ${peer.pid}): the process ${what}` });
    };
    // A process that leaves answers what it took before it goes; give it that long.
    if (why === 'leaving') setTimeout(fail, this.l.cfg.node_timeout_ms).unref();
    else fail();
  }

  /** This process stops: everything still in flight fails with `shutting_down`. */
  failAll(): void {
    for (const [node, flights] of this.inflight) {
      for (const f of flights.values()) f.fail({ code: 'shutting_down', message: `${f.to} on node ${node}: this process is stopping` });
    }
    this.inflight.clear();
  }
}
