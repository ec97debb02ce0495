/** The light actor the kernel benchmarks use: echo, count, crash, spin. */
import { defineActor } from '../../src/kernel/actor.js';

export default defineActor({
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
