/**
 * `system/embedder`: turns texts into vectors with the configured provider (see service.ts).
 * Inference runs in a piscina pool, so this actor's message loop only queues and replies; or, when the
 * actor has a thread to itself, in that thread (`embedder.in_thread`, see service.ts).
 */
import { defineActor } from '../../src/kernel/actor.js';
import { EMBEDDER_PROGRESS_TOPIC, EmbedderConfigSchema, embedderMessages, type EmbedderConfig } from '../../protocol/embedder.js';
import { Value } from '@sinclair/typebox/value';
import { EmbedderService } from './service.js';
import { DEFAULT_YOUNG_GENERATION_MB } from '../../src/config/kernel-schema.js';

export { EMBEDDER_PROGRESS_TOPIC };

export default defineActor({
  messages: embedderMessages,
  config: EmbedderConfigSchema,
  onCrash: 'redeliver',
  async setup(ctx) {
    // Fill defaults when the kernel hands a partial section (it validates, we complete).
    const cfg = Value.Default(EmbedderConfigSchema, structuredClone(ctx.config ?? {})) as EmbedderConfig;
    let lastPct = -1;
    const svc = new EmbedderService(cfg, {
      dataDir: ctx.dataDir,
      log: ctx.log,
      // The pool's threads are sized like the kernel's (an idle 12 MB new space each otherwise).
      youngGenerationMb: (ctx.rootConfig?.kernel?.young_generation_mb as number | undefined) ?? DEFAULT_YOUNG_GENERATION_MB,
      ...(ctx.threadmates ? { threadmates: ctx.threadmates } : {}),
      onDownloadProgress: (p) => {
        const pct = p.overallTotal ? Math.floor((p.overallReceived / p.overallTotal) * 100) : -1;
        if (pct !== lastPct) {
          lastPct = pct;
          ctx.publish(EMBEDDER_PROGRESS_TOPIC, { op: 'download', file: p.file, received: p.overallReceived, total: p.overallTotal });
        }
      },
    });
    // Load (and on first use download) the model in the background: setup must finish quickly
    // (the kernel gives it 60 s), a 90 MB download may not. Callers wait on `starting`.
    let ready = false;
    const starting = svc.start().then(
      () => void (ready = true),
      (e) => {
        ready = true;
        ctx.log.error({ err: (e as Error).message }, 'embedder start failed');
      },
    );
    return {
      handlers: {
        // EmbedderError's code (queue_full, embedder_unavailable, ...) reaches the caller via the kernel's mapping.
        'embedder.embed': async (payload) => {
          await starting;
          const r = await svc.embed(payload?.texts);
          return { model: r.model, dim: r.dim, vectors: r.vectors.map((v) => Array.from(v)) };
        },
        'embedder.info': async (payload) => {
          if (payload?.wait) await starting;
          return ready ? { ...svc.info(), ready } : { ...svc.info(), provider: 'loading', ready };
        },
      },
      stop: async () => {
        await starting;
        await svc.close();
      },
    };
  },
});
