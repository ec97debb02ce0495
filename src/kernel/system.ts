/**
 * The ActorSystem: the kernel in the main thread. It builds the supervision tree, starts worker
 * hosts, wires a direct MessageChannel between every pair of threads, keeps the directory and the
 * topic table in sync, and turns thread crashes into `down` notices so callers fail fast.
 */
import { MessageChannel } from 'node:worker_threads';
import path from 'node:path';
import type { Logger } from 'pino';
import { ActorError, type AskOptions, type Handler } from './actor.js';
import { Router, type DirectoryEntry, type RemoteRoute, type RouterOptions } from './router.js';
import type { ClusterReply } from '../../protocol/kernel.js';
import { hostname } from 'node:os';
import { HostProcess, type ExitReason, type HostEnv } from './host-process.js';
import { Supervisor, type Child, type RestartType, type SupervisorHooks } from './supervisor.js';
import { defaultTree, type SupervisorNode, type TreeNode, type WorkerNode } from './tree.js';
import { deferredLogger } from './deferred-log.js';
import { levelName } from './worker-log.js';
import { actorStore, closeEnv } from './store.js';
import { loadConfig, userActorNames, validateConfig, type RootConfig } from '../config/load.js';
import { DEFAULT_YOUNG_GENERATION_MB } from '../config/kernel-schema.js';
import type { BuiltinMessages } from '../../protocol/index.js';
import type { AskArgs, ReplyOf, RequestOf, TellArgs } from '../../protocol/define.js';
import { validateMode } from './validate-mode.js';
import type { MessageCheck } from './validation.js';
import type { ControlFromHost } from './control.js';
import { LivenessMonitor } from './liveness.js';

export const MAIN_NODE = 'main';
export const KERNEL_PATH = 'kernel';

export interface ActorStatus {
  path: string;
  thread: string;
  thread_id: number | null;
  state: string;
  restarts: number;
  mailbox: number;
  handled: number;
}

export interface SystemStatus {
  uptime_ms: number;
  ready_ms: number;
  pid: number;
  placement: string;
  threads: number;
  rss_mb: number;
  actors: ActorStatus[];
  supervisors: Array<{ id: string; state: string; restarts: number }>;
}

export interface StartOptions {
  /** A validated config, or a raw object (validated and defaulted here). */
  config?: RootConfig | Record<string, unknown>;
  /** Load the config from this YAML file instead. */
  configFile?: string;
  /** Explicit tree (tests, embedders); default: built from config. */
  tree?: SupervisorNode;
  logger?: Logger;
}

class WorkerChild implements Child {
  readonly id: string;
  readonly restart: RestartType;
  readonly host: HostProcess;
  state = 'idle';
  restarts = 0;
  private stopping = false;
  /** A singleton under a cluster lease: its thread runs only while this process holds the lease. */
  standby: { held: boolean } | null = null;
  onExit: (reason: ExitReason, detail: string, counted: boolean) => void = () => {};

  constructor(host: HostProcess, restart: RestartType) {
    this.id = host.spec.id;
    this.host = host;
    this.restart = restart;
    host.onExit = (reason, detail, counted) => {
      this.state = reason === 'normal' ? 'stopped' : 'restarting';
      if (!this.stopping) this.onExit(reason, detail, counted);
    };
  }

  async start(): Promise<void> {
    if (this.standby && !this.standby.held) {
      this.state = 'standby';
      return;
    }
    this.state = 'starting';
    await this.host.start();
    this.state = 'running';
  }

  async stop(): Promise<void> {
    this.stopping = true;
    try {
      await this.host.stop();
    } finally {
      this.stopping = false;
      this.state = 'stopped';
    }
  }

  paths(): string[] {
    return this.host.spec.actors.map((a) => a.path);
  }
}

export class ActorSystem {
  readonly config: RootConfig;
  readonly log: Logger;
  readonly router: Router;
  readonly root: Supervisor;
  readonly liveness: LivenessMonitor;
  private readonly hosts = new Map<string, HostProcess>();
  private readonly workers = new Map<string, WorkerChild>();
  private readonly supervisors: Supervisor[] = [];
  private readonly topicNodes = new Map<string, Set<string>>();
  private readonly startedAt = performance.now();
  readyMs = 0;
  private stopped = false;
  /** Under `validate: all`, the check of main-thread actors; set by start() (the schema compiler loads only then). */
  private localCheck: MessageCheck | undefined;
  /** Paths served by other processes (set by a multi-process transport), routed through this thread. */
  private readonly remotePaths = new Set<string>();
  /** Called when the set of topic patterns subscribed in this process changes (a transport relays them). */
  onTopicsChanged: () => void = () => {};
  /** What `kernel.cluster` answers; a multi-process transport replaces it. */
  clusterInfo: () => ClusterReply = () => ({
    transport: 'local',
    cluster: '',
    node: MAIN_NODE,
    connected: true,
    server: '',
    nodes: [{ node: MAIN_NODE, pid: process.pid, host: hostname(), self: true, started_at: new Date(Date.now() - (performance.now() - this.startedAt)).toISOString(), last_seen_ms: 0, actors: [...this.router.directory.keys()].filter((p) => !this.remotePaths.has(p)) }],
  });
  /** What `kernel.stop` does; the service replaces it to close its endpoint and exit. */
  onStopRequest: () => unknown = () => this.stop();
  /** Restart durations (crash to serving again), for the bench and status. */
  readonly restartLog: Array<{ child: string; reason: ExitReason; ms: number; backoff_ms: number; at: number }> = [];
  /** Every end of a thread incarnation other than a planned stop (status, the bench's stuck counts). */
  readonly downLog: Array<{ thread: string; reason: ExitReason; at: number }> = [];

  constructor(config: RootConfig, tree: SupervisorNode, log: Logger) {
    this.config = config;
    this.log = log;
    const k = config.kernel;
    this.liveness = new LivenessMonitor({ intervalMs: k.liveness.interval_ms, log });
    this.router = new Router(MAIN_NODE, routerOptions(k));
    this.router.onSubscriptionChange = (pattern, on) => this.subscriptionChanged(MAIN_NODE, pattern, on);
    this.router.onDeadLetter = (m, reason) => log.warn({ to: m.to, type: m.ty, reason }, 'dead letter: tell could not be delivered');
    this.router.onHandlerError = (actor, type, err) => log.error({ actor, type, err }, 'handler failed on a tell');
    const hooks: SupervisorHooks = {
      log,
      onStopped: (paths, why) => this.pathsStopped(paths, why),
      onRestart: (child, reason, ms, backoffMs) => this.restartLog.push({ child, reason, ms, backoff_ms: backoffMs, at: Date.now() }),
    };
    this.root = this.build(tree, hooks, true) as Supervisor;
    this.addLocalActor(KERNEL_PATH, {
      'kernel.status': () => this.status(),
      'kernel.ping': () => ({ pong: true, pid: process.pid }),
      'kernel.cluster': () => this.clusterInfo(),
      'kernel.stop': () => {
        setImmediate(() => void this.onStopRequest());
        return { stopping: true };
      },
    });
  }

  private build(node: TreeNode, hooks: SupervisorHooks, isRoot = false): Child {
    const k = this.config.kernel;
    if (node.kind === 'supervisor') {
      const sup = new Supervisor(
        node.id,
        {
          strategy: node.strategy ?? 'one_for_one',
          intensity: node.intensity ?? k.supervisor.intensity,
          periodMs: node.periodMs ?? k.supervisor.period_ms,
          backoffInitialMs: node.backoffInitialMs ?? k.supervisor.backoff_initial_ms,
          backoffMaxMs: node.backoffMaxMs ?? k.supervisor.backoff_max_ms,
          backoffResetMs: k.supervisor.backoff_reset_ms,
        },
        node.restart ?? 'permanent',
        hooks,
        isRoot,
      );
      this.supervisors.push(sup);
      for (const c of node.children) sup.add(this.build(c, hooks));
      return sup;
    }
    return this.buildWorker(node);
  }

  private buildWorker(node: WorkerNode): Child {
    const k = this.config.kernel;
    if (this.hosts.has(node.id)) throw new Error(`duplicate thread id '${node.id}' in the supervision tree`);
    const host = new HostProcess(
      {
        id: node.id,
        actors: node.actors,
        memoryLimitMb: node.memoryLimitMb ?? k.memory_limit_mb,
        ...youngGeneration(k, node.youngGenerationMb),
        livenessIntervalMs: k.liveness.interval_ms,
        livenessDeadlineMs: node.livenessDeadlineMs ?? k.liveness.deadline_ms,
        setupGraceMs: k.liveness.setup_grace_ms,
        shutdownMs: node.shutdownMs ?? k.shutdown_timeout_ms,
        startTimeoutMs: k.boot_timeout_ms,
      },
      this.hostEnv(),
    );
    this.hosts.set(node.id, host);
    for (const a of node.actors) {
      if (this.router.directory.has(a.path)) throw new Error(`duplicate actor path '${a.path}'`);
      this.router.directory.set(a.path, { node: node.id, onCrash: 'fail', state: 'down' });
    }
    const child = new WorkerChild(host, node.restart ?? 'permanent');
    this.workers.set(node.id, child);
    return child;
  }

  private hostEnv(): HostEnv {
    const k = this.config.kernel;
    return {
      dataDir: this.config.data_dir,
      rootConfig: this.config,
      routerOpts: routerOptions(k),
      logLevel: this.config.log.level,
      log: this.log,
      liveness: this.liveness,
      onSpawn: (host) => this.hostSpawned(host),
      onReady: (host, actors) => this.hostReady(host, actors),
      onDown: (host, reason, detail) => this.hostDown(host, reason, detail),
      onControl: (host, msg) => this.hostControl(host, msg),
    };
  }

  // ---- mesh ------------------------------------------------------------------------------------

  /**
   * A new incarnation exists: it learns the directory and topic table, and gets a direct channel to
   * every other live thread at once, so its actors can talk to others during their setup.
   */
  private hostSpawned(host: HostProcess): void {
    const id = host.spec.id;
    host.post({ t: 'dir', entries: [...this.router.directory] });
    for (const [pattern, nodes] of this.topicNodes) host.post({ t: 'topic', pattern, nodes: [...nodes] });
    for (const other of this.hosts.values()) {
      if (other === host || !other.alive) continue;
      const ch = new MessageChannel();
      const started = sharedStarted();
      other.post({ t: 'link', peer: id, port: ch.port1, started, side: 0 }, [ch.port1]);
      host.post({ t: 'link', peer: other.spec.id, port: ch.port2, started, side: 1 }, [ch.port2]);
    }
    const ch = new MessageChannel();
    const started = sharedStarted();
    host.post({ t: 'link', peer: MAIN_NODE, port: ch.port2, started, side: 1 }, [ch.port2]);
    this.router.peerUp(id, ch.port1, started, 0);
  }

  private hostReady(host: HostProcess, actors: Array<{ path: string; onCrash: 'redeliver' | 'fail' }>): void {
    const entries: Array<[string, DirectoryEntry]> = actors.map((a) => [a.path, { node: host.spec.id, onCrash: a.onCrash, state: 'up' }]);
    for (const [p, e] of entries) this.router.directory.set(p, e);
    for (const other of this.hosts.values()) if (other.alive) other.post({ t: 'dir', entries });
    this.log.debug({ thread: host.spec.id, ready_ms: Math.round(host.readyMs) }, 'thread ready');
  }

  private hostDown(host: HostProcess, reason: ExitReason, detail: string): void {
    const id = host.spec.id;
    const code = reason === 'stuck' ? 'actor_stuck' : reason === 'normal' ? 'actor_stopped' : 'actor_crashed';
    const paths = host.spec.actors.map((a) => a.path).join(', ');
    if (reason !== 'normal') this.downLog.push({ thread: id, reason, at: Date.now() });
    if (reason === 'oom') {
      this.log.error({ thread: id, actors: paths, memory_limit_mb: host.spec.memoryLimitMb }, 'actor exceeded its memory limit; terminated, its supervisor restarts it');
    } else if (reason === 'stuck') {
      this.log.error({ thread: id, actors: paths, deadline_ms: host.spec.livenessDeadlineMs }, 'actor missed its liveness deadline; terminated');
    } else if (reason === 'crash') {
      this.log.error({ thread: id, actors: paths, detail }, 'actor crashed');
    } else {
      this.log.debug({ thread: id, actors: paths, detail }, 'thread ended');
    }
    const why =
      reason === 'stuck' ? 'actor was stuck and has been restarted'
      : reason === 'oom' ? 'actor ran out of memory'
      : reason === 'normal' ? `actor stopped (${detail})`
      : `actor crashed (${detail})`;
    for (const other of this.hosts.values()) {
      if (other !== host && other.alive) other.post({ t: 'down', peer: id, code, why });
    }
    this.router.peerDown(id, code, why);
    for (const [pattern, nodes] of this.topicNodes) {
      if (nodes.delete(id)) this.broadcastTopic(pattern);
    }
  }

  private pathsStopped(paths: string[], why: string): void {
    if (paths.length === 0) return;
    this.log.error({ actors: paths, why }, 'actors stopped for good');
    this.router.markStopped(paths);
    for (const h of this.hosts.values()) if (h.alive) h.post({ t: 'stopped', paths });
  }

  private hostControl(host: HostProcess, msg: ControlFromHost): void {
    if (msg.t === 'sub') this.subscriptionChanged(host.spec.id, msg.pattern, msg.on);
    else if (msg.t === 'log') this.log[levelName(msg.rec.level)](msg.rec.obj, msg.rec.msg);
    else if (msg.t === 'setup' && msg.actors) this.actorsStarted(host, msg.actors);
  }

  /** An on-demand actor finished its setup: its own `onCrash` is now known to every router. */
  private actorsStarted(host: HostProcess, actors: Array<{ path: string; onCrash: 'redeliver' | 'fail' }>): void {
    const entries: Array<[string, DirectoryEntry]> = actors.map((a) => [a.path, { node: host.spec.id, onCrash: a.onCrash, state: 'up' }]);
    for (const [p, e] of entries) this.router.directory.set(p, e);
    for (const other of this.hosts.values()) if (other.alive) other.post({ t: 'dir', entries });
  }

  private subscriptionChanged(node: string, pattern: string, on: boolean): void {
    let set = this.topicNodes.get(pattern);
    if (!set) {
      if (!on) return;
      set = new Set();
      this.topicNodes.set(pattern, set);
    }
    if (on) set.add(node);
    else set.delete(node);
    this.broadcastTopic(pattern);
  }

  private broadcastTopic(pattern: string): void {
    const nodes = [...(this.topicNodes.get(pattern) ?? [])];
    if (nodes.length === 0) this.topicNodes.delete(pattern);
    this.router.setTopicNodes(pattern, nodes);
    for (const h of this.hosts.values()) if (h.alive) h.post({ t: 'topic', pattern, nodes });
    this.onTopicsChanged();
  }

  // ---- other processes (the routing hook a multi-process transport uses) -----------------------

  /** Messages for paths no thread here hosts go to `route` (from any thread, through this one). */
  setRemoteRoute(route: RemoteRoute | null): void {
    this.router.remote = route;
  }

  /** True when a thread of this process (or the main thread) hosts `path`: such messages never leave. */
  isLocalPath(p: string): boolean {
    if (this.router.local.has(p)) return true;
    const e = this.router.directory.get(p);
    return e !== undefined && !this.remotePaths.has(p);
  }

  /**
   * Singletons of a cluster (before `start`): the threads hosting `paths` wait in standby, their
   * paths routed to the process that holds the lease, until `leaseAcquired`.
   */
  holdForLease(paths: string[]): void {
    for (const w of this.workers.values()) {
      if (!w.paths().some((p) => paths.includes(p))) continue;
      w.standby = { held: false };
      this.routeAway(w.paths());
    }
  }

  /** Paths whose threads are in standby here (waiting for their lease). */
  standbyPaths(): string[] {
    return [...this.workers.values()].filter((w) => w.standby && !w.standby.held).flatMap((w) => w.paths());
  }

  private routeAway(paths: string[]): void {
    const entries: Array<[string, DirectoryEntry]> = [];
    for (const p of paths) {
      this.remotePaths.add(p);
      const e: DirectoryEntry = { node: MAIN_NODE, onCrash: 'fail', state: 'up' };
      this.router.directory.set(p, e);
      entries.push([p, e]);
    }
    for (const h of this.hosts.values()) if (h.alive) h.post({ t: 'dir', entries });
  }

  /** This process now holds the lease of `path`: its thread starts here (and its messages stay here). */
  async leaseAcquired(path: string): Promise<void> {
    const w = [...this.workers.values()].find((x) => x.standby && x.paths().includes(path));
    if (!w || w.standby!.held || this.stopped) return;
    w.standby!.held = true;
    for (const p of w.paths()) this.remotePaths.delete(p);
    for (const p of w.paths()) this.router.directory.set(p, { node: w.id, onCrash: 'fail', state: 'down' });
    this.log.info({ actors: w.paths() }, `lease acquired: ${w.paths().join(', ')} now runs in this process`);
    await w.start();
  }

  /** The lease of `path` went to another process: the thread here stops; its path is routed there. */
  async leaseLost(path: string): Promise<void> {
    const w = [...this.workers.values()].find((x) => x.standby && x.paths().includes(path));
    if (!w || !w.standby!.held) return;
    w.standby!.held = false;
    this.log.warn({ actors: w.paths() }, `lease lost: ${w.paths().join(', ')} stops in this process`);
    await w.stop();
    w.state = 'standby';
    this.routeAway(w.paths());
  }

  /** Paths that other processes announced: every thread learns to route them through the main thread. */
  addRemotePaths(paths: string[]): void {
    const entries: Array<[string, DirectoryEntry]> = [];
    for (const p of paths) {
      if (this.remotePaths.has(p) || this.isLocalPath(p)) continue;
      this.remotePaths.add(p);
      const e: DirectoryEntry = { node: MAIN_NODE, onCrash: 'fail', state: 'up' };
      this.router.directory.set(p, e);
      entries.push([p, e]);
    }
    if (entries.length) for (const h of this.hosts.values()) if (h.alive) h.post({ t: 'dir', entries });
  }

  /** Topic patterns that something in this process subscribes to (relays to other processes excluded). */
  topicInterest(): string[] {
    const out: string[] = [];
    for (const [pattern, nodes] of this.topicNodes) {
      if ([...nodes].some((n) => n !== MAIN_NODE) || this.router.hasOwnSubscriber(pattern)) out.push(pattern);
    }
    return out;
  }

  // ---- public API ------------------------------------------------------------------------------

  /**
   * Starts the tree. Always finishes: ready, or a `boot_timeout` error naming the threads it was
   * still waiting for after `kernel.boot_timeout_ms` (the tree is stopped then: never half-started).
   */
  async start(): Promise<void> {
    if (validateMode(this.config) === 'all' && !this.localCheck) {
      const [{ messageCheck }, { messageSchemas }] = await Promise.all([import('./validation.js'), import('../../protocol/index.js')]);
      this.localCheck = messageCheck(messageSchemas);
      for (const a of this.router.local.values()) a.check ??= this.localCheck;
    }
    const limit = this.config.kernel.boot_timeout_ms;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), limit);
    });
    try {
      const r = await Promise.race([this.root.start().then(() => 'ready' as const), timedOut]);
      if (r === 'timeout') {
        const waiting = [...this.workers.values()].filter((w) => w.state !== 'running' && w.state !== 'stopped' && w.state !== 'failed');
        const what = waiting.map((w) => `${w.id} (${w.state}, ${w.restarts} restarts)`).join(', ') || 'the supervisors';
        this.log.error({ boot_timeout_ms: limit, waiting: what }, 'boot did not finish; stopping');
        await this.stop().catch(() => {});
        throw new ActorError('boot_timeout', `the actor tree did not become ready within kernel.boot_timeout_ms (${limit} ms); still waiting for: ${what}`);
      }
    } finally {
      clearTimeout(timer);
    }
    this.readyMs = performance.now() - this.startedAt;
    this.liveness.starting = false;
  }

  /** Register an actor that runs on the main thread (the kernel's own, or an embedder's). */
  addLocalActor(path: string, handlers: Record<string, Handler>): void {
    const ctx = {
      path,
      config: {},
      rootConfig: this.config,
      dataDir: this.config.data_dir,
      log: this.log.child({ actor: path }),
      get store() {
        return actorStore(ctxDataDir, path);
      },
      tell: (to: string, type: string, payload?: unknown) => this.router.tell(path, to, type, payload) as void,
      ask: <R>(to: string, type: string, payload?: unknown, opts?: AskOptions) => this.router.ask<R>(path, to, type, payload, opts),
      askDynamic: (to: string, type: string, payload: unknown, opts?: AskOptions) => this.router.ask(path, to, type, payload, opts),
      flush: () => this.router.flushLinks(),
      publish: (topic: string, payload: unknown) => this.router.publish(topic, payload),
      subscribe: (topic: string, fn: (p: any, t: string) => void) => this.router.subscribe(topic, fn),
    };
    const ctxDataDir = this.config.data_dir;
    this.router.local.set(path, { path, handlers, ctx, concurrency: Infinity, running: 0, mailbox: [], handled: 0, check: this.localCheck });
    const entry: DirectoryEntry = { node: MAIN_NODE, onCrash: 'fail', state: 'up' };
    this.router.directory.set(path, entry);
    // Threads already running learn the new address at once (later ones get it at spawn).
    for (const h of this.hosts.values()) if (h.alive) h.post({ t: 'dir', entries: [[path, entry]] });
  }

  /** A built-in message type is typed from its schema; any other (a user actor's) takes `unknown`. */
  tell<K extends keyof BuiltinMessages & string>(to: string, type: K, ...args: TellArgs<RequestOf<BuiltinMessages, K>>): void | Promise<void>;
  tell(to: string, type: string, payload?: unknown): void | Promise<void>;
  tell(to: string, type: string, payload?: unknown): void | Promise<void> {
    return this.router.tell('external', to, type, payload);
  }

  /**
   * Ask an actor. A built-in message type is typed from its schema (payload and reply); a user
   * actor's types are given with `ask<Reply>(…)`, or come from its own map through `typedAsk`.
   */
  ask<K extends keyof BuiltinMessages & string>(to: string, type: K, ...args: AskArgs<RequestOf<BuiltinMessages, K>>): Promise<ReplyOf<BuiltinMessages, K>>;
  ask<R = unknown>(to: string, type: string, payload?: unknown, opts?: AskOptions): Promise<R>;
  ask<R = unknown>(to: string, type: string, payload?: unknown, opts?: AskOptions): Promise<R> {
    if (this.stopped) return Promise.reject(new ActorError('shutting_down', 'the actor system is stopped'));
    return this.router.ask<R>('external', to, type, payload, opts);
  }

  publish(topic: string, payload: unknown): void {
    this.router.publish(topic, payload);
  }

  subscribe(topic: string, fn: (payload: any, topic: string) => void): () => void {
    return this.router.subscribe(topic, fn);
  }

  /** The thread currently hosting `path` (tests use it to crash or inspect a thread). */
  threadOf(path: string): HostProcess | undefined {
    const e = this.router.directory.get(path);
    return e ? this.hosts.get(e.node) : undefined;
  }

  /** Resolves when `path` is up again (after a restart), or rejects after `timeoutMs`. */
  async waitUp(path: string, timeoutMs = 5000): Promise<void> {
    const t0 = Date.now();
    while (this.router.directory.get(path)?.state !== 'up' || !this.router.links.get(this.router.directory.get(path)!.node)?.connected) {
      if (Date.now() - t0 > timeoutMs) throw new ActorError('timeout', `${path} did not come up within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async status(): Promise<SystemStatus> {
    const actors: ActorStatus[] = [];
    for (const [id, host] of this.hosts) {
      const child = this.workers.get(id)!;
      const stats = await host.stats();
      for (const a of host.spec.actors) {
        const s = stats?.actors.find((x) => x.path === a.path);
        const dir = this.router.directory.get(a.path);
        actors.push({
          path: a.path,
          thread: id,
          thread_id: host.threadId ?? null,
          state: dir?.state === 'stopped' ? 'stopped' : host.state === 'running' ? (s?.dormant ? 'on_demand' : 'running') : child.state,
          restarts: child.restarts,
          mailbox: s?.mailbox ?? 0,
          handled: s?.handled ?? 0,
        });
      }
    }
    const running = [...this.hosts.values()].filter((h) => h.state === 'running').length;
    return {
      uptime_ms: Math.round(performance.now() - this.startedAt),
      ready_ms: Math.round(this.readyMs),
      pid: process.pid,
      placement: this.config.kernel.placement,
      threads: running,
      rss_mb: Math.round(process.memoryUsage.rss() / 1048576),
      actors,
      supervisors: this.supervisors.map((s) => ({ id: s.id, state: s.state, restarts: s.restarts })),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.root.stop();
    await Promise.all([...this.hosts.values()].map((h) => h.terminated()));
    this.liveness.stop();
    this.router.failAllPending('shutting_down', 'the actor system is stopping');
    for (const l of this.router.links.values()) l.detach();
    await closeEnv();
    await new Promise<void>((resolve) => this.log.flush(() => resolve()));
  }
}

function sharedStarted(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

/** Load config, build the tree and start it. */
export async function startSystem(opts: StartOptions = {}): Promise<ActorSystem> {
  let config: RootConfig;
  if (opts.configFile) config = loadConfig({ file: opts.configFile });
  else if (opts.config) {
    config = validateConfig(opts.config as Record<string, unknown>);
    config.data_dir = path.resolve(config.data_dir);
  }
  else config = loadConfig();
  // Only user actors need the loader (it imports every protocol schema): none, nothing to load.
  if (userActorNames(config).length > 0) await (await import('../config/user-actors.js')).prepareUserActors(config);
  const deferred = opts.logger ? null : deferredLogger(config.log.level, config.log.file);
  const log = opts.logger ?? deferred!;
  const tree = opts.tree ?? defaultTree(config, (m) => log.warn(m));
  const sys = new ActorSystem(config, tree, log);
  try {
    await sys.start();
  } finally {
    void deferred?.load();
  }
  return sys;
}

/**
 * A small young generation per thread in every placement (dedicated service with the model loaded:
 * 332 → 314 MB RSS; the ask bench showed no loss within this machine's noise).
 */
function youngGeneration(k: RootConfig['kernel'], own?: number): { youngGenerationMb?: number } {
  const mb = own ?? k.young_generation_mb ?? DEFAULT_YOUNG_GENERATION_MB;
  return mb ? { youngGenerationMb: mb } : {};
}


/** The links' and routers' options, alike on every thread. */
function routerOptions(k: RootConfig['kernel']): RouterOptions {
  return { window: k.mailbox.capacity, batchMax: k.batch_max, askBatchMax: Math.min(k.ask_batch_max, k.batch_max), overflow: k.mailbox.overflow, askTimeoutMs: k.ask_timeout_ms };
}
