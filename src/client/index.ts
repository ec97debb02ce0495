/**
 * `rustyclaw/client`: talk to a running RustyClaw service from another process.
 *
 *   import { connect } from 'rustyclaw/client';
 *   const rc = await connect();                       // finds the service through its data dir
 *   const status = await rc.ask('kernel', 'kernel.status');
 *   const off = await rc.subscribe('agents/*', (event, topic) => console.log(topic, event));
 *   await rc.close();
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { ActorError } from '../kernel/actor.js';
import { defaultDataDir } from '../config/data-dir.js';

export { defaultDataDir };
import type { ExternalResponse } from '../../protocol/envelope.js';
import type { BuiltinMessages, BuiltinTopics } from '../../protocol/index.js';
import type { AskOptions, MessageMap, TopicMap, TopicPayload, TypedAsk, TypedPublish, TypedTell } from '../../protocol/define.js';

export { ActorError };

export interface EndpointInfo {
  url: string;
  /** The gateway's HTTP URL (same port; the token is its default bearer token). */
  http_url?: string;
  token: string;
  pid: number;
  /** The process's start time in clock ticks since boot (Linux): tells it from a later process with the same pid. */
  pid_start?: number;
  /** Written by `rustyclaw start`: its data dir, start time, config file and the variables it saw (no secrets). */
  data_dir?: string;
  started_at?: string;
  config_file?: string | null;
  env?: Record<string, string>;
}

export interface ConnectOptions {
  url?: string;
  token?: string;
  /** Data dir of the service (reads `<dataDir>/run/endpoint.json`); default: `RUSTYCLAW_DATA_DIR`, else `$XDG_DATA_HOME/rustyclaw` or `~/.rustyclaw`. */
  dataDir?: string;
  /** Default ask timeout in ms (default 30 s). */
  timeoutMs?: number;
}

export function endpointFile(dataDir: string): string {
  return path.join(dataDir, 'run', 'endpoint.json');
}

export function readEndpoint(dataDir: string): EndpointInfo | null {
  try {
    return JSON.parse(readFileSync(endpointFile(dataDir), 'utf8')) as EndpointInfo;
  } catch {
    return null;
  }
}

/**
 * A connection to a service. Payloads and replies are typed from the message type's name: the
 * built-in messages by default, more with `connect<BuiltinMessages & typeof myMessages>()`.
 */
export interface RustyClawClient<M extends MessageMap = BuiltinMessages, T extends TopicMap = BuiltinTopics> {
  ask: TypedAsk<M>;
  /** An ask whose type is chosen at run time; the service still checks it against its schema. */
  askDynamic(to: string, type: string, payload?: unknown, opts?: AskOptions): Promise<unknown>;
  tell: TypedTell<M>;
  publish: TypedPublish<T>;
  subscribe<N extends string>(topic: N, fn: (payload: TopicPayload<T, N>, topic: string) => void): Promise<() => void>;
  close(): Promise<void>;
}

export async function connect<M extends MessageMap = BuiltinMessages, T extends TopicMap = BuiltinTopics>(opts: ConnectOptions = {}): Promise<RustyClawClient<M, T>> {
  let { url, token } = opts;
  if (!url || token === undefined) {
    const dataDir = path.resolve(opts.dataDir ?? (process.env.RUSTYCLAW_DATA_DIR || defaultDataDir()));
    const info = readEndpoint(dataDir);
    if (!info) throw new ActorError('unknown_actor', `no running RustyClaw service found (no ${endpointFile(dataDir)})`);
    url ??= info.url;
    token ??= info.token;
  }
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (err) => reject(new ActorError('unknown_actor', `cannot reach RustyClaw at ${url}: ${err.message}`)));
  });
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  const subs = new Map<string, Set<(p: any, t: string) => void>>();
  let nextId = 1;
  let closedError: ActorError | null = null;
  let welcome: (() => void) | null = null;
  let refuse: ((e: Error) => void) | null = null;

  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as ExternalResponse;
    switch (msg.op) {
      case 'welcome':
        welcome?.();
        return;
      case 'reply': {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.payload);
        else p.reject(ActorError.from(msg.error!));
        return;
      }
      case 'event':
        for (const [pattern, fns] of subs) {
          if (pattern.endsWith('*') ? msg.topic.startsWith(pattern.slice(0, -1)) : pattern === msg.topic) for (const fn of fns) fn(msg.payload, msg.topic);
        }
        return;
      case 'error':
        if (refuse) refuse(ActorError.from(msg.error));
        return;
    }
  });
  ws.on('close', (code: number, reason: Buffer) => {
    // 1009: a frame over the service's endpoint.max_payload_bytes; the service itself carries on.
    const why = code === 1009 ? `: a message was larger than the service accepts (endpoint.max_payload_bytes${reason.length ? `; ${reason.toString()}` : ''})` : code && code !== 1000 && code !== 1005 ? ` (code ${code}${reason.length ? `: ${reason.toString()}` : ''})` : '';
    closedError = new ActorError(code === 1009 ? 'invalid_message' : 'actor_stopped', `connection to RustyClaw closed${why}`);
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(closedError);
    }
    pending.clear();
  });
  ws.on('error', () => {});

  const send = (obj: unknown) => {
    if (closedError) throw closedError;
    ws.send(JSON.stringify(obj));
  };
  await new Promise<void>((resolve, reject) => {
    welcome = resolve;
    refuse = reject;
    send({ v: 1, op: 'hello', token });
  });
  welcome = null;
  refuse = null;

  const defaultTimeout = opts.timeoutMs ?? 30_000;
  const askDynamic = (to: string, type: string, payload?: unknown, o?: AskOptions): Promise<unknown> => {
    const id = nextId++;
    const timeoutMs = o?.timeoutMs ?? defaultTimeout;
    return new Promise((resolve, reject) => {
      // The service enforces the timeout; the local timer (a little later) covers a dead connection.
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new ActorError('timeout', `ask ${type} to ${to} timed out`));
      }, timeoutMs + 1000);
      pending.set(id, { resolve, reject, timer });
      try {
        send({ v: 1, op: 'ask', id, to, type, payload, timeout_ms: timeoutMs });
      } catch (err) {
        clearTimeout(timer);
        pending.delete(id);
        reject(err);
      }
    });
  };
  const client: RustyClawClient<M, T> = {
    // The wire carries JSON: the reply's type is the one its schema declares (the service checks it under validate: all).
    ask: ((to: string, type: string, payload?: unknown, o?: AskOptions) => askDynamic(to, type, payload, o)) as TypedAsk<M>,
    askDynamic,
    tell(to: string, type: string, payload?: unknown) {
      send({ v: 1, op: 'tell', to, type, payload });
    },
    publish(topic, payload) {
      send({ v: 1, op: 'pub', topic, payload });
    },
    async subscribe(topic, fn) {
      let set = subs.get(topic);
      if (!set) {
        set = new Set();
        subs.set(topic, set);
        send({ v: 1, op: 'sub', topic });
      }
      set.add(fn);
      // A round trip guarantees the subscription is active before the caller goes on.
      await askDynamic('kernel', 'kernel.ping', {});
      return () => {
        const s = subs.get(topic);
        if (!s || !s.delete(fn) || s.size > 0) return;
        subs.delete(topic);
        if (!closedError) send({ v: 1, op: 'unsub', topic });
      };
    },
    close() {
      return new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      });
    },
  };
  return client;
}
