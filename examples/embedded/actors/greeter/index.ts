/**
 * A user-written actor: loaded by the kernel from `kernel.actors.greeter.module`, supervised like
 * the built-in ones, with its own config section (`greeter:`) and its own message map.
 */
import { defineActor, errorFactory } from 'rustyclaw';
import { GreeterConfigSchema, greeterErrors, greeterMessages } from './messages.js';

const fail = errorFactory(greeterErrors);

export default defineActor({
  messages: greeterMessages,
  config: GreeterConfigSchema,
  onCrash: 'redeliver',
  async setup(ctx) {
    // Survives restarts: the count lives in this actor's lmdb store.
    let count = ctx.store.get<number>('count') ?? 0;
    return {
      handlers: {
        'greeter.hello': async (p) => {
          if (p.name.length > ctx.config.max_name_length) throw fail('name_too_long', `name is ${p.name.length} characters, over greeter.max_name_length = ${ctx.config.max_name_length}`);
          count++;
          await ctx.store.put('count', count);
          return { text: `${ctx.config.greeting}, ${p.name}!`, count };
        },
        'greeter.count': () => ({ count }),
      },
    };
  },
});
