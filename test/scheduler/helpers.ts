/** Shared helpers for scheduler tests: temp lmdb dirs and polling waits. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveSchedulerConfig } from '../../actors/scheduler/config.js';
import type { SchedulerConfig } from '../../protocol/scheduler.js';

export function tempDir(prefix = 'rc-sched-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function waitFor<T>(fn: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function testConfig(over: Record<string, unknown> = {}): SchedulerConfig {
  return resolveSchedulerConfig({ workers: 2, worker_heartbeat_ms: 50, lease_ms: 2000, webhook: { enabled: false }, heartbeat: { enabled: false }, ...over });
}

/** The kernel's own lmdb-backed actor store over `dir` (what the actor gets as ctx.store). */
export { actorStore, closeEnv } from '../../src/kernel/store.js';
import { actorStore as kernelStore, closeEnv as kernelClose } from '../../src/kernel/store.js';
export function openStore(dir: string) {
  const s = kernelStore(dir, 'system/scheduler');
  return Object.assign(s, { close: () => kernelClose() });
}
