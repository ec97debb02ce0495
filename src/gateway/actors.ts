/**
 * The gateway's typed view of the actor system (it runs on the main thread, beside the kernel):
 * asks and tells typed from `protocol/`, one subscription for every agent's events dispatched by
 * request id (a subscription per request would update every thread's topic table each time).
 */
import type { ActorSystem } from '../kernel/system.js';
import type { AskOptions, TypedAsk, TypedTell } from '../../protocol/define.js';
import type { BuiltinMessages } from '../../protocol/index.js';
import type { AgentEvent } from '../../protocol/agent.js';
import type { Chunk } from '../../protocol/provider.js';

/** The gateway's request ids start with this; its turns' provider deltas arrive on `provider/stream/gw-…`. */
export const GATEWAY_REQUEST_PREFIX = 'gw-';

export interface GatewayActors {
  ask: TypedAsk<BuiltinMessages>;
  tell: TypedTell<BuiltinMessages>;
  /**
   * Events of one turn (by request id) until the returned function is called. With `onDelta`, the
   * turn's text comes from the provider router's `provider/stream/<request_id>:…` topic (the turn
   * is asked with `stream_topic`) and the agent's own `text` events are not passed to `fn`.
   */
  onTurn(request_id: string, fn: (e: AgentEvent) => void, onDelta?: (text: string) => void): () => void;
  /** Tells the scheduler where webhooks are received (it prints the URL in routine.create). */
  announce(url: string): Promise<void>;
}

export function gatewayActors(sys: ActorSystem): GatewayActors {
  const turns = new Map<string, (e: AgentEvent) => void>();
  const deltas = new Map<string, (text: string) => void>();
  // Subscribed once, from the start: the kernel spreads a new subscription to the threads
  // asynchronously, and a turn's first tokens must not race it. Kernel patterns match by prefix
  // only (`agents/*`), hence the topic check.
  sys.subscribe('agents/*', (e: AgentEvent, topic: string) => {
    if (topic.endsWith('/events')) turns.get(e?.request_id)?.(e);
  });
  // The router names a turn's LLM requests `<turn request id>:<step>…`.
  const streamPrefix = `provider/stream/${GATEWAY_REQUEST_PREFIX}`;
  sys.subscribe(`${streamPrefix}*`, (c: Chunk, topic: string) => {
    const id = topic.slice('provider/stream/'.length);
    const colon = id.indexOf(':');
    if (colon > 0 && c?.text) deltas.get(id.slice(0, colon))?.(c.text);
  });
  const ask = ((to: string, type: string, payload?: unknown, opts?: AskOptions) => sys.ask(to, type, payload ?? {}, opts)) as TypedAsk<BuiltinMessages>;
  const tell = ((to: string, type: string, payload?: unknown) => void sys.tell(to, type, payload ?? {})) as TypedTell<BuiltinMessages>;
  return {
    ask,
    tell,
    onTurn(request_id, fn, onDelta) {
      if (onDelta) {
        deltas.set(request_id, onDelta);
        turns.set(request_id, (e) => {
          if (e.kind !== 'text') fn(e);
        });
      } else turns.set(request_id, fn);
      return () => {
        turns.delete(request_id);
        deltas.delete(request_id);
      };
    },
    async announce(url) {
      if (!sys.router.directory.has('system/scheduler')) return;
      await ask('system/scheduler', 'scheduler.gateway', { url }, { timeoutMs: 10_000 }).catch(() => undefined);
    },
  };
}
