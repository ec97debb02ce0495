/** Control messages between the kernel (main thread) and a worker host, over the worker's parent port. */
import type { MessagePort } from 'node:worker_threads';

export interface HostActorSpec {
  path: string;
  /** Folder name under `actors/`, an absolute path or a `file:` URL of a compiled module. */
  module: string;
  config?: unknown;
  concurrency?: number;
  /** From `kernel.actors.<name>.on_crash`; wins over the module's own `onCrash`. */
  onCrash?: 'redeliver' | 'fail';
  /** Imported and set up on its first message instead of at boot (`kernel.actors.<name>.start: on_demand`). */
  onDemand?: boolean;
}

export type ControlToHost =
  | { t: 'link'; peer: string; port: MessagePort; started: Int32Array; side: 0 | 1 }
  | { t: 'down'; peer: string; code: 'actor_crashed' | 'actor_stuck' | 'actor_stopped'; why: string }
  | { t: 'stopped'; paths: string[] }
  | { t: 'dir'; entries: Array<[string, { node: string; onCrash: 'redeliver' | 'fail'; state: 'up' | 'down' | 'stopped' }]> }
  | { t: 'topic'; pattern: string; nodes: string[] }
  | { t: 'stats'; n: number }
  | { t: 'stop' }
  | { t: 'crash'; why: string };

export type ControlFromHost =
  | { t: 'ready'; actors: Array<{ path: string; onCrash: 'redeliver' | 'fail' }> }
  | { t: 'setup_failed'; error: { message: string; stack?: string } }
  /** An on-demand actor began (`on`) or finished its setup after boot: liveness allows setup grace meanwhile. */
  | { t: 'setup'; on: boolean; actors?: Array<{ path: string; onCrash: 'redeliver' | 'fail' }> }
  | { t: 'sub'; pattern: string; on: boolean }
  | { t: 'stats'; n: number; actors: Array<{ path: string; mailbox: number; handled: number; dormant?: boolean }>; heapUsed: number }
  | { t: 'stopped_ok' }
  | { t: 'log'; rec: import('./worker-log.js').LogRecord };
