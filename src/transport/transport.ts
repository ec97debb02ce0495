/**
 * A transport exposes the actor system to other processes with the external envelope
 * (protocol/envelope.ts). The WebSocket endpoint is the built-in one; NATS plugs in behind the same
 * interface when one machine is not enough.
 */
import type { ActorSystem } from '../kernel/system.js';

export interface Transport {
  readonly name: string;
  /** Starts serving; resolves with the address clients use. */
  start(sys: ActorSystem): Promise<{ url: string }>;
  stop(): Promise<void>;
}
