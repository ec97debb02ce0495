/** What the parts of the NATS transport (remote asks, inbound requests, topics) share of it. */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { ActorSystem } from '../../kernel/system.js';
import type { NatsConfig } from './config.js';
import type { Peers } from './peers.js';
import type { Subjects } from './subjects.js';

export interface NatsLink {
  readonly cfg: NatsConfig;
  readonly log: Logger;
  readonly subjects: Subjects;
  readonly peers: Peers;
  readonly node: string;
  readonly cluster: string;
  /** The connection (null before start). */
  conn(): NatsConnection | null;
  isConnected(): boolean;
  isStopping(): boolean;
  /** The actor system (set at start, before any message flows). */
  system(): ActorSystem;
}
