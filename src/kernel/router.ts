/**
 * The Router is the per-thread half of the actor system: every thread (the main thread and each
 * worker host) has one. It owns the actors hosted on its thread, the links to every other thread,
 * the directory (which thread hosts which path), pending asks, and topic subscriptions.
 *
 * Routing never goes through the main thread: a worker sends straight over the MessageChannel
 * that the kernel gave it for the target's thread.
 */
import { Kind, type Frame, type WireMessage, type WirePublish, type WireReply } from '../../protocol/wire.js';
import { ActorError, type AskOptions, type Handler, type MessageMeta } from './actor.js';
import { Link, type LinkOptions } from './link.js';
import { topicMatches } from './topics.js';
import { toActorError, type SerializedError } from './errors.js';
import type { MessageCheck } from './validation.js';

export interface DirectoryEntry {
  node: string;
  onCrash: 'redeliver' | 'fail';
  /** `stopped`: the supervisor gave up on it (or it was temporary); sends fail at once. */
  state: 'up' | 'down' | 'stopped';
}

export interface RouterOptions extends LinkOptions {
  overflow: 'wait' | 'fail';
  askTimeoutMs: number;
}

interface Pending {
  resolve: (v: any) => void;
  reject: (e: ActorError) => void;
  deadline: number;
  node: string;
  msg: WireMessage | null;
  /** Still waiting for mailbox credit: not handed to any link yet, so no incarnation has it. */
  waiting: boolean;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface LocalActor {
  path: string;
  handlers: Record<string, Handler>;
  /** Passed to each handler as its third argument. */
  ctx: unknown;
  concurrency: number;
  running: number;
  mailbox: Array<{ msg: WireMessage; link: Link | null }>;
  handled: number;
  stop?: () => unknown;
  /** Set under `kernel.validate: all`: requests and replies are checked against the actor's message map. */
  check?: MessageCheck;
  /** An on-demand actor not yet set up: called (once) by its first message. */
  wake?: () => void;
}

type Subscriber = (payload: any, topic: string) => void;

/**
 * Where a path that no thread of this process hosts may live: another process (the NATS transport
 * sets one on the main thread's router). `forward` returns false when it does not know the path;
 * `reply` is null for a tell.
 */
export interface RemoteRoute {
  forward(msg: WireMessage, reply: ((r: { p?: unknown; e?: SerializedError }) => void) | null): boolean;
}

/** Marks a subscriber that relays events to other processes: events that came from there skip it. */
export const RELAY = Symbol('rustyclaw.relay');

export class Router {
  readonly id: string;
  readonly opts: RouterOptions;
  readonly local = new Map<string, LocalActor>();
  readonly directory = new Map<string, DirectoryEntry>();
  readonly links = new Map<string, Link>();
  private readonly pending = new Map<number, Pending>();
  private nextAskId = 1;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** Topic pattern → nodes that subscribe to it (kept in sync by the kernel). */
  private readonly topicNodes = new Map<string, Set<string>>();
  private readonly subs = new Map<string, Set<Subscriber>>();
  /** Called when the first local subscriber for a pattern appears or the last one leaves. */
  onSubscriptionChange: (pattern: string, subscribed: boolean) => void = () => {};
  /** Called for tells that could not be delivered (dead letters). */
  onDeadLetter: (msg: WireMessage, reason: string) => void = () => {};
  onHandlerError: (actor: string, type: string, err: unknown) => void = () => {};
  /** Consulted only for a path with no local actor (main thread, with a multi-process transport). */
  remote: RemoteRoute | null = null;

  constructor(id: string, opts: RouterOptions) {
    this.id = id;
    this.opts = opts;
  }

  /** Posts every link's queued batch now instead of at the microtask checkpoint. */
  flushLinks(): void {
    for (const l of this.links.values()) l.flush();
  }

  // ---- links ---------------------------------------------------------------------------------

  link(peer: string): Link {
    let l = this.links.get(peer);
    if (!l) {
      const link = new Link(peer, this.opts, (lk, frame) => this.receive(lk, frame));
      link.onUnsendable = (item, reason) => {
        if (item.k !== Kind.Tell && item.k !== Kind.Ask) return;
        link.forget(item);
        if (item.k === Kind.Tell) return this.onDeadLetter(item, reason);
        const p = this.pending.get(item.id!);
        if (p) this.settle(item.id!, p, new ActorError('invalid_message', reason));
      };
      this.links.set(peer, link);
      l = link;
    }
    return l;
  }

  /**
   * A peer thread died. Asks it had started fail now (`actor_crashed` or `actor_stuck`); messages it
   * never started are kept for its successor or failed back, as each target actor declared. Asks
   * still waiting for credit are treated the same way: kept (they go to the successor once credit
   * frees) or failed — and a failed one is never sent afterwards (`sendWhenCredit` checks), so a
   * caller that saw an ask fail can retry it without running it twice.
   */
  peerDown(peer: string, code: 'actor_crashed' | 'actor_stuck' | 'actor_stopped', why: string): void {
    for (const e of this.directory.values()) if (e.node === peer && e.state === 'up') e.state = 'down';
    const link = this.links.get(peer);
    const unstarted = link ? link.detach() : [];
    const keep: WireMessage[] = [];
    const kept = new Set<WireMessage>();
    for (const m of unstarted) {
      const entry = this.directory.get(m.to);
      // Kept for the successor; if the actor is stopped for good, markStopped fails them later.
      if (entry?.onCrash === 'redeliver') {
        keep.push(m);
        kept.add(m);
      } else if (m.k === Kind.Tell) {
        this.onDeadLetter(m, code);
      }
    }
    if (link && keep.length > 0) link.requeue(keep);
    for (const [id, p] of this.pending) {
      if (p.node !== peer || (p.msg && kept.has(p.msg))) continue;
      if (p.waiting && p.msg && this.directory.get(p.msg.to)?.onCrash === 'redeliver') continue;
      this.settle(id, p, new ActorError(code, `${p.msg?.to ?? peer}: ${why}`));
    }
  }

  peerUp(peer: string, port: import('node:worker_threads').MessagePort, started: Int32Array, side: 0 | 1): void {
    this.link(peer).attach(port, started, side);
  }

  /** Paths whose supervisor gave up: fail what waits for them. */
  markStopped(paths: string[]): void {
    const set = new Set(paths);
    const nodes = new Set<string>();
    for (const p of paths) {
      const e = this.directory.get(p);
      if (e) {
        e.state = 'stopped';
        nodes.add(e.node);
      }
    }
    for (const [id, p] of this.pending) {
      if (p.msg && set.has(p.msg.to)) this.settle(id, p, new ActorError('actor_stopped', `${p.msg.to} is stopped`));
    }
    for (const n of nodes) {
      const link = this.links.get(n);
      if (!link || link.connected) continue;
      const left = link.detach().filter((m) => {
        if (!set.has(m.to)) return true;
        if (m.k === Kind.Tell) this.onDeadLetter(m, 'actor_stopped');
        return false;
      });
      link.requeue(left);
    }
  }

  // ---- sending -------------------------------------------------------------------------------

  private route(to: string): DirectoryEntry {
    const e = this.directory.get(to);
    if (!e) throw new ActorError('unknown_actor', `no actor at path '${to}'`);
    if (e.state === 'stopped') throw new ActorError('actor_stopped', `actor '${to}' is stopped`);
    return e;
  }

  tell(from: string, to: string, type: string, payload: unknown): void | Promise<void> {
    const e = this.route(to);
    const msg: WireMessage = { k: Kind.Tell, s: 0, to, from, ty: type, p: payload };
    if (e.node === this.id) {
      this.deliverLocal(msg, null);
      return;
    }
    const link = this.link(e.node);
    if (link.hasCredit()) {
      link.send(msg);
      return;
    }
    if (this.opts.overflow === 'fail') throw mailboxFull(to, this.opts.window);
    return this.sendWhenCredit(link, msg, null);
  }

  /**
   * Waits for credit, then sends. An ask whose caller was answered meanwhile (failed by a crash,
   * timed out, aborted) is dropped here: it must never run after its caller saw it fail.
   */
  private async sendWhenCredit(link: Link, msg: WireMessage, p: Pending | null): Promise<void> {
    while (!link.hasCredit()) {
      await link.waitCredit();
      if (p && this.pending.get(msg.id!) !== p) return;
    }
    if (p) p.waiting = false;
    link.send(msg);
  }

  ask<R>(from: string, to: string, type: string, payload: unknown, opts?: AskOptions): Promise<R> {
    let e: DirectoryEntry;
    try {
      e = this.route(to);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.nextAskId++;
    const msg: WireMessage = { k: Kind.Ask, s: 0, id, to, from, ty: type, p: payload };
    const timeout = opts?.timeoutMs ?? this.opts.askTimeoutMs;
    const deadline = Date.now() + timeout;
    msg.dl = deadline;
    return new Promise<R>((resolve, reject) => {
      const p: Pending = { resolve, reject, deadline, node: e.node, msg, waiting: false };
      if (opts?.signal) {
        if (opts.signal.aborted) return reject(new ActorError('timeout', `ask ${type} to ${to} aborted`));
        p.signal = opts.signal;
        p.onAbort = () => this.settle(id, p, new ActorError('timeout', `ask ${type} to ${to} aborted`));
        opts.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.set(id, p);
      this.armSweep();
      if (e.node === this.id) {
        this.deliverLocal(msg, null);
        return;
      }
      const link = this.link(e.node);
      if (link.hasCredit()) link.send(msg);
      else if (this.opts.overflow === 'fail') this.settle(id, p, mailboxFull(to, this.opts.window));
      else {
        p.waiting = true;
        void this.sendWhenCredit(link, msg, p);
      }
    });
  }

  private settle(id: number, p: Pending, err: ActorError | null, value?: unknown): void {
    if (!this.pending.delete(id)) return;
    if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
    if (err) {
      // A failed ask (aborted, timed out) still in the unposted batch is never dispatched.
      if (p.msg && p.node !== this.id) this.links.get(p.node)?.withdraw(p.msg);
      p.reject(err);
    } else p.resolve(value);
  }

  /** One coarse timer for all asks: cheaper than a timer per ask at 100k+ asks/s. */
  private armSweep(): void {
    if (this.sweepTimer) return;
    const tick = Math.max(5, Math.min(50, Math.floor(this.opts.askTimeoutMs / 10)));
    this.sweepTimer = setInterval(() => this.sweep(), tick);
    this.sweepTimer.unref();
  }

  private sweep(): void {
    if (this.pending.size === 0) {
      clearInterval(this.sweepTimer!);
      this.sweepTimer = null;
      return;
    }
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.deadline <= now) {
        const what = p.msg ? `ask ${p.msg.ty} to ${p.msg.to}` : 'ask';
        this.settle(id, p, new ActorError('timeout', `${what} timed out`));
      }
    }
  }

  /**
   * The caller `from` is gone (a closed endpoint connection): its asks fail now, and those still
   * waiting for credit are never sent. One pass instead of an abort listener per ask.
   */
  cancelFrom(from: string, code: string, message: string): void {
    for (const [id, p] of this.pending) if (p.msg?.from === from) this.settle(id, p, new ActorError(code, message));
  }

    failAllPending(code: string, message: string): void {
    for (const [id, p] of this.pending) this.settle(id, p, new ActorError(code, message));
  }

  // ---- topics --------------------------------------------------------------------------------

  subscribe(pattern: string, fn: Subscriber): () => void {
    let set = this.subs.get(pattern);
    const first = !set;
    // The first subscriber other than relays also counts as news (a transport announces interest).
    const firstOwn = !(fn as { [RELAY]?: boolean })[RELAY] && !this.hasOwnSubscriber(pattern);
    if (!set) {
      set = new Set();
      this.subs.set(pattern, set);
      this.matchCache.clear();
    }
    set.add(fn);
    if (first || firstOwn) this.onSubscriptionChange(pattern, true);
    return () => {
      const s = this.subs.get(pattern);
      if (!s || !s.delete(fn)) return;
      if (s.size > 0) {
        if (!(fn as { [RELAY]?: boolean })[RELAY] && !this.hasOwnSubscriber(pattern)) this.onSubscriptionChange(pattern, true);
        return;
      }
      this.subs.delete(pattern);
      this.matchCache.clear();
      this.onSubscriptionChange(pattern, false);
    };
  }

  /** True when `pattern` has a subscriber on this thread other than a relay to other processes. */
  hasOwnSubscriber(pattern: string): boolean {
    for (const fn of this.subs.get(pattern) ?? []) if (!(fn as { [RELAY]?: boolean })[RELAY]) return true;
    return false;
  }

  setTopicNodes(pattern: string, nodes: string[]): void {
    if (nodes.length === 0) this.topicNodes.delete(pattern);
    else this.topicNodes.set(pattern, new Set(nodes));
    this.nodesCache.clear();
  }

  /** Topic → the other threads that subscribe to it, each once; cleared by setTopicNodes (bounded). */
  private readonly nodesCache = new Map<string, string[]>();

  private nodesFor(topic: string): string[] {
    let out = this.nodesCache.get(topic);
    if (out === undefined) {
      const set = new Set<string>();
      for (const [pattern, nodes] of this.topicNodes) if (topicMatches(pattern, topic)) for (const n of nodes) if (n !== this.id) set.add(n);
      out = [...set];
      if (this.nodesCache.size >= 1024) this.nodesCache.clear();
      this.nodesCache.set(topic, out);
    }
    return out;
  }

  /** `fromRemote`: the event came from another process, so relays (RELAY subscribers) skip it. */
  publish(topic: string, payload: unknown, fromRemote = false): void {
    this.deliverPublish(topic, payload, fromRemote);
    for (const n of this.nodesFor(topic)) this.links.get(n)?.sendItem({ k: Kind.Publish, tp: topic, p: payload });
  }

  /** Topic → the subscriber sets whose pattern matches it; cleared when a pattern comes or goes (bounded). */
  private readonly matchCache = new Map<string, Array<[string, Set<Subscriber>]>>();

  private matching(topic: string): Array<[string, Set<Subscriber>]> {
    let m = this.matchCache.get(topic);
    if (m === undefined) {
      m = [];
      for (const [pattern, set] of this.subs) if (topicMatches(pattern, topic)) m.push([pattern, set]);
      if (this.matchCache.size >= 1024) this.matchCache.clear();
      this.matchCache.set(topic, m);
    }
    return m;
  }

  private deliverPublish(topic: string, payload: unknown, fromRemote = false): void {
    for (const [pattern, set] of this.matching(topic)) {
      for (const fn of set) {
        if (fromRemote && (fn as { [RELAY]?: boolean })[RELAY]) continue;
        if (this.deliveries.length === 0) queueMicrotask(this.runDeliveries);
        this.deliveries.push(fn, pattern, topic, payload);
      }
    }
  }

  /**
   * Subscribers run after `publish` returns, in order, from one microtask per burst: a
   * `queueMicrotask` per subscriber and event costs an AsyncResource each (the topic hot path).
   * Flat (fn, pattern, topic, payload) quadruples; what subscribers publish meanwhile runs here too.
   */
  private readonly deliveries: unknown[] = [];
  private readonly runDeliveries = (): void => {
    const q = this.deliveries;
    try {
      for (let i = 0; i < q.length; i += 4) {
        const topic = q[i + 2] as string;
        try {
          (q[i] as Subscriber)(q[i + 3], topic);
        } catch (err) {
          this.onHandlerError(`subscriber:${q[i + 1] as string}`, topic, err);
        }
      }
    } finally {
      q.length = 0;
    }
  };

  // ---- receiving -----------------------------------------------------------------------------

  private receive(link: Link, frame: Frame): void {
    if (!frame.m) return;
    for (const item of frame.m) {
      switch (item.k) {
        case Kind.Tell:
        case Kind.Ask:
          this.deliverLocal(item, link);
          break;
        case Kind.Reply:
          this.onReply(item);
          break;
        case Kind.Publish:
          this.deliverPublish((item as WirePublish).tp, item.p);
          break;
      }
    }
  }

  private onReply(r: WireReply): void {
    const p = this.pending.get(r.id);
    if (!p) return; // timed out or aborted already
    if (r.e) this.settle(r.id, p, ActorError.from(r.e));
    else this.settle(r.id, p, null, r.p);
  }

  /**
   * Reserve a local path whose actor is still in setup: messages for it wait in its mailbox
   * (unacknowledged, so they count against the senders' credit) until `activate`.
   */
  reserve(path: string, wake?: () => void): void {
    this.local.set(path, { path, handlers: {}, ctx: null, concurrency: 0, running: 0, mailbox: [], handled: 0, ...(wake ? { wake } : {}) });
  }

  /**
   * An on-demand actor's setup failed: what waits in its mailbox fails with `err` (never silently
   * dropped), and the next message wakes it again (a transient failure is not permanent).
   */
  failReserved(path: string, err: ActorError, wake: () => void): void {
    const actor = this.local.get(path);
    if (!actor) return;
    actor.wake = wake;
    for (const { msg, link } of actor.mailbox.splice(0)) {
      if (link) link.noteStarted(msg.s);
      this.replyError(msg, link, err);
    }
  }

  activate(path: string, a: Pick<LocalActor, 'handlers' | 'ctx' | 'concurrency' | 'stop' | 'check'>): void {
    const actor = this.local.get(path);
    if (!actor) throw new Error(`activate: '${path}' was not reserved`);
    Object.assign(actor, a);
    this.pump(actor);
  }

  private deliverLocal(msg: WireMessage, link: Link | null): void {
    const actor = this.local.get(msg.to);
    if (!actor) {
      if (link) link.noteStarted(msg.s);
      const reply = msg.k === Kind.Ask ? (r: { p?: unknown; e?: SerializedError }) => (r.e ? this.replyError(msg, link, ActorError.from(r.e)) : this.replyOk(msg, link, r.p)) : null;
      if (this.remote?.forward(msg, reply)) return;
      this.replyError(msg, link, new ActorError('unknown_actor', `no actor at path '${msg.to}' on ${this.id}`));
      return;
    }
    if (actor.wake) {
      const wake = actor.wake;
      actor.wake = undefined;
      wake();
    }
    if (link !== null && actor.mailbox.length === 0 && actor.running < actor.concurrency) {
      // Fast path: nothing queued ahead of it, run now without a trip through the mailbox.
      this.run(actor, msg, link);
      return;
    }
    actor.mailbox.push({ msg, link });
    if (link === null) queueMicrotask(() => this.pump(actor));
    else this.pump(actor);
  }

  private pump(actor: LocalActor): void {
    while (actor.running < actor.concurrency && actor.mailbox.length > 0) {
      const { msg, link } = actor.mailbox.shift()!;
      this.run(actor, msg, link);
    }
  }

  private run(actor: LocalActor, msg: WireMessage, link: Link | null): void {
    if (link) link.noteStarted(msg.s);
    // A same-thread ask whose caller already saw it fail (aborted while queued) never runs.
    else if (msg.k === Kind.Ask && !this.pending.has(msg.id!)) return;
    if (msg.dl && Date.now() >= msg.dl) {
      // Its caller has given up (or is giving up now): running it would execute an ask that was
      // reported as failed. The caller's own sweep reports the timeout; this reply is a fallback.
      this.replyError(msg, link, new ActorError('timeout', `ask ${msg.ty} to ${msg.to} reached its deadline before it started`));
      return;
    }
    const handler = actor.handlers[msg.ty];
    actor.handled++;
    if (!handler) {
      this.replyError(msg, link, new ActorError('unknown_type', `actor '${actor.path}' does not handle '${msg.ty}'`));
      return;
    }
    const invalid = actor.check?.request(msg.ty, msg.p);
    if (invalid) return this.replyError(msg, link, invalid);
    const meta: MessageMeta = { type: msg.ty, from: msg.from };
    if (msg.id !== undefined) meta.id = msg.id;
    const replyOk = actor.check && msg.k === Kind.Ask ? this.checkedReply(actor.check) : this.replyOk;
    let result: unknown;
    try {
      result = handler(msg.p, meta, actor.ctx);
    } catch (err) {
      this.replyError(msg, link, toActorError(err));
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      actor.running++;
      (result as Promise<unknown>).then(
        (v) => {
          actor.running--;
          replyOk.call(this, msg, link, v);
          if (actor.mailbox.length > 0) this.pump(actor);
        },
        (err) => {
          actor.running--;
          this.replyError(msg, link, toActorError(err));
          if (actor.mailbox.length > 0) this.pump(actor);
        },
      );
      return;
    }
    replyOk.call(this, msg, link, result);
  }

  /** A reply that violates its schema goes to the caller as `invalid_reply`; the actor keeps serving. */
  private checkedReply(check: MessageCheck): (msg: WireMessage, link: Link | null, value: unknown) => void {
    return (msg, link, value) => {
      const bad = check.reply(msg.ty, value);
      if (bad) this.replyError(msg, link, bad);
      else this.replyOk(msg, link, value);
    };
  }

  private replyOk(msg: WireMessage, link: Link | null, value: unknown): void {
    if (msg.k !== Kind.Ask) return;
    if (link) link.sendItem({ k: Kind.Reply, id: msg.id!, p: value });
    else this.onReply({ k: Kind.Reply, id: msg.id!, p: value });
  }

  private replyError(msg: WireMessage, link: Link | null, err: ActorError): void {
    if (msg.k !== Kind.Ask) {
      this.onHandlerError(msg.to, msg.ty, err);
      return;
    }
    const e = err.toJSON();
    if (link) link.sendItem({ k: Kind.Reply, id: msg.id!, e });
    else queueMicrotask(() => this.onReply({ k: Kind.Reply, id: msg.id!, e }));
  }
}

function mailboxFull(to: string, window: number): ActorError {
  return new ActorError('mailbox_full', `mailbox of '${to}' is full (${window} messages waiting)`, { capacity: window });
}

/** The kernel-level error mapping lives in errors.ts; re-exported for existing importers. */
export { toActorError };
