/**
 * Provider router actor (`system/provider-router`). `provider.chat` runs the model alias's
 * failover chain; text deltas go to `stream_to` as `provider.chunk` tells while the reply is the
 * final result. Logic lives in router.ts / failover.ts / adapters; this file wires messages.
 */
import { Value } from '@sinclair/typebox/value';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Static, TSchema } from '@sinclair/typebox';
import { ActorError, defineActor } from '../../src/kernel/actor.js';
import { ChatRequestSchema, ProvidersConfigSchema, UsageRequestSchema, providerMessages } from '../../protocol/provider.js';
import { ChainError } from './failover.js';
import { closeHttpPools } from './http.js';
import { ProviderRouter } from './router.js';
import { streamTrace } from './stream-trace.js';

const compiled = new Map<TSchema, TypeCheck<TSchema>>();
/** Per schema: its top-level property defaults when it has no others (null: walk it with Value.Default). */
const topDefaults = new Map<TSchema, Array<[string, unknown]> | null>();

function hasDefault(node: unknown): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (!Array.isArray(node) && Object.hasOwn(node, 'default')) return true;
  return Object.values(node).some(hasDefault);
}

function defaultsPlan(schema: TSchema): Array<[string, unknown]> | null {
  const props = (schema as { type?: unknown; properties?: Record<string, TSchema> }).type === 'object' ? schema.properties as Record<string, TSchema> | undefined : undefined;
  if (!props || Object.hasOwn(schema, 'default')) return null;
  const plan: Array<[string, unknown]> = [];
  for (const [k, sub] of Object.entries(props)) {
    const { default: d, ...rest } = sub as TSchema & { default?: unknown };
    if (hasDefault(rest)) return null;
    if (d !== undefined) plan.push([k, d]);
  }
  return plan;
}

/** The payload with its schema's defaults applied (the router reads e.g. `stream_topic` defaults). */
function check<S extends TSchema>(schema: S, payload: unknown, type: string): Static<S> {
  // The payload is already this thread's own copy (structured clone on the way in).
  let plan = topDefaults.get(schema);
  if (plan === undefined) topDefaults.set(schema, (plan = defaultsPlan(schema)));
  let v: unknown = payload ?? {};
  if (plan && v !== null && typeof v === 'object' && !Array.isArray(v)) {
    // Only top-level defaults (ChatRequest's `model`): set them without Value.Default's walk of the
    // whole payload, history and tool schemas included (65 µs p50 of a 150 µs router prelude on a
    // one-message chat, measured in the `provider` bench; it grows with the history).
    const o = v as Record<string, unknown>;
    for (const [k, d] of plan) if (o[k] === undefined) o[k] = d !== null && typeof d === 'object' ? structuredClone(d) : d;
  } else v = Value.Default(schema, v);
  let c = compiled.get(schema);
  if (!c) compiled.set(schema, (c = TypeCompiler.Compile(schema)));
  // The compiled check is the hot path; the (slower) error walk runs only for a bad payload.
  if (c.Check(v)) return v as Static<S>;
  const first = c.Errors(v).First();
  throw new ActorError('invalid_message', `${type}: ${first?.path || '/'} ${first?.message ?? 'invalid'}`);
}

export default defineActor({
  messages: providerMessages,
  config: ProvidersConfigSchema,
  onCrash: 'fail',
  setup(ctx) {
    // The kernel hands this actor the `providers:` section; models/provider_router come from the root.
    const root = { ...ctx.rootConfig, providers: ctx.rootConfig.providers ?? ctx.config };
    const router = new ProviderRouter({ rootConfig: root, log: ctx.log, store: ctx.store });
    return {
      handlers: {
        'provider.chat': async (payload, meta) => {
          const req = check(ChatRequestSchema, payload, 'provider.chat');
          const to = req.stream_to;
          const topic = req.stream_topic && req.request_id ? `provider/stream/${req.request_id}` : undefined;
          // The first delta goes out at once, and this thread's batch is posted with it (time to
          // first token); later ones are coalesced per network read (the flush runs right after the
          // read's parsing). Coalescing per event-loop turn instead (setImmediate) saved nothing
          // measurable and held the last delta behind the end-of-stream work of the same turn
          // (~1 ms, measured in the gateway's SSE bench).
          let pending = '';
          let pendingProvider = '';
          const flush = () => {
            if (!pending) return;
            const chunk = { request_id: req.request_id ?? '', text: pending, provider: pendingProvider };
            pending = '';
            // The topic first: its subscriber (the gateway's SSE) is the one a person is watching.
            if (topic) ctx.publish(topic, chunk);
            if (to) {
              try { ctx.tell(to, 'provider.chunk', chunk); } catch (e) { ctx.log.debug({ to, err: (e as Error).message }, 'chunk not delivered'); }
            }
          };
          const trace = streamTrace(req.request_id ?? '');
          try {
            let sentFirst = false;
            const result = await router.chat(req, (text, provider) => {
              trace.note(text);
              pending += text;
              pendingProvider = provider;
              if (!sentFirst) {
                // Posted now, not when this read's parse ends: a burst read can hold the whole answer.
                sentFirst = true;
                flush();
                ctx.flush();
              } else if (pending === text) queueMicrotask(flush);
            });
            flush(); // every chunk goes out before the reply
            return result;
          } catch (e) {
            flush();
            if (e instanceof ChainError) {
              ctx.log.warn({ code: e.code, from: meta.from, agent: req.agent }, e.message);
              throw new ActorError(e.code, e.message, { attempts: e.attempts, ...(e.provider ? { provider: e.provider } : {}) });
            }
            throw e;
          } finally {
            trace.end();
          }
        },
        'provider.cancel': (p) => ({ cancelled: router.cancel(p.request_id) }),
        'provider.usage': (p) => router.usage(check(UsageRequestSchema, p, 'provider.usage')),
        'provider.status': () => router.status(),
      },
      stop: async () => {
        router.cancelAll();
        await closeHttpPools();
      },
    };
  },
});
