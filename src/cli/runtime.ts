/**
 * What CLI commands use to reach the actors: the running service over its endpoint, found from any
 * directory (see ./discovery.ts). When none runs, a command fails with a message saying so; only with
 * `--in-process` does it boot the tree inside the command for its duration (never reported as "the
 * service"). Every wait goes through `waiting`, so the overall deadline can say what it was waiting for.
 */
import type { Command } from 'commander';
import { loadConfig, configOrigin, type RootConfig } from '../config/load.js';
import { connect, type EndpointInfo, type RustyClawClient } from '../client/index.js';
import { startService, type Service } from '../service.js';
import { createCliLogger, type LogFormat } from './logger.js';
import { findService, NoServiceError } from './discovery.js';
import { Waiting } from './deadline.js';
import type { AskOptions, BuiltinMessages, BuiltinTopics, RequestOf, TellArgs, TopicPayload, TypedAsk } from '../../protocol/index.js';

/** Actors that answer on their own (no asks to other actors): an in-process command for one boots only it. */
const SELF_CONTAINED: Record<string, string[]> = { 'system/safety': ['safety'], 'system/tool-runner': ['safety', 'tool-runner'], 'system/mcp': ['safety', 'mcp'] };

/** Targets whose commands are documented to work without a service (`tool run`: docs/tools.md). */
const IN_PROCESS_BY_DEFAULT = new Set(['system/tool-runner']);

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  logLevel?: string;
  logFormat?: string;
  inProcess?: boolean;
  timeout?: string;
}

export interface CliRuntime {
  /** The loaded config (global --config / --data-dir applied). */
  config(): RootConfig;
  /** Typed from the message type's name (protocol/): no reply shape is written twice. */
  ask: TypedAsk<BuiltinMessages>;
  tell<K extends keyof BuiltinMessages & string>(to: string, type: K, ...args: TellArgs<RequestOf<BuiltinMessages, K>>): Promise<void>;
  subscribe<N extends string>(topic: N, fn: (payload: TopicPayload<BuiltinTopics, N>, topic: string) => void): Promise<() => void>;
  /** True when talking to a separate running service. */
  remote(): Promise<boolean>;
  close(): Promise<void>;
  /** The running service's run file (pid, url, the variables it was started with), when remote. */
  service?(): Promise<EndpointInfo | null>;
  /** Tracks what the command waits for, for the deadline message. */
  waiting?: Waiting;
}

/** Flags → config overrides, each with its flag name so a bad value is blamed on the flag. */
export function globalOverrides(o: GlobalOptions): { overrides: Record<string, any>; overrideSources: Record<string, string> } {
  const overrides: Record<string, any> = {};
  const overrideSources: Record<string, string> = {};
  if (o.dataDir) {
    overrides.data_dir = o.dataDir;
    overrideSources.data_dir = `-d ${o.dataDir}`;
  }
  if (o.logLevel) {
    overrides.log = { ...overrides.log, level: o.logLevel };
    overrideSources['log.level'] = `--log-level ${o.logLevel}`;
  }
  if (o.logFormat) {
    overrides.log = { ...overrides.log, format: o.logFormat };
    overrideSources['log.format'] = `--log-format ${o.logFormat}`;
  }
  return { overrides, overrideSources };
}

export function createRuntime(program: Command): CliRuntime {
  let config: RootConfig | null = null;
  let conn: Promise<{ client?: RustyClawClient; service?: Service; info?: EndpointInfo }> | null = null;
  const waiting = new Waiting();

  const getConfig = (): RootConfig => {
    if (!config) {
      const o = program.opts<GlobalOptions>();
      const { overrides, overrideSources } = globalOverrides(o);
      config = loadConfig({ file: o.config, overrides, overrideSources });
    }
    return config;
  };

  const connection = (firstTarget = 'kernel') => {
    conn ??= (async () => {
      const cfg = getConfig();
      const found = findService(cfg.data_dir, configOrigin(cfg).dataDirExplicit);
      if (found) {
        const client = await waiting.on(`the service at ${found.info.url} (pid ${found.info.pid}) to accept the connection`, connect({ url: found.info.url, token: found.info.token }));
        return { client, info: found.info };
      }
      if (!program.opts<GlobalOptions>().inProcess && !IN_PROCESS_BY_DEFAULT.has(firstTarget)) throw new NoServiceError(cfg.data_dir);
      // A tree for this command only: no endpoint, no webhook port, no heartbeat turns; logs quiet
      // unless asked for, so a command's output is its own.
      const level = program.opts<GlobalOptions>().logLevel ?? process.env.RUSTYCLAW_LOG_LEVEL ?? 'error';
      const sched = (cfg.scheduler ?? {}) as Record<string, any>;
      const only = SELF_CONTAINED[firstTarget];
      const inproc: RootConfig = {
        ...cfg,
        log: { ...cfg.log, level },
        endpoint: { ...cfg.endpoint, enabled: false },
        scheduler: { ...sched, webhook: { ...sched.webhook, enabled: false }, heartbeat: { ...sched.heartbeat, enabled: false } },
        // A command for one self-contained actor boots only that one (no model download, no
        // "no LLM provider" warning for `safety check-url`).
        ...(only ? { kernel: { ...cfg.kernel, system_actors: only, actors: { ...cfg.kernel.actors, agent: { ...cfg.kernel.actors?.agent, enabled: false } } } } : {}),
      };
      const log = createCliLogger(level, { format: cfg.log.format as LogFormat });
      return { service: await waiting.on('the in-process tree to start', startService(inproc, { log })) };
    })();
    return conn;
  };

  const label = (to: string, type: string, info?: EndpointInfo) => `the reply to ${type} from ${to}${info ? ` (service pid ${info.pid})` : ' (in-process tree)'}`;

  return {
    config: getConfig,
    waiting,
    // A forwarder to whichever side is connected; the types are the ones its callers see (TypedAsk).
    ask: (async (to: string, type: string, payload?: unknown, opts?: AskOptions) => {
      const c = await connection(to);
      const p = c.client ? c.client.askDynamic(to, type, payload, opts) : c.service!.sys.ask(to, type, payload, opts);
      return waiting.on(label(to, type, c.info), p);
    }) as TypedAsk<BuiltinMessages>,
    tell: (async (to: string, type: string, payload?: unknown) => {
      const c = await connection(to);
      if (c.client) c.client.tell(to, type as keyof BuiltinMessages & string, payload as never);
      else await c.service!.sys.tell(to, type, payload);
    }) as CliRuntime['tell'],
    async subscribe(topic, fn) {
      const c = await connection();
      if (!c.client) return c.service!.sys.subscribe(topic, fn as (p: unknown, t: string) => void);
      return waiting.on(`the subscription to ${topic}`, c.client.subscribe(topic, fn));
    },
    async remote() {
      return !!(await connection()).client;
    },
    async service() {
      return (await connection()).info ?? null;
    },
    async close() {
      if (!conn) return;
      const pending = conn;
      conn = null;
      const c = await pending.catch(() => ({}) as { client?: RustyClawClient; service?: Service });
      await c.client?.close();
      await c.service?.stop();
    },
  };
}
