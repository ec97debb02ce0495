/** How the liveness monitor reports a main thread that did not run: start-up lag is not a warning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { LivenessMonitor } from '../../src/kernel/liveness.js';

function recorder() {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (_o: unknown, msg: string) => void lines.push({ level, msg });
  const log = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { log, lines };
}

function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* the main thread runs no timers */
  }
}

test('a main-thread lag while the tree starts is logged at info as start-up; after ready it is a warning', async () => {
  const { log, lines } = recorder();
  const mon = new LivenessMonitor({ intervalMs: 20, log });
  mon.watch({ id: 'w', beat: new Int32Array(new SharedArrayBuffer(12)), deadlineMs: 60_000, setupGraceMs: 60_000, setup: false, onStuck: () => assert.fail('nobody is stuck') });
  try {
    await new Promise((r) => setTimeout(r, 60));
    block(400);
    await new Promise((r) => setTimeout(r, 100));
    const boot = lines.filter((l) => /did not run/.test(l.msg));
    assert.equal(boot.length, 1, JSON.stringify(lines));
    assert.equal(boot[0].level, 'info');
    assert.match(boot[0].msg, /during start-up/);
    mon.starting = false;
    lines.length = 0;
    block(400);
    await new Promise((r) => setTimeout(r, 100));
    const later = lines.filter((l) => /did not run/.test(l.msg));
    assert.equal(later.length, 1, JSON.stringify(lines));
    assert.equal(later[0].level, 'warn');
    assert.match(later[0].msg, /blocked or paused/);
  } finally {
    mon.stop();
  }
});
