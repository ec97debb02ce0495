/**
 * What CLI commands use to reach the actors: the running service over its endpoint when there is
 * one, otherwise a tree booted in this process for the duration of the command.
 */
import type { Command } from 'commander';
import { loadConfig, type RootConfig } from '../config/load.js';
import { connect, type RustyClawClient } from '../client/index.js';
import { runningService, startService, type Service } from '../service.js';
import { createLogger } from '../kernel/log.js';
import type { AskOptions, BuiltinMessages, BuiltinTopics, RequestOf, TellArgs, TopicPayload, TypedAsk } from '../../protocol/index.js';

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
}

export function createRuntime(program: Command): CliRuntime {
  let config: RootConfig | null = null;
  let conn: Promise<{ client?: RustyClawClient; service?: Service }> | null = null;

  const getConfig = (): RootConfig => {
    if (!config) {
      const o = program.opts<{ config?: string; dataDir?: string; logLevel?: string }>();
      const overrides: Record<string, unknown> = {};
      if (o.dataDir) overrides.data_dir = o.dataDir;
      // Commands print results on stdout; in-process logs stay quiet unless asked for.
      overrides.log = { level: o.logLevel ?? process.env.RUSTYCLAW_LOG_LEVEL ?? 'error' };
      config = loadConfig({ file: o.config, overrides });
    }
    return config;
  };

  const connection = () => {
    conn ??= (async () => {
      const cfg = getConfig();
      const info = runningService(cfg.data_dir);
      if (info) return { client: await connect({ url: info.url, token: info.token }) };
      const inproc = { ...cfg, endpoint: { ...cfg.endpoint, enabled: false } };
      return { service: await startService(inproc, { log: createLogger(cfg.log.level) }) };
    })();
    return conn;
  };

  return {
    config: getConfig,
    // A forwarder to whichever side is connected; the types are the ones its callers see (TypedAsk).
    ask: (async (to: string, type: string, payload?: unknown, opts?: AskOptions) => {
      const c = await connection();
      return c.client ? c.client.askDynamic(to, type, payload, opts) : c.service!.sys.ask(to, type, payload, opts);
    }) as TypedAsk<BuiltinMessages>,
    tell: (async (to: string, type: string, payload?: unknown) => {
      const c = await connection();
      if (c.client) c.client.tell(to, type as keyof BuiltinMessages & string, payload as never);
      else await c.service!.sys.tell(to, type, payload);
    }) as CliRuntime['tell'],
    async subscribe(topic, fn) {
      const c = await connection();
      return c.client ? c.client.subscribe(topic, fn) : c.service!.sys.subscribe(topic, fn);
    },
    async remote() {
      return !!(await connection()).client;
    },
    async close() {
      if (!conn) return;
      const c = await conn;
      conn = null;
      await c.client?.close();
      await c.service?.stop();
    },
  };
}
