/**
 * `system/scheduler`: jobs, routines and heartbeats (the body is open.ts). This shell is what the
 * thread imports at boot: the message map and a forwarding handler per message. With its state in
 * lmdb (the default), the body — its modules (croner, the job store, the worker pool, webhooks),
 * the store and the routines' timers and subscriptions — is loaded as the actor's `ready` step,
 * after its thread reported ready; messages that arrive meanwhile wait in the mailbox
 * (ActorInstance.ready). With its state on NATS the body is opened in setup, as before, so an
 * unreachable server still fails the boot with its error. Measured: docs/decisions.md, "Edge ready
 * time (part g)".
 */
import { defineActor, type Handler } from '../../src/kernel/actor.js';
import { SchedulerConfigSchema, schedulerMessages } from '../../protocol/scheduler.js';
import type { SchedulerInstance } from './open.js';
import { jetstreamState } from './store-select.js';

export default defineActor({
  messages: schedulerMessages,
  config: SchedulerConfigSchema,
  onCrash: 'redeliver',
  async setup(ctx) {
    let body: SchedulerInstance | undefined;
    const ready = import('./open.js')
      .then(({ openScheduler }) => openScheduler(ctx))
      .then((b) => {
        body = b;
      });
    if (jetstreamState(ctx.rootConfig)) await ready;
    // The kernel runs no handler before `ready` resolved, so `body` is set whenever one runs.
    const forward = (type: keyof typeof schedulerMessages): Handler => (payload, meta, c) => (body!.handlers[type] as Handler)(payload, meta, c);
    const handlers = Object.fromEntries(Object.keys(schedulerMessages).map((t) => [t, forward(t as keyof typeof schedulerMessages)])) as SchedulerInstance['handlers'];
    return { handlers, ...(body ? {} : { ready }), stop: () => body?.stop?.() };
  },
});
