/** Shared test helpers: a real ProviderRouter on loopback servers, with a captured pino log. */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { ProviderRouter } from '../../actors/provider-router/router.js';
import type { ActorStore } from '../../src/kernel/actor.js';

export function captureLog(): { log: Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

export function makeRouter(
  providers: Record<string, unknown>,
  chain: string[],
  opts: { router?: Record<string, unknown>; store?: ActorStore; log?: Logger; models?: Record<string, unknown> } = {},
): ProviderRouter {
  return new ProviderRouter({
    rootConfig: {
      providers,
      models: opts.models ?? { default: { chain, context_window: 8000 } },
      provider_router: { cooldown_base_ms: 20, cooldown_max_ms: 200, max_retry_wait_ms: 0, first_token_timeout_ms: 2000, idle_timeout_ms: 2000, ...opts.router },
    },
    env: {},
    log: opts.log ?? captureLog().log,
    ...(opts.store ? { store: opts.store } : {}),
  });
}

export const userMsg = (content: string) => [{ role: 'user' as const, content }];

/** Collect streamed text while chatting. */
export async function chatCollect(router: ProviderRouter, content: string, extra: Record<string, unknown> = {}) {
  const streamed: string[] = [];
  const result = await router.chat({ model: 'default', messages: userMsg(content), ...extra }, (t) => streamed.push(t));
  return { result, streamed: streamed.join('') };
}

/** Run and return the thrown error (fails the test when nothing is thrown). */
export async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}
