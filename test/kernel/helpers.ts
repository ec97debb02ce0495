/** Shared helpers for kernel tests: a throw-away data dir and trees built from the echo fixture. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSystem, type ActorSystem, type SupervisorNode, type TreeNode, type WorkerNode } from '../../src/kernel/index.js';

export const ECHO = fileURLToPath(new URL('./fixtures/echo.js', import.meta.url));
export const ECHO_REDELIVER = fileURLToPath(new URL('./fixtures/echo-redeliver.js', import.meta.url));

export function tempDir(prefix = 'rc-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function worker(id: string, opts: Partial<WorkerNode> & { module?: string; config?: unknown } = {}): WorkerNode {
  const { module = ECHO, config, ...rest } = opts;
  return { kind: 'worker', id, actors: [{ path: id, module, config }], ...rest };
}

export function sup(id: string, children: TreeNode[], opts: Partial<SupervisorNode> = {}): SupervisorNode {
  return { kind: 'supervisor', id, children, ...opts };
}

export interface TestSystem {
  sys: ActorSystem;
  dir: string;
  close(): Promise<void>;
}

export async function boot(tree: SupervisorNode, kernel: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<TestSystem> {
  const dir = tempDir();
  const sys = await startSystem({
    config: { data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false }, kernel, ...extra },
    tree,
  });
  return {
    sys,
    dir,
    async close() {
      await sys.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `fn` returns true (state changes driven by other threads). */
export async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function incarnation(sys: ActorSystem, p: string): Promise<number> {
  return (await sys.ask<{ started: number }>(p, 'test.incarnation')).started;
}

export function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? 'no-code',
  );
}
