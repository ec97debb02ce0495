/**
 * The other processes of the cluster, as their announcements describe them: which actors each runs,
 * which topics it wants, when it was last heard. A process that stops announcing for
 * `node_timeout_ms` is gone; so is an older incarnation of a node name that announces anew.
 */
import type { NodeAnnouncement } from '../../../protocol/nats.js';

export interface Peer {
  node: string;
  incarnation: string;
  pid: number;
  host: string;
  startedAt: string;
  seq: number;
  lastSeen: number;
  actors: Set<string>;
  topics: string[];
}

export type PeerGone = (peer: Peer, why: 'timeout' | 'leaving' | 'replaced' | 'gone') => void;

export class Peers {
  private readonly byNode = new Map<string, Peer>();
  private readonly rr = new Map<string, number>();

  constructor(private readonly onGone: PeerGone) {}

  /** Applies an announcement; returns what changed for the caller's bookkeeping. */
  apply(a: NodeAnnouncement, now: number): { added: boolean; actorsChanged: boolean; topicsChanged: boolean } {
    const old = this.byNode.get(a.node);
    if (a.op === 'leaving') {
      if (old && old.incarnation === a.incarnation) {
        this.byNode.delete(a.node);
        this.onGone(old, 'leaving');
      }
      return { added: false, actorsChanged: !!old, topicsChanged: !!old };
    }
    if (old && old.incarnation === a.incarnation && a.seq <= old.seq) return { added: false, actorsChanged: false, topicsChanged: false }; // replayed or reordered
    if (old && old.incarnation !== a.incarnation) {
      // A restart of that node: what was in flight to the old one will never be answered.
      if (Date.parse(a.started_at) < Date.parse(old.startedAt)) return { added: false, actorsChanged: false, topicsChanged: false }; // a stale announcement of an older one
      this.byNode.delete(a.node);
      this.onGone(old, 'replaced');
    }
    const prev = this.byNode.get(a.node);
    const actors = new Set(a.actors);
    const actorsChanged = !prev || prev.actors.size !== actors.size || [...actors].some((p) => !prev.actors.has(p));
    const topicsChanged = !prev || prev.topics.join('\n') !== a.topics.join('\n');
    this.byNode.set(a.node, {
      node: a.node,
      incarnation: a.incarnation,
      pid: a.pid,
      host: a.host,
      startedAt: a.started_at,
      seq: a.seq,
      lastSeen: now,
      actors,
      topics: a.topics,
    });
    return { added: !prev, actorsChanged, topicsChanged };
  }

  /** Drops peers not heard from within `timeoutMs`; returns them. */
  expire(now: number, timeoutMs: number): Peer[] {
    const gone: Peer[] = [];
    for (const p of this.byNode.values()) {
      if (now - p.lastSeen > timeoutMs) {
        this.byNode.delete(p.node);
        gone.push(p);
        this.onGone(p, 'timeout');
      }
    }
    return gone;
  }

  /** A peer found gone by other means (nothing listens on its inbox): dropped as if it timed out. */
  drop(node: string): void {
    const p = this.byNode.get(node);
    if (!p) return;
    this.byNode.delete(node);
    this.onGone(p, 'gone');
  }

  get(node: string): Peer | undefined {
    return this.byNode.get(node);
  }

  all(): Peer[] {
    return [...this.byNode.values()];
  }

  /** A live peer that runs `path`, round robin among them (the same path on several processes shares the load). */
  pick(path: string): Peer | undefined {
    const hosts: Peer[] = [];
    for (const p of this.byNode.values()) if (p.actors.has(path)) hosts.push(p);
    if (hosts.length === 0) return undefined;
    const i = (this.rr.get(path) ?? 0) % hosts.length;
    this.rr.set(path, i + 1);
    return hosts[i];
  }

  /** A peer answered `unknown_actor` for a path it announced: stale; not chosen again until it re-announces it. */
  forget(node: string, path: string): void {
    this.byNode.get(node)?.actors.delete(path);
  }

  /** Every path some peer announces. */
  paths(): Set<string> {
    const out = new Set<string>();
    for (const p of this.byNode.values()) for (const a of p.actors) out.add(a);
    return out;
  }

  topics(): Set<string> {
    const out = new Set<string>();
    for (const p of this.byNode.values()) for (const t of p.topics) out.add(t);
    return out;
  }
}
