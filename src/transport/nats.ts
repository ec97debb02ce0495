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
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { WireMessage } from '../../protocol/wire.js';
import { NodeAnnouncement } from '../../protocol/nats.js';
import type { ClusterReply } from '../../protocol/kernel.js';
import type { SerializedError } from '../kernel/errors.js';
import type { RemoteRoute } from '../kernel/router.js';
import type { ActorSystem } from '../kernel/system.js';
import type { Transport } from './transport.js';
import type { NatsConfig } from './nats/config.js';
import { Backoff, connectNats } from './nats/connect.js';
import { Peers, type Peer } from './nats/peers.js';
import { Subjects } from './nats/subjects.js';
import { infoResponse, pingResponse, statsResponse, type ServiceIdentity } from './nats/service-api.js';
import { firstError } from './websocket.js';
import { Leases } from './nats/lease.js';
import type { NatsLink } from './nats/link.js';
import { RemoteAsks, type PeerGoneWhy } from './nats/remote-asks.js';
import { InboundRequests } from './nats/inbound.js';
import { TopicBridge } from './nats/topic-bridge.js';

const dec = new TextDecoder();
const announcementCheck = TypeCompiler.Compile(NodeAnnouncement);

export interface NatsTransportOptions {
  config: NatsConfig;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

export class NatsTransport implements Transport, RemoteRoute, NatsLink {
  readonly name = 'nats';
  readonly node: string;
  readonly cluster: string;
  readonly cfg: NatsConfig;
  readonly log: Logger;
  private readonly env: NodeJS.ProcessEnv;
  readonly subjects: Subjects;
  private readonly incarnation = randomUUID().replace(/-/g, '');
  private readonly startedAt = new Date().toISOString();
  readonly peers: Peers;
  private readonly backoff: Backoff;
  private nc: NatsConnection | null = null;
  private sys: ActorSystem | null = null;
  private connected = false;
  private stopping = false;
  private seq = 0;
  private readonly remote = new RemoteAsks(this);
  private readonly inbound = new InboundRequests(this);
  private readonly topics = new TopicBridge(this);
  private readonly subs: Subscription[] = [];
  private readonly actorSubjects: Array<{ path: string; subject: string }> = [];
  private readonly actorSubs = new Map<string, Subscription>();
  private leases: Leases | null = null;
  private timer: NodeJS.Timeout | null = null;
  private announceSoon: NodeJS.Timeout | null = null;
  private readonly warnedDuplicate = new Set<string>();

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

  conn(): NatsConnection | null {
    return this.nc;
  }
  isConnected(): boolean {
    return this.connected;
  }
  isStopping(): boolean {
    return this.stopping;
  }
  system(): ActorSystem {
    return this.sys!;
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
    sub(this.subjects.nodeInbox(this.node), (m) => this.inbound.handle(m, 'node', null));
    for (const path of this.localPaths()) this.expose(path);
    const svc = this.serviceIdentity().name;
    for (const verb of ['PING', 'INFO', 'STATS']) {
      for (const s of [`$SRV.${verb}`, `$SRV.${verb}.${svc}`, `$SRV.${verb}.${svc}.${this.incarnation}`]) sub(s, (m) => this.onDiscovery(m, verb));
    }
    sys.setRemoteRoute(this);
    sys.onTopicsChanged = () => this.scheduleAnnounce();
    sys.clusterInfo = () => this.clusterInfo();
    this.topics.syncRelays();
    this.topics.syncTopicSubs();
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
    this.topics.stopRelays();
    try {
      if (!nc.isClosed()) {
        nc.publish(this.subjects.nodes, JSON.stringify(this.announcement('leaving')));
        for (const s of this.subs) s.unsubscribe();
        for (const s of this.actorSubs.values()) s.unsubscribe();
        this.topics.unsubscribe();
        // Requests already taken get their replies before the connection goes (bounded wait).
        const t0 = Date.now();
        while (this.inbound.busy > 0 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
        await Promise.race([nc.drain(), new Promise((r) => setTimeout(r, 2000))]);
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'closing the NATS connection');
    }
    await nc.close().catch(() => {});
    this.remote.failAll();
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
    this.inbound.track(path);
    this.actorSubs.set(path, nc.subscribe(subject, { queue: 'q', callback: (err, m) => (err ? this.log.warn({ subject, err: err.message }, 'subscription error') : this.inbound.handle(m, 'actor', path)) }));
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
      this.topics.syncTopicSubs();
      this.announce();
    }, 5);
    this.announceSoon.unref();
  }

  private tick(): void {
    this.announce();
    const gone = this.peers.expire(Date.now(), this.cfg.node_timeout_ms);
    if (gone.length) this.topics.syncRelays();
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
      for (const p of paths) this.remote.remotePaths.add(p);
      this.sys!.addRemotePaths(paths);
    }
    if (ch.topicsChanged) this.topics.syncRelays();
    if (a.hello && a.op === 'node') {
      // Answer a newcomer soon, spread a little so a big cluster does not answer in one burst.
      setTimeout(() => this.announce(), Math.floor(Math.random() * 20)).unref();
    }
  }

  private peerGone(peer: Peer, why: PeerGoneWhy): void {
    if (why === 'leaving') this.log.info({ peer: peer.node }, `node ${peer.node} left the cluster`);
    else this.log.warn({ peer: peer.node, pid: peer.pid, why }, why === 'timeout' ? `node ${peer.node} (pid ${peer.pid}) stopped announcing for ${this.cfg.node_timeout_ms} ms; what was in flight to it fails with actor_crashed` : why === 'gone' ? `node ${peer.node} (pid ${peer.pid}) is gone (nothing listens on its inbox); what was in flight to it fails with actor_crashed` : `node ${peer.node} restarted (pid ${peer.pid} is gone); what was in flight to it fails with actor_crashed`);
    this.remote.failPeer(peer, why);
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

  // ---- sending to other processes (RemoteRoute) ------------------------------------------------

  forward(msg: WireMessage, reply: ((r: { p?: unknown; e?: SerializedError }) => void) | null): boolean {
    return this.remote.forward(msg, reply);
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
          : statsResponse(id, this.startedAt, this.actorSubjects.map((a) => ({ ...a, stats: this.inbound.stats.get(a.path)! })));
    try {
      m.respond(JSON.stringify(body));
    } catch (err) {
      this.log.warn({ subject: m.subject, err: (err as Error).message }, `${m.subject}: could not answer discovery`);
    }
  }
}
