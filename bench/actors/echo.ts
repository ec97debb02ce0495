/** The light actor the kernel benchmarks use: echo, count, crash, spin. */
import { Type } from '@sinclair/typebox';
import { defineActor } from '../../src/kernel/actor.js';
import { messagesOf } from '../../protocol/define.js';

/** The bench payload `{n, s}` (bench/lib/measure.ts): under `kernel.validate: all` each echo is checked both ways. */
const Echo = Type.Object({ n: Type.Optional(Type.Number()), s: Type.Optional(Type.String()), text: Type.Optional(Type.String()) });
export const benchMessages = messagesOf('bench/*', {
  'bench.echo': { request: Echo, reply: Echo },
  'bench.count': { request: Type.Unknown(), reply: Type.Null() },
  'bench.total': { request: Type.Unknown(), reply: Type.Integer() },
  'bench.incarnation': { request: Type.Unknown(), reply: Type.Number() },
  'bench.crash': { request: Type.Unknown(), reply: Type.Boolean() },
  'bench.spin': { request: Type.Unknown(), reply: Type.Boolean() },
});

export default defineActor({
  messages: benchMessages,
  setup() {
    let count = 0;
    const started = performance.timeOrigin + performance.now();
    return {
      handlers: {
        'bench.echo': (p) => p,
        'bench.count': () => {
          count++;
        },
        'bench.total': () => count,
        'bench.incarnation': () => started,
        'bench.crash': () => {
          setImmediate(() => {
            throw new Error('bench crash');
          });
          return true;
        },
        'bench.spin': () => {
          setImmediate(() => {
            for (;;) {
              /* stuck until the liveness deadline */
            }
          });
          return true;
        },
      },
    };
  },
});
