/**
 * `system/tool-runner`: sandboxed WASM tools (docs/tools.md). Thin shell over tool-service.ts;
 * the calls run on the actor's own pool of runner threads (runner-pool.ts), so a tool that
 * loops, bombs memory or hangs never blocks this actor's mailbox.
 */
import { Value } from '@sinclair/typebox/value';
import { ActorError, defineActor } from '../../src/kernel/actor.js';
import { TOOL_REGISTRY_TOPIC, ToolsConfigSchema, toolRunnerMessages, type ToolsConfig } from '../../protocol/tool-runner.js';
import { ToolFailure } from './manifest.js';
import { ToolService } from './tool-service.js';

function target(p: { name?: string; manifest?: string }, type: string): void {
  if (!p.name === !p.manifest) throw new ActorError('invalid_message', `${type}: give exactly one of name or manifest`);
}

const typed = (e: unknown): never => {
  if (e instanceof ToolFailure) throw new ActorError(e.code, e.message);
  throw e;
};

export default defineActor({
  messages: toolRunnerMessages,
  config: ToolsConfigSchema,
  onCrash: 'fail',
  async setup(ctx) {
    const config = Value.Default(ToolsConfigSchema, structuredClone(ctx.config ?? {})) as ToolsConfig;
    const svc = new ToolService({
      config, dataDir: ctx.dataDir, rootConfig: ctx.rootConfig, store: ctx.store, log: ctx.log,
      ask: ctx.ask,
    });
    await svc.start();
    ctx.log.info({ dir: svc.dir, pool: config.pool_size }, `tool runner ready (${config.pool_size} runner threads, ${config.runners_start === 'eager' ? 'started' : 'started with the first call'})`);
    return {
      handlers: {
        'tool.list': async () => ({ tools: await svc.list() }),
        'tool.add': async (p) => {
          const r = await svc.add(p.manifest).catch(typed);
          ctx.publish(TOOL_REGISTRY_TOPIC, { event: 'added', name: r.tool.name });
          return r;
        },
        'tool.remove': async (p) => {
          const { name } = p;
          const removed = await svc.remove(name).catch(typed);
          if (removed) ctx.publish(TOOL_REGISTRY_TOPIC, { event: 'removed', name });
          return { removed };
        },
        'tool.verify': (p) => {
          target(p, 'tool.verify');
          return svc.verify(p).catch(typed);
        },
        'tool.run': (p) => {
          target(p, 'tool.run');
          return svc.run(p);
        },
        'tool.stats': () => ({
          runners: svc.pool.info(), runners_started: svc.pool.started, calls: svc.pool.calls, compiled_cached: svc.compiledCount(),
          ...(svc.pool.lastReplacementMs !== undefined ? { last_replacement_ms: svc.pool.lastReplacementMs } : {}),
        }),
      },
      stop: () => svc.close(),
    };
  },
});
