/**
 * The loopback LLM of the streaming benches in a process of its own, as a real provider is: the
 * reader (the service, or a direct client) then pays a cross-process hop to an idle thread, and the
 * bench process's own reading does not share an event loop with the server's writing.
 *
 * Parent side: `startLlmProcess(kind)` forks this file; IPC messages push scripted behaviours and
 * fetch the write times of the last request's text pieces (`performance.timeOrigin + now()`,
 * comparable across processes on one machine).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface LlmModule {
  startLlmServer(kind: 'openai' | 'anthropic'): Promise<{ url: string; requests: Array<{ piece_at?: number[] }>; script: unknown[]; close(): Promise<void> }>;
}

type ToChild = { op: 'script'; behaviour: unknown } | { op: 'last_pieces'; id: number };
type FromChild = { op: 'ready'; url: string } | { op: 'pieces'; id: number; at: number[] };

export interface LlmProcess {
  url: string;
  push(behaviour: unknown): void;
  /** Write times of the text pieces of the most recent request. */
  lastPieces(): Promise<number[]>;
  close(): Promise<void>;
}

export async function startLlmProcess(kind: 'openai' | 'anthropic'): Promise<LlmProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['child', kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: FromChild) => (m.op === 'ready' ? resolve(m.url) : reject(new Error('llm child: unexpected first message'))));
    child.once('exit', (c) => reject(new Error(`llm child exited ${c} before listening`)));
  });
  let next = 0;
  const waiting = new Map<number, (at: number[]) => void>();
  child.on('message', (m: FromChild) => {
    if (m.op === 'pieces') waiting.get(m.id)?.(m.at);
  });
  const send = (m: ToChild) => child.send(m);
  return {
    url,
    push: (behaviour) => send({ op: 'script', behaviour }),
    lastPieces: () => new Promise((resolve) => {
      const id = next++;
      waiting.set(id, (at) => {
        waiting.delete(id);
        resolve(at);
      });
      send({ op: 'last_pieces', id });
    }),
    close: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

if (process.argv[2] === 'child' && process.send) {
  const { startLlmServer } = (await import(new URL('../../test/support/llm-servers.js', import.meta.url).href)) as LlmModule;
  const llm = await startLlmServer(process.argv[3] === 'anthropic' ? 'anthropic' : 'openai');
  process.on('message', (m: ToChild) => {
    if (m.op === 'script') llm.script.push(m.behaviour);
    else process.send!({ op: 'pieces', id: m.id, at: llm.requests[llm.requests.length - 1]?.piece_at ?? [] } satisfies FromChild);
  });
  process.on('disconnect', () => void llm.close().then(() => process.exit(0)));
  process.send({ op: 'ready', url: llm.url } satisfies FromChild);
}
