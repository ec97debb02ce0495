/** Boots an actor system of bench echo actors for the kernel scenarios. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSystem, type ActorSystem, type SupervisorNode, type WorkerNode } from '../../src/kernel/index.js';

export const ECHO_ACTOR = fileURLToPath(new URL('../actors/echo.js', import.meta.url));

export interface BenchKnobs {
  batch: number;
  askBatch: number;
  mailbox: number;
  overflow: 'wait' | 'fail';
  placement: 'dedicated' | 'shared';
  threads: number;
}

export function knobs(set: Record<string, string>): BenchKnobs {
  return {
    batch: Number(set.batch ?? 256),
    askBatch: Number(set.ask_batch ?? 32),
    mailbox: Number(set.mailbox ?? 1024),
    overflow: (set.overflow ?? 'wait') as 'wait' | 'fail',
    placement: (set.placement ?? 'dedicated') as 'dedicated' | 'shared',
    threads: Number(set.threads ?? 8),
  };
}

/** `actors` echo actors at bench/0..n-1: one thread each (dedicated) or packed into `threads` threads (shared). */
export function benchTree(actors: number, placement: 'dedicated' | 'shared', sharedThreads = 2): SupervisorNode {
  const workers: WorkerNode[] = [];
  if (placement === 'dedicated') {
    for (let i = 0; i < actors; i++) workers.push({ kind: 'worker', id: `bench/${i}`, actors: [{ path: `bench/${i}`, module: ECHO_ACTOR }] });
  } else {
    for (let t = 0; t < sharedThreads; t++) workers.push({ kind: 'worker', id: `thread/${t}`, actors: [] });
    for (let i = 0; i < actors; i++) workers[i % sharedThreads].actors.push({ path: `bench/${i}`, module: ECHO_ACTOR });
  }
  return { kind: 'supervisor', id: 'root', children: workers, intensity: 1000, periodMs: 1000 };
}

export async function bootBench(tree: SupervisorNode, k: BenchKnobs, kernel: Record<string, unknown> = {}): Promise<{ sys: ActorSystem; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-bench-'));
  const sys = await startSystem({
    config: {
      data_dir: dir,
      log: { level: 'silent' },
      endpoint: { enabled: false },
      kernel: { batch_max: k.batch, ask_batch_max: k.askBatch, mailbox: { capacity: k.mailbox, overflow: k.overflow }, placement: k.placement, ...kernel },
    },
    tree,
  });
  return {
    sys,
    async close() {
      await sys.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
