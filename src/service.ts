/**
 * The service: the actor system plus its endpoint for other processes, with the files a CLI uses
 * to find it (`<data_dir>/run/endpoint.json`, readable by the owner only: it holds the token).
 */
import { mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ActorSystem } from './kernel/system.js';
import { defaultTree, type SupervisorNode } from './kernel/tree.js';
import { createLogger } from './kernel/log.js';
import type { RootConfig } from './config/load.js';
import { prepareUserActors } from './config/user-actors.js';
import { randomBytes } from 'node:crypto';
import type { WebSocketTransport } from './transport/websocket.js';
import type { Gateway } from './gateway/server.js';
import type { NatsTransport } from './transport/nats.js';
import { singletonPaths } from './transport/nats/config.js';
import { endpointFile, type EndpointInfo } from './client/index.js';
import { procInfo } from './lib/proc.js';

export interface Service {
  sys: ActorSystem;
  url: string | null;
  /** The gateway's http:// URL (same host and port as `url`), when it runs. */
  httpUrl: string | null;
  readyMs: number;
  /** With `transport: nats`: this process's node, its cluster and the NATS server it joined through. */
  bus: { node: string; cluster: string; url: string } | null;
  stop(): Promise<void>;
}

/** The process exists and has not exited (a zombie its parent has not reaped yet is dead). */
export function pidAlive(pid: number): boolean {
  const p = procInfo(pid);
  if (p) return p.alive;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The service recorded in the data dir's endpoint file, when it still runs: its pid is alive and,
 * where /proc tells, is the same process (same start time), not another that reused the pid after
 * a kill -9 or a reboot.
 */
export function runningService(dataDir: string): EndpointInfo | null {
  let info: EndpointInfo;
  try {
    info = JSON.parse(readFileSync(endpointFile(dataDir), 'utf8')) as EndpointInfo;
  } catch {
    return null;
  }
  if (typeof info.pid !== 'number' || info.pid === process.pid) return null;
  const p = procInfo(info.pid);
  if (!(p ? p.alive : pidAlive(info.pid))) return null;
  if (p && info.pid_start !== undefined && p.startTicks !== info.pid_start) return null;
  return info;
}

export async function startService(config: RootConfig, opts: { log?: Logger; tree?: SupervisorNode; runInfo?: Partial<EndpointInfo> } = {}): Promise<Service> {
  const t0 = performance.now();
  // User actors are loaded and checked before anything starts (a bad module or section is a config error).
  await prepareUserActors(config);
  const log = opts.log ?? createLogger(config.log.level, config.log.file);
  const other = runningService(config.data_dir);
  if (other) throw new Error(`a RustyClaw service already runs on data dir ${config.data_dir} (pid ${other.pid}, ${other.url}); stop it with 'rustyclaw stop'`);
  mkdirSync(config.data_dir, { recursive: true });
  // The endpoint's modules (fastify, ws: ~110–190 ms to import here) load while the threads boot,
  // not before: the main thread is mostly idle then. Handled here, awaited after the start.
  const endpointModules = config.endpoint.enabled ? Promise.all([import('./gateway/server.js'), import('./transport/websocket.js')]) : null;
  endpointModules?.catch(() => {});
  const sys = new ActorSystem(config, opts.tree ?? defaultTree(config, (m) => log.warn(m)), log);
  // A cluster's singletons wait in standby until this process holds their lease (docs/nats.md).
  if (config.transport === 'nats') sys.holdForLease(singletonPaths(config.transport, config.nats));
  await sys.start();
  const mods = await endpointModules?.catch(async (err: Error) => {
    await sys.stop();
    throw new Error(`cannot load the endpoint: ${err.message}`, { cause: err });
  });
  let transport: WebSocketTransport | null = null;
  let gateway: Gateway | null = null;
  let url: string | null = null;
  let httpUrl: string | null = null;
  const file = endpointFile(config.data_dir);
  // This process as the endpoint file names it: its pid and, where /proc tells, its start time.
  const started = procInfo('self')?.startTicks;
  const self = { pid: process.pid, ...(started !== undefined ? { pid_start: started } : {}) };
  if (mods && mods[0].gatewayConfig(config).enabled) {
    const { startGateway } = mods[0];
    // One port: the gateway's HTTP server also carries the WebSocket endpoint protocol.
    const token = randomBytes(24).toString('hex');
    try {
      gateway = await startGateway({ sys, config, token, log: log.child({ component: 'gateway' }) });
    } catch (err) {
      await sys.stop();
      const busy = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (port in use: set endpoint.port, 0 = any free port)' : '';
      throw new Error(`cannot open the endpoint on ${config.endpoint.host}:${config.endpoint.port}${busy}: ${(err as Error).message}`, { cause: err });
    }
    url = gateway.wsUrl;
    httpUrl = gateway.url;
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ ...opts.runInfo, url, http_url: httpUrl, token, ...self }), { mode: 0o600 });
  } else if (mods) {
    transport = new mods[1].WebSocketTransport({
      host: config.endpoint.host,
      port: config.endpoint.port,
      maxPayloadBytes: config.endpoint.max_payload_bytes,
      log: log.child({ component: 'endpoint' }),
    });
    try {
      url = (await transport.start(sys)).url;
    } catch (err) {
      await sys.stop();
      throw new Error(`cannot open the endpoint on ${config.endpoint.host}:${config.endpoint.port}: ${(err as Error).message}`, { cause: err });
    }
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ ...opts.runInfo, url, token: transport.token, ...self }), { mode: 0o600 });
  }
  // With `transport: nats` this process joins its cluster beside the endpoint (docs/nats.md).
  // Imported only when used: the transport and its compiled schemas cost ~5 MB and ~80 ms at start.
  const bus: NatsTransport | null = config.transport === 'nats' ? new (await import('./transport/nats.js')).NatsTransport({ config: config.nats, log }) : null;
  let busUrl = '';
  if (bus) {
    try {
      busUrl = (await bus.start(sys)).url;
    } catch (err) {
      await gateway?.stop();
      await transport?.stop();
      rmSync(file, { force: true });
      await sys.stop();
      throw err;
    }
  }
  const readyMs = performance.now() - t0;
  let stopping: Promise<void> | null = null;
  const service: Service = {
    sys,
    url,
    httpUrl,
    readyMs,
    bus: bus ? { node: bus.node, cluster: bus.cluster, url: busUrl } : null,
    stop() {
      stopping ??= (async () => {
        await gateway?.stop();
        await bus?.stop();
        await transport?.stop();
        rmSync(file, { force: true });
        await sys.stop();
      })();
      return stopping;
    },
  };
  sys.onStopRequest = () => service.stop();
  return service;
}
