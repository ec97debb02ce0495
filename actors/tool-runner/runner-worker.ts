/**
 * A runner thread: executes one sandboxed call at a time (runSandboxed) and keeps the compiled
 * modules it was sent, by key, so a warm call only instantiates. Host-function HTTP requests go
 * to the parent (the tool-runner actor, which holds the secrets) and this thread blocks on a
 * SharedArrayBuffer until the answer is written there.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MemoryPool, importsMemory, runSandboxed, type SandboxSpec } from './sandbox.js';

export interface RunnerRunMsg {
  t: 'run';
  id: number;
  key: string;
  module?: WebAssembly.Module;
  spec: Omit<SandboxSpec, 'module' | 'http'>;
  network: boolean;
  httpTimeoutMs: number;
}

const port = parentPort!;
const sab = (workerData as { sab: SharedArrayBuffer }).sab;
const ctl = new Int32Array(sab, 0, 2);
const data = new Uint8Array(sab, 8);
const modules = new Map<string, WebAssembly.Module>();
const MAX_MODULES = 64;
const memories = new MemoryPool(MAX_MODULES);

function httpBridge(id: number, timeoutMs: number): (req: Uint8Array) => Uint8Array {
  return (req) => {
    Atomics.store(ctl, 0, 0);
    port.postMessage({ t: 'http', id, req });
    const r = Atomics.wait(ctl, 0, 0, timeoutMs + 1000);
    if (r === 'timed-out') return new TextEncoder().encode(JSON.stringify({ error: { code: 'timeout', message: `host request timed out after ${timeoutMs} ms` } }));
    return data.slice(0, Atomics.load(ctl, 1));
  };
}

port.on('message', (m: RunnerRunMsg) => {
  if (m.t !== 'run') return;
  if (m.module) {
    if (modules.size >= MAX_MODULES) modules.delete(modules.keys().next().value!);
    modules.set(m.key, m.module);
  }
  const module = modules.get(m.key);
  if (!module) {
    port.postMessage({ t: 'done', id: m.id, missing: true });
    return;
  }
  const pages = importsMemory(module) ? m.spec.memoryPages : undefined;
  const memory = pages ? memories.take(m.key, pages) : undefined;
  const outcome = runSandboxed({ ...m.spec, module, ...(memory ? { memory } : {}), ...(m.network ? { http: httpBridge(m.id, m.httpTimeoutMs) } : {}) });
  if (memory && pages) memories.give(m.key, memory, pages);
  port.postMessage({ t: 'done', id: m.id, outcome });
});
port.postMessage({ t: 'ready' });
