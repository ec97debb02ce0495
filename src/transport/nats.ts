/**
 * The kernel on NATS (docs/nats.md). Each process announces its actors and the topics it wants on
 * `rustyclaw.<cluster>._nodes`; a path no thread here hosts goes, through the main thread's router,
 * to a process that announced it (round robin when several do); the same path also answers on
 * `rustyclaw.<cluster>.<path>` in queue group `q` for programs with a stock NATS client, with the
 * WebSocket endpoint's JSON envelope. Messages between local actors never touch NATS.
 *
 * Failures stay typed: a process that stops announcing fails what was in flight to it with
 * `actor_crashed`; every remote ask carries its deadline; a lost connection is a log line, a
 * reconnect with backoff, and `bus_unreachable` for sends meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Kind, type WireMessage } from '../../protocol/wire.js';
import { AskRequest, TellRequest, type ExternalResponse } from '../../protocol/envelope.js';
import { NodeAnnouncement, NodeRequest } from '../../protocol/nats.js';
import type { ClusterReply } from '../../protocol/kernel.js';
import { ActorError, type SerializedError } from '../kernel/errors.js';
import { RELAY, type RemoteRoute } from '../kernel/router.js';
import type { ActorSystem } from '../kernel/system.js';
import type { Transport } from './transport.js';
import type { NatsConfig } from './nats/config.js';
import { Backoff, connectNats } from './nats/connect.js';
import { Peers, type Peer } from './nats/peers.js';
import { Subjects, coverOf } from './nats/subjects.js';
import { infoResponse, pingResponse, serviceErrorCode, statsResponse, type EndpointStats, type ServiceIdentity } from './nats/service-api.js';
import { firstError, payloadCheck } from './websocket.js';
import { Leases } from './nats/lease.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const announcementCheck = TypeCompiler.Compile(NodeAnnouncement);
const askCheck = TypeCompiler.Compile(AskRequest);
const tellCheck = TypeCompiler.Compile(TellRequest);
const nodeAskCheck = TypeCompiler.Compile(NodeRequest.anyOf[0]);
const nodeTellCheck = TypeCompiler.Compile(NodeRequest.anyOf[1]);
/** NATS subjects that no other of the set covers (`a.>` covers `a.b`), so no event arrives twice. */
function subjectCover(subjects: Iterable<string>): string[] {
  const all = [...new Set(subjects)];
  return all.filter((s) => !all.some((t) => t !== s && t.endsWith('.>') && s.startsWith(t.slice(0, -1))));
}

interface InFlight {
  to: string;
  fail: (e: SerializedError) => void;
}

export interface NatsTransportOptions {
  config: NatsConfig;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

export class NatsTransport implements Transport, RemoteRoute {
  readonly name = 'nats';
  readonly node: string;
  readonly cluster: string;
  private readonly cfg: NatsConfig;
  private readonly log: Logger;
  private readonly env: NodeJS.ProcessEnv;
  private readonly subjects: Subjects;
  private readonly incarnation = randomUUID().replace(/-/g, '');
  private readonly startedAt = new Date().toISOString();
  private readonly peers: Peers;
  private readonly backoff: Backoff;
  private nc: NatsConnection | null = null;
  private sys: ActorSystem | null = null;
  private connected = false;
  private stopping = false;
  private seq = 0;
  private nextFlight = 1;
  private readonly inflight = new Map<string, Map<number, InFlight>>();
  /** Paths other processes ever announced: only those are forwarded (anything else is unknown here). */
  private readonly remotePaths = new Set<string>();
  private readonly relays = new Map<string, () => void>();
  private readonly topicSubs = new Map<string, Subscription>();
  private readonly subs: Subscription[] = [];
  private readonly actorSubjects: Array<{ path: string; subject: string }> = [];
  private readonly actorSubs = new Map<string, Subscription>();
  private leases: Leases | null = null;
  private readonly stats = new Map<string, EndpointStats>();
  private timer: NodeJS.Timeout | null = null;
  private announceSoon: NodeJS.Timeout | null = null;
  private readonly warnedDuplicate = new Set<string>();
  private inboundBusy = 0;

  constructor(opts: NatsTransportOptions) {
    this.cfg = opts.config;
    this.env = opts.env ?? process.env;
    this.node = opts.config.node || `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`;
    this.cluster = opts.config.cluster;
    this.log = opts.log.child({ component: 'nats', node: this.node, cluster: this.cluster });
    this.subjects = new Subjects(this.cluster);
    this.backoff = new Backoff(this.cfg.reconnect_initial_ms, this.cfg.reconnect_max_ms);
    this.peers = new Peers((peer, why) => this.peerGone(peer, why));
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  async start(sys: ActorSystem): Promise<{ url: string }> {
    this.sys = sys;
    const nc = await connectNats(this.cfg, `rustyclaw ${this.cluster}/${this.node} pid ${process.pid}`, this.backoff, this.env);
    this.nc = nc;
    this.connected = true;
    void this.watchStatus(nc);
    void nc.closed().then((err) => {
      this.connected = false;
      if (!this.stopping) this.log.error({ err: err?.message }, 'the NATS connection closed for good; remote actors are unreachable until restart');
    });
    const sub = (subject: string, cb: (m: Msg) => void, queue?: string) => {
      this.subs.push(nc.subscribe(subject, { ...(queue ? { queue } : {}), callback: (err, m) => (err ? this.log.warn({ subject, err: err.message }, 'subscription error') : cb(m)) }));
    };
    sub(this.subjects.nodes, (m) => this.onAnnouncement(m));
    sub(this.subjects.nodeInbox(this.node), (m) => this.onRequest(m, 'node', null));
    for (const path of this.localPaths()) this.expose(path);
    const svc = this.serviceIdentity().name;
    for (const verb of ['PING', 'INFO', 'STATS']) {
      for (const s of [`$SRV.${verb}`, `$SRV.${verb}.${svc}`, `$SRV.${verb}.${svc}.${this.incarnation}`]) sub(s, (m) => this.onDiscovery(m, verb));
    }
    sys.setRemoteRoute(this);
    sys.onTopicsChanged = () => this.scheduleAnnounce();
    sys.clusterInfo = () => this.clusterInfo();
    this.syncRelays();
    this.syncTopicSubs();
    this.announce(true);
    await nc.flush();
    // Give the others one round trip to answer the hello, so the first remote ask finds them.
    await new Promise((r) => setTimeout(r, Math.min(300, this.cfg.heartbeat_ms)));
    this.timer = setInterval(() => this.tick(), this.cfg.heartbeat_ms);
    this.timer.unref();
    const singles = sys.standbyPaths();
    if (singles.length) {
      this.leases = new Leases(nc, `rustyclaw_${this.cluster}_leases`, this.cfg.lease_ttl_ms, `${this.node} pid ${process.pid}`, singles, {
        acquired: async (p) => {
          await sys.leaseAcquired(p);
          this.expose(p);
          this.announce();
        },
        lost: async (p) => {
          this.hide(p);
          this.announce();
          await sys.leaseLost(p);
        },
      }, this.log);
      try {
        await this.leases.open();
        // The first process of a cluster is ready with its singletons running.
        await this.leases.settled();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, `singleton leases unavailable (JetStream KV: ${(err as Error).message}); ${singles.join(', ')} stay in standby here`);
      }
    }
    this.log.info({ server: nc.getServer(), actors: this.actorSubjects.length, peers: this.peers.all().length }, 'joined the NATS cluster');
    return { url: `nats://${nc.getServer()}` };
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.announceSoon) clearTimeout(this.announceSoon);
    const nc = this.nc;
    if (!nc) return;
    this.sys?.setRemoteRoute(null);
    await this.leases?.close().catch(() => {});
    for (const off of this.relays.values()) off();
    this.relays.clear();
    try {
      if (!nc.isClosed()) {
        nc.publish(this.subjects.nodes, JSON.stringify(this.announcement('leaving')));
        for (const s of this.subs) s.unsubscribe();
        for (const s of this.actorSubs.values()) s.unsubscribe();
        for (const s of this.topicSubs.values()) s.unsubscribe();
        // Requests already taken get their replies before the connection goes (bounded wait).
        const t0 = Date.now();
        while (this.inboundBusy > 0 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
        await Promise.race([nc.drain(), new Promise((r) => setTimeout(r, 2000))]);
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'closing the NATS connection');
    }
    await nc.close().catch(() => {});
    for (const [node, flights] of this.inflight) {
      for (const f of flights.values()) f.fail({ code: 'shutting_down', message: `${f.to} on node ${node}: this process is stopping` });
    }
    this.inflight.clear();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          this.connected = false;
          if (!this.stopping) this.log.warn({ server: s.server }, `lost the NATS connection to ${s.server}; reconnecting with backoff (sends to other processes fail with bus_unreachable meanwhile)`);
          break;
        case 'reconnect':
          this.connected = true;
          this.backoff.reset();
          this.log.info({ server: s.server }, `reconnected to NATS at ${s.server}`);
          this.announce(true);
          break;
        case 'error':
          this.log.error({ err: s.error.message }, `NATS error: ${s.error.message}`);
          break;
        default:
          break;
      }
    }
  }

  // ---- announcements ---------------------------------------------------------------------------

  /** Serve `path` on its subject (queue group `q`) and announce it. */
  private expose(path: string): void {
    const nc = this.nc;
    if (!nc || this.actorSubs.has(path)) return;
    const subject = this.subjects.actor(path);
    this.actorSubjects.push({ path, subject });
    if (!this.stats.has(path)) this.stats.set(path, { num_requests: 0, num_errors: 0, last_error: '', processing_time_ns: 0 });
    this.actorSubs.set(path, nc.subscribe(subject, { queue: 'q', callback: (err, m) => (err ? this.log.warn({ subject, err: err.message }, 'subscription error') : this.onRequest(m, 'actor', path)) }));
  }

  private hide(path: string): void {
    this.actorSubs.get(path)?.unsubscribe();
    this.actorSubs.delete(path);
    const i = this.actorSubjects.findIndex((a) => a.path === path);
    if (i >= 0) this.actorSubjects.splice(i, 1);
  }

  private localPaths(): string[] {
    const sys = this.sys!;
    const out = new Set<string>([...sys.router.local.keys()]);
    for (const p of sys.router.directory.keys()) if (sys.isLocalPath(p)) out.add(p);
    return [...out].filter((p) => !p.split('/')[0]!.startsWith('_')).sort();
  }

  private announcement(op: 'node' | 'leaving', hello = false): NodeAnnouncement {
    return {
      v: 1,
      op,
      node: this.node,
      incarnation: this.incarnation,
      pid: process.pid,
      host: hostname(),
      started_at: this.startedAt,
      seq: ++this.seq,
      ...(hello ? { hello: true } : {}),
      actors: this.actorSubjects.map((a) => a.path),
      topics: this.sys!.topicInterest(),
    };
  }

  private announce(hello = false): void {
    const nc = this.nc;
    if (!nc || nc.isClosed() || this.stopping) return;
    try {
      nc.publish(this.subjects.nodes, JSON.stringify(this.announcement('node', hello)));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not announce this process');
    }
  }

  /** Deferred: the router adds a first subscriber only after telling the kernel its pattern is new. */
  private scheduleAnnounce(): void {
    if (this.announceSoon) return;
    this.announceSoon = setTimeout(() => {
      this.announceSoon = null;
      this.syncTopicSubs();
      this.announce();
    }, 5);
    this.announceSoon.unref();
  }

  private tick(): void {
    this.announce();
    const gone = this.peers.expire(Date.now(), this.cfg.node_timeout_ms);
    if (gone.length) this.syncRelays();
  }

  private onAnnouncement(m: Msg): void {
    const subject = m.subject;
    if (m.data.length > this.cfg.max_payload_bytes) return void this.log.warn({ subject, bytes: m.data.length }, `${subject}: announcement over nats.max_payload_bytes; ignored`);
    let a: unknown;
    try {
      a = JSON.parse(dec.decode(m.data));
    } catch (err) {
      return void this.log.warn({ subject }, `${subject}: announcement is not valid JSON (${(err as Error).message}); ignored`);
    }
    if (!announcementCheck.Check(a)) return void this.log.warn({ subject }, `${subject}: malformed announcement (${firstError(announcementCheck, a, 'announcement')}); ignored`);
    if (a.node === this.node) {
      if (a.incarnation !== this.incarnation && !this.warnedDuplicate.has(a.incarnation)) {
        this.warnedDuplicate.add(a.incarnation);
        this.log.error({ subject, other_pid: a.pid, other_host: a.host }, `${subject}: another process (pid ${a.pid} on ${a.host}) announces this node's name '${this.node}'; node names must be unique in cluster '${this.cluster}' (its announcements are ignored)`);
      }
      return;
    }
    const ch = this.peers.apply(a, Date.now());
    if (ch.added) this.log.info({ peer: a.node, pid: a.pid, actors: a.actors.length }, `node ${a.node} joined (pid ${a.pid} on ${a.host})`);
    if (ch.actorsChanged) {
      const paths = [...this.peers.paths()];
      for (const p of paths) this.remotePaths.add(p);
      this.sys!.addRemotePaths(paths);
    }
    if (ch.topicsChanged) this.syncRelays();
    if (a.hello && a.op === 'node') {
      // Answer a newcomer soon, spread a little so a big cluster does not answer in one burst.
      setTimeout(() => this.announce(), Math.floor(Math.random() * 20)).unref();
    }
  }

  private peerGone(peer: Peer, why: 'timeout' | 'leaving' | 'replaced' | 'gone'): void {
    if (why === 'leaving') this.log.info({ peer: peer.node }, `node ${peer.node} left the cluster`);
    else this.log.warn({ peer: peer.node, pid: peer.pid, why }, why === 'timeout' ? `node ${peer.node} (pid ${peer.pid}) stopped announcing for ${this.cfg.node_timeout_ms} ms; what was in flight to it fails with actor_crashed` : why === 'gone' ? `node ${peer.node} (pid ${peer.pid}) is gone (nothing listens on its inbox); what was in flight to it fails with actor_crashed` : `node ${peer.node} restarted (pid ${peer.pid} is gone); what was in flight to it fails with actor_crashed`);
    const flights = this.inflight.get(peer.node);
    if (!flights) return;
    const fail = () => {
      const now = this.inflight.get(peer.node);
      if (!now) return;
      this.inflight.delete(peer.node);
      const code = why === 'leaving' ? 'actor_stopped' : 'actor_crashed';
      const what = why === 'leaving' ? 'stopped' : why === 'gone' ? 'is gone (nothing listens on its inbox)' : why === 'timeout' ? `stopped answering (no announcement for ${this.cfg.node_timeout_ms} ms)` : 'restarted';
      for (const f of now.values()) f.fail({ code, message: `${f.to} on node ${peer.node} (pid ${peer.pid}): the process ${what}` });
    };
    // A process that leaves answers what it took before it goes; give it that long.
    if (why === 'leaving') setTimeout(fail, this.cfg.node_timeout_ms).unref();
    else fail();
  }

  private clusterInfo(): ClusterReply {
    const now = Date.now();
    return {
      transport: 'nats',
      cluster: this.cluster,
      node: this.node,
      connected: this.connected,
      server: this.connected && this.nc ? this.nc.getServer() : '',
      nodes: [
        { node: this.node, pid: process.pid, host: hostname(), self: true, started_at: this.startedAt, last_seen_ms: 0, actors: this.actorSubjects.map((a) => a.path) },
        ...this.peers
          .all()
          .sort((a, b) => a.node.localeCompare(b.node))
          .map((p) => ({ node: p.node, pid: p.pid, host: p.host, self: false, started_at: p.startedAt, last_seen_ms: now - p.lastSeen, actors: [...p.actors].sort() })),
      ],
    };
  }

  // ---- topics ----------------------------------------------------------------------------------

  /** Relay to NATS the topics other processes want (and `nats.export_topics`), each event once. */
  private syncRelays(): void {
    const sys = this.sys;
    if (!sys || this.stopping) return;
    const want = new Set(coverOf([...this.peers.topics(), ...this.cfg.export_topics]));
    for (const [p, off] of this.relays) {
      if (!want.has(p)) {
        off();
        this.relays.delete(p);
      }
    }
    this.log.debug({ relays: [...want] }, 'topics relayed to other processes');
    for (const p of want) {
      if (this.relays.has(p)) continue;
      const relay = Object.assign((payload: unknown, topic: string) => this.relay(topic, payload), { [RELAY]: true });
      this.relays.set(p, sys.router.subscribe(p, relay));
    }
  }

  private relay(topic: string, payload: unknown): void {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    let body: string;
    try {
      body = JSON.stringify({ v: 1, op: 'event', topic, payload });
    } catch (err) {
      return void this.log.warn({ topic, err: (err as Error).message }, `event on ${topic} cannot be sent to other processes (not JSON)`);
    }
    try {
      nc.publish(this.subjects.topic(topic), body);
    } catch (err) {
      this.log.warn({ topic, err: (err as Error).message }, `event on ${topic} not sent to other processes`);
    }
  }

  /** Subscribe on NATS to what this process's subscribers want from others. */
  private syncTopicSubs(): void {
    const nc = this.nc;
    if (!nc || !this.sys || this.stopping) return;
    const want = new Set(subjectCover(coverOf(this.sys.topicInterest()).map((p) => this.subjects.topicPattern(p))));
    for (const [s, sub] of this.topicSubs) {
      if (!want.has(s)) {
        sub.unsubscribe();
        this.topicSubs.delete(s);
      }
    }
    this.log.debug({ subjects: [...want] }, 'topic subjects subscribed on NATS');
    for (const s of want) {
      if (this.topicSubs.has(s)) continue;
      this.topicSubs.set(s, nc.subscribe(s, { callback: (err, m) => (err ? this.log.warn({ subject: s, err: err.message }, 'subscription error') : this.onEvent(m)) }));
    }
  }

  private onEvent(m: Msg): void {
    const subject = m.subject;
    if (m.data.length > this.cfg.max_payload_bytes) return void this.log.warn({ subject, bytes: m.data.length }, `${subject}: event over nats.max_payload_bytes; dropped`);
    let e: { v?: unknown; op?: unknown; topic?: unknown; payload?: unknown };
    try {
      e = JSON.parse(dec.decode(m.data)) as typeof e;
    } catch (err) {
      return void this.log.warn({ subject }, `${subject}: event is not valid JSON (${(err as Error).message}); dropped`);
    }
    if (typeof e !== 'object' || e === null || e.v !== 1 || e.op !== 'event' || typeof e.topic !== 'string') {
      return void this.log.warn({ subject }, `${subject}: expected {"v":1,"op":"event","topic":…,"payload":…}; dropped`);
    }
    if (this.subjects.topic(e.topic) !== subject) return void this.log.warn({ subject, topic: e.topic }, `${subject}: event topic '${e.topic.slice(0, 100)}' does not match its subject; dropped`);
    this.sys!.router.publish(e.topic, e.payload ?? null, true);
  }

  // ---- sending to other processes (RemoteRoute) ------------------------------------------------

  forward(msg: WireMessage, reply: ((r: { p?: unknown; e?: SerializedError }) => void) | null, retry = true): boolean {
    if (!this.remotePaths.has(msg.to)) return false;
    const fail = (code: string, message: string) => {
      if (reply) reply({ e: { code, message } });
      else this.log.warn({ to: msg.to, type: msg.ty, code }, `dead letter: ${message}`);
    };
    const peer = this.peers.pick(msg.to);
    if (!peer) {
      fail('unknown_actor', `no process of cluster '${this.cluster}' runs '${msg.to}' now`);
      return true;
    }
    const nc = this.nc;
    if (!nc || !this.connected || nc.isClosed()) {
      fail('bus_unreachable', `${msg.to} on node ${peer.node}: NATS is unreachable (${this.cfg.servers.join(', ')}); reconnecting`);
      return true;
    }
    const ask = msg.k === Kind.Ask && reply !== null;
    const timeoutMs = ask ? Math.max(1, (msg.dl ?? Date.now() + 30_000) - Date.now()) : undefined;
    let body: Uint8Array;
    try {
      const env = ask
        ? { v: 1, op: 'ask', id: msg.id!, to: msg.to, type: msg.ty, payload: msg.p ?? {}, timeout_ms: Math.min(3_600_000, timeoutMs!), node: this.node, from: msg.from }
        : { v: 1, op: 'tell', to: msg.to, type: msg.ty, payload: msg.p ?? {}, node: this.node, from: msg.from };
      body = enc.encode(JSON.stringify(env));
    } catch (err) {
      fail('invalid_message', `${msg.ty} to ${msg.to}: the payload cannot be sent to another process as JSON (${(err as Error).message})`);
      return true;
    }
    const inbox = this.subjects.nodeInbox(peer.node);
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
        if (r.e?.code === 'unknown_actor') this.peers.forget(peer.node, msg.to);
        settle(r);
      },
      (err: Error) => {
        const e = this.requestError(err, msg, peer);
        if (e.code === 'actor_crashed' && retry && !done) {
          // Nothing listened on its inbox, so the ask was never delivered: the process is gone.
          // Another process that runs the path may take it (running it once, not twice).
          done = true;
          this.inflight.get(peer.node)?.delete(key);
          this.peers.drop(peer.node);
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
    if (!this.connected) return { code: 'bus_unreachable', message: `${msg.to} on node ${peer.node}: NATS connection lost (${this.cfg.servers.join(', ')})` };
    return { code: 'handler_error', message: `${msg.to} on node ${peer.node}: ${err.message}` };
  }

  // ---- receiving from NATS ---------------------------------------------------------------------

  private onRequest(m: Msg, kind: 'node' | 'actor', path: string | null): void {
    const subject = m.subject;
    const sys = this.sys!;
    let stats = path ? this.stats.get(path) : undefined;
    let id = 0;
    const respond = (body: object, code?: string, message?: string) => {
      if (!m.reply) return;
      try {
        let h;
        if (code) {
          h = natsHeaders();
          h.set('Nats-Service-Error', (message ?? code).replace(/[\r\n]+/g, ' ').slice(0, 1000));
          h.set('Nats-Service-Error-Code', serviceErrorCode(code));
        }
        m.respond(JSON.stringify(body), h ? { headers: h } : undefined);
      } catch (err) {
        this.log.warn({ subject, err: (err as Error).message }, `${subject}: could not send the reply`);
      }
    };
    const fail = (code: string, message: string) => {
      if (stats) {
        stats.num_errors++;
        stats.last_error = `${code}: ${message}`.slice(0, 500);
      }
      if (m.reply) respond({ v: 1, op: 'reply', id, ok: false, error: { code, message } }, code, message);
      else this.log.warn({ subject, code }, message);
    };
    if (stats) stats.num_requests++;
    if (m.data.length > this.cfg.max_payload_bytes) return fail('payload_too_large', `${subject}: message of ${m.data.length} bytes is over nats.max_payload_bytes (${this.cfg.max_payload_bytes})`);
    let req: unknown;
    try {
      req = JSON.parse(dec.decode(m.data));
    } catch (err) {
      return fail('invalid_message', `${subject}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof (req as { id?: unknown })?.id === 'number') id = (req as { id: number }).id;
    const op = (req as { op?: unknown } | null)?.op;
    if (typeof req !== 'object' || req === null || Array.isArray(req)) return fail('invalid_message', `${subject}: expected a JSON object`);
    if ((req as { v?: unknown }).v !== 1) return fail('invalid_message', `${subject}: v: expected protocol version 1, got ${JSON.stringify((req as { v?: unknown }).v)}`);
    if (op !== 'ask' && op !== 'tell') return fail('invalid_message', `${subject}: op: expected ask or tell, got ${JSON.stringify(op)?.slice(0, 40)}`);
    const check = kind === 'node' ? (op === 'ask' ? nodeAskCheck : nodeTellCheck) : op === 'ask' ? askCheck : tellCheck;
    if (!check.Check(req)) return fail('invalid_message', `${subject}: ${firstError(check, req, 'frame')}`);
    const r = req as { op: 'ask' | 'tell'; to: string; type: string; payload?: unknown; timeout_ms?: number; node?: string; from?: string };
    if (kind === 'node') {
      stats = this.stats.get(r.to);
      if (stats) stats.num_requests++;
      if (!this.peers.get(r.node!)) return fail('unauthorized', `${subject}: sender node '${r.node}' is not a member of cluster '${this.cluster}' (no announcement from it)`);
    } else if (r.to !== path) {
      return fail('invalid_message', `${subject}: frame.to '${r.to}' does not match the subject's path '${path}'`);
    }
    if (!sys.isLocalPath(r.to)) return fail('unknown_actor', `${subject}: no actor at path '${r.to}' on node ${this.node}`);
    const payload = r.payload ?? {};
    const pc = payloadCheck(r.type);
    if (pc && !pc.Check(payload)) return fail('invalid_message', `${subject}: ${r.type}: ${firstError(pc, payload, 'payload')}`);
    const from = kind === 'node' ? `${r.from}` : 'external/nats';
    if (r.op === 'tell') {
      try {
        const w = sys.router.tell(from, r.to, r.type, payload);
        if (w) w.catch((err: ActorError) => this.log.warn({ subject, code: err.code }, `${subject}: tell not delivered: ${err.message}`));
      } catch (err) {
        fail((err as ActorError).code ?? 'handler_error', `${subject}: ${(err as Error).message}`);
      }
      return;
    }
    if (!m.reply) return fail('invalid_message', `${subject}: an ask needs a reply subject (use request, not publish)`);
    const t0 = process.hrtime.bigint();
    this.inboundBusy++;
    sys.router.ask(from, r.to, r.type, payload, r.timeout_ms ? { timeoutMs: r.timeout_ms } : undefined).then(
      (p) => {
        this.inboundBusy--;
        if (stats) stats.processing_time_ns += Number(process.hrtime.bigint() - t0);
        let body: string;
        try {
          body = JSON.stringify({ v: 1, op: 'reply', id, ok: true, payload: p });
        } catch (err) {
          return fail('invalid_reply', `${subject}: ${r.type}: the reply is not JSON (${(err as Error).message})`);
        }
        if (!m.reply) return;
        try {
          m.respond(body);
        } catch (err) {
          this.log.warn({ subject, err: (err as Error).message }, `${subject}: could not send the reply`);
        }
      },
      (err: ActorError) => {
        this.inboundBusy--;
        if (stats) stats.processing_time_ns += Number(process.hrtime.bigint() - t0);
        fail(err.code ?? 'handler_error', err.message);
      },
    );
  }

  // ---- discovery (ADR-32) ----------------------------------------------------------------------

  private serviceIdentity(): ServiceIdentity {
    return {
      name: `rustyclaw-${this.cluster}`,
      id: this.incarnation,
      version: '1.0.0',
      metadata: { cluster: this.cluster, node: this.node, pid: String(process.pid), host: hostname(), protocol: '1' },
    };
  }

  private onDiscovery(m: Msg, verb: string): void {
    if (!m.reply) return;
    const id = this.serviceIdentity();
    const body =
      verb === 'PING'
        ? pingResponse(id)
        : verb === 'INFO'
          ? infoResponse(id, this.actorSubjects)
          : statsResponse(id, this.startedAt, this.actorSubjects.map((a) => ({ ...a, stats: this.stats.get(a.path)! })));
    try {
      m.respond(JSON.stringify(body));
    } catch (err) {
      this.log.warn({ subject: m.subject, err: (err as Error).message }, `${m.subject}: could not answer discovery`);
    }
  }
}
