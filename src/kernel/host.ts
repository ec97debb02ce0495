/**
 * Worker-thread entry point. A host runs one actor (dedicated placement) or several light actors
 * (shared placement) and a Router that talks to every other thread over direct MessageChannels.
 * The parent port carries only control traffic: init, links, liveness pings, shutdown.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readlinkSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { ActorError, isActorDefinition } from './actor.js';
import { validateMode } from './validate-mode.js';
import { installBlockingFlag } from './blocking.js';
import type { MessageCheck } from './validation.js';
import { Router, type DirectoryEntry, type RouterOptions } from './router.js';
import { forwardingLogger } from './worker-log.js';
import { actorStore, closeEnv } from './store.js';
import type { ControlToHost, HostActorSpec } from './control.js';
import type { AskOptions } from '../../protocol/define.js';

const port = parentPort!;

interface InitData {
  node: string;
  actors: HostActorSpec[];
  dataDir: string;
  rootConfig: Record<string, any>;
  routerOpts: RouterOptions;
  logLevel: string;
  /** Liveness: slot 0 is bumped every `beatMs` by this thread's event loop, slot 1 is its OS thread id. */
  beat: Int32Array;
  beatMs: number;
}

const init = workerData as InitData;
// The beat runs from a timer: a thread stuck in a loop cannot run it, a busy-but-yielding one can.
// Shared memory, not a reply message: the kernel reads it even when its own event loop is behind.
try {
  Atomics.store(init.beat, 1, Number(readlinkSync('/proc/thread-self').split('/').pop()));
} catch {
  // Not Linux: the kernel judges without per-thread CPU time.
}
setInterval(() => Atomics.add(init.beat, 0, 1), init.beatMs).unref();
installBlockingFlag((on) => Atomics.store(init.beat, 2, on ? 1 : 0));
const log = forwardingLogger(init.logLevel, { thread: init.node }, (rec) => port.postMessage({ t: 'log', rec }));
const router = new Router(init.node, init.routerOpts);
router.onSubscriptionChange = (pattern, on) => port.postMessage({ t: 'sub', pattern, on });
router.onDeadLetter = (m, reason) => log.warn({ to: m.to, type: m.ty, reason }, 'dead letter: tell could not be delivered');
router.onHandlerError = (actor, type, err) => log.error({ actor, type, err }, 'handler failed on a tell');

const checkAll = validateMode(init.rootConfig as { kernel: { validate?: string } }) === 'all';

function moduleUrl(mod: string): string {
  if (mod.startsWith('file:')) return mod;
  if (path.isAbsolute(mod)) return pathToFileURL(mod).href;
  return new URL(`../../actors/${mod}/index.js`, import.meta.url).href;
}

async function startActor(spec: HostActorSpec): Promise<'redeliver' | 'fail'> {
  const def: unknown = (await import(moduleUrl(spec.module))).default;
  if (!isActorDefinition(def)) throw new Error(`module '${spec.module}' does not default-export defineActor({...})`);
  let topicChecker: ((topic: string, payload: unknown) => Error | null) | undefined;
  if (checkAll) {
    const [{ topicCheck }, { topicSchemas }] = await Promise.all([import('./validation.js'), import('../../protocol/index.js')]);
    topicChecker = topicCheck({ ...topicSchemas, ...def.topics });
  }
  const from = spec.path;
  const ctx = {
    path: spec.path,
    config: spec.config ?? {},
    rootConfig: init.rootConfig,
    dataDir: init.dataDir,
    threadmates: init.actors.map((a) => a.path).filter((p) => p !== spec.path),
    log: log.child({ actor: spec.path }),
    // Opened on first use: most actors never touch the store, and opening lmdb costs start-up time.
    get store() {
      const store = actorStore(init.dataDir, spec.path);
      Object.defineProperty(this, 'store', { value: store });
      return store;
    },
    tell: (to: string, type: string, payload?: unknown) => router.tell(from, to, type, payload) as void,
    ask: (to: string, type: string, payload?: unknown, opts?: AskOptions) => router.ask(from, to, type, payload, opts),
    askDynamic: (to: string, type: string, payload: unknown, opts?: AskOptions) => router.ask(from, to, type, payload, opts),
    flush: () => router.flushLinks(),
    publish: (topic: string, payload: unknown) => {
      // Under `validate: all` a payload that drifted from its topic's schema fails the publisher.
      const bad = topicChecker?.(topic, payload);
      if (bad) throw bad;
      router.publish(topic, payload);
    },
    subscribe: (topic: string, fn: (payload: unknown, topic: string) => void) => router.subscribe(topic, fn),
  };
  const inst = await def.setup(ctx);
  if (!inst || typeof inst.handlers !== 'object') throw new Error(`setup() of '${spec.module}' must return { handlers }`);
  if (def.messages) {
    // The map and the handlers are one contract: neither may name a type the other lacks.
    const missing = Object.keys(def.messages).filter((t) => typeof inst.handlers[t] !== 'function');
    const extra = Object.keys(inst.handlers).filter((t) => !Object.hasOwn(def.messages!, t));
    if (missing.length || extra.length) {
      throw new Error(`actor '${spec.path}' (${spec.module}): ${missing.length ? `no handler for ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `handlers without a message in its map: ${extra.join(', ')}` : ''}`);
    }
  }
  // Loaded only under `validate: all`, so a thread's start-up does not pay for the schema compiler.
  let check: MessageCheck | undefined;
  if (checkAll) {
    const { messageCheck } = await import('./validation.js');
    check = messageCheck(def.messages ?? (await import('../../protocol/index.js')).messageSchemas);
  }
  const activate = () => router.activate(spec.path, { handlers: inst.handlers, ctx, concurrency: spec.concurrency ?? def.concurrency ?? Infinity, stop: inst.stop, check });
  if (inst.ready) activateWhenReady(spec, inst.ready, activate);
  else activate();
  return spec.onCrash ?? def.onCrash ?? 'fail';
}

/** `ready` promises of actors set up but not yet serving (see ActorInstance.ready); a stop waits for them. */
const settling = new Set<Promise<void>>();

function activateWhenReady(spec: HostActorSpec, ready: Promise<unknown>, activate: () => void): void {
  const p: Promise<void> = ready
    .then(activate, (err: Error) => {
      log.error({ actor: spec.path, err }, 'actor did not become ready after its setup; its thread crashes and is restarted');
      setImmediate(() => {
        throw new Error(`${spec.path} (${spec.module}): not ready after setup: ${err?.message ?? err}`);
      });
    })
    .finally(() => settling.delete(p));
  settling.add(p);
}

/**
 * An on-demand actor: its module is imported and set up when its first message arrives (that
 * message and any after it wait in its mailbox). Liveness allows setup grace meanwhile: the import
 * of a heavy native library blocks this thread's event loop for a while, which is not a hang.
 */
function wakeOnDemand(spec: HostActorSpec): void {
  const t0 = performance.now();
  port.postMessage({ t: 'setup', on: true });
  startActor(spec).then(
    (onCrash) => {
      port.postMessage({ t: 'setup', on: false, actors: [{ path: spec.path, onCrash }] });
      log.debug({ actor: spec.path, setup_ms: Math.round(performance.now() - t0) }, 'on-demand actor set up on its first message');
    },
    (err: Error) => {
      port.postMessage({ t: 'setup', on: false });
      log.error({ actor: spec.path, err }, 'on-demand actor setup failed; its waiting messages fail, the next one tries again');
      router.failReserved(spec.path, new ActorError('actor_setup_failed', `setup of '${spec.path}' (${spec.module}) failed: ${err.message}`), () => wakeOnDemand(spec));
    },
  );
}

async function boot(): Promise<void> {
  // Messages may arrive while actors are still in setup: they wait in reserved mailboxes.
  for (const spec of init.actors) router.reserve(spec.path, spec.onDemand ? () => wakeOnDemand(spec) : undefined);
  const ready: Array<{ path: string; onCrash: 'redeliver' | 'fail' }> = [];
  try {
    for (const spec of init.actors) ready.push({ path: spec.path, onCrash: spec.onDemand ? (spec.onCrash ?? 'fail') : await startActor(spec) });
  } catch (err) {
    port.postMessage({ t: 'setup_failed', error: { message: (err as Error).message, stack: (err as Error).stack } });
    return;
  }
  port.postMessage({ t: 'ready', actors: ready });
}

async function stopAll(): Promise<void> {
  // An actor still becoming ready is stopped once it is (its stop() may need what ready opened).
  await Promise.allSettled([...settling]);
  const actors = [...router.local.values()].reverse();
  for (const a of actors) {
    try {
      await a.stop?.();
    } catch (err) {
      log.error({ actor: a.path, err }, 'stop failed');
    }
  }
  router.flushLinks();
  await closeEnv();
}

port.on('message', (m: ControlToHost) => {
  switch (m.t) {
    case 'link':
      router.peerUp(m.peer, m.port as MessagePort, m.started, m.side);
      break;
    case 'down':
      router.peerDown(m.peer, m.code, m.why);
      break;
    case 'stopped':
      router.markStopped(m.paths);
      break;
    case 'dir':
      for (const [p, e] of m.entries) router.directory.set(p, { ...(e as DirectoryEntry) });
      break;
    case 'topic':
      router.setTopicNodes(m.pattern, m.nodes);
      break;
    case 'stats':
      port.postMessage({
        t: 'stats',
        n: m.n,
        // `dormant`: an on-demand actor not set up yet (its first message will); status must not wake it.
        actors: [...router.local.values()].map((a) => ({ path: a.path, mailbox: a.mailbox.length + a.running, handled: a.handled, ...(a.wake ? { dormant: true } : {}) })),
        heapUsed: process.memoryUsage().heapUsed,
      });
      break;
    case 'crash':
      // Asked to end as if it had crashed: an uncaught error between two tasks (see HostProcess.kill).
      setImmediate(() => {
        throw new Error(m.why);
      });
      break;
    case 'stop':
      void stopAll().then(() => port.postMessage({ t: 'stopped_ok' }));
      break;
  }
});

void boot();
