/**
 * Shared jobs: the firing side (routines, heartbeats, webhooks; routine-service.ts) runs on the one
 * process holding the scheduler lease (`system/scheduler` in the KV bucket
 * `rustyclaw_<cluster>_leases`), so every cron, event or webhook firing submits one job, once. Its
 * state lives in the KV bucket `rustyclaw_<cluster>_scheduler`, loaded by each new holder. The
 * other processes forward the firing side's messages to the holder over
 * `rustyclaw.<cluster>._scheduler.leader` (request/reply).
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { ActorError } from '../../src/kernel/actor.js';
import { Leases } from '../../src/transport/nats/lease.js';
import { JetStreamStore } from './job-store-jetstream.js';
import { FIRING_TYPES, type FiringService, type FiringType, type Reply } from './routine-service.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
export const SCHEDULER_LEASE = 'system/scheduler';

export interface FiringLeaderOptions {
  nc: NatsConnection;
  cluster: string;
  node: string;
  ttlMs: number;
  build(store: JetStreamStore): Promise<FiringService>;
  log: { warn(o: unknown, m?: string): void; info(o: unknown, m?: string): void; error(o: unknown, m?: string): void; debug(o: unknown, m?: string): void };
}

export class FiringLeader {
  private service: FiringService | null = null;
  private store: JetStreamStore | null = null;
  private sub: Subscription | null = null;
  private leases: Leases | null = null;
  readonly subject: string;
  /** When this process last became the holder (ms since epoch). */
  acquiredAt = 0;

  constructor(private readonly o: FiringLeaderOptions) {
    this.subject = `rustyclaw.${o.cluster}._scheduler.leader`;
  }

  get leading(): boolean {
    return this.service !== null;
  }

  current(): FiringService | null {
    return this.service;
  }

  async start(): Promise<void> {
    this.leases = new Leases(this.o.nc, `rustyclaw_${this.o.cluster}_leases`, this.o.ttlMs, `${this.o.node} pid ${process.pid}`, [SCHEDULER_LEASE], {
      acquired: () => this.acquired(),
      lost: () => this.lost(),
    }, this.o.log as never);
    await this.leases.open();
    await this.leases.settled();
  }

  private async acquired(): Promise<void> {
    const store = await JetStreamStore.open(this.o.nc, `rustyclaw_${this.o.cluster}_scheduler`);
    this.store = store;
    this.service = await this.o.build(store);
    this.sub = this.o.nc.subscribe(this.subject, { callback: (err, m) => (err ? this.o.log.warn({ err: err.message }, 'leader subscription error') : void this.onForward(m)) });
    this.acquiredAt = Date.now();
    this.o.log.info({ node: this.o.node }, `scheduler lease acquired: routines and heartbeats fire in this process (node ${this.o.node})`);
  }

  private async lost(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = null;
    this.service?.stop();
    this.service = null;
    await this.store?.flushed().catch(() => {});
    this.store = null;
    this.o.log.warn({ node: this.o.node }, 'scheduler lease lost: routines and heartbeats stop firing here');
  }

  /** Who holds the lease now (its node name), read from the bucket. */
  async holder(): Promise<string | undefined> {
    return this.leases?.holderOf(SCHEDULER_LEASE);
  }

  /** A firing-side message: answered here when this process leads, else by the holder. */
  async call<K extends FiringType>(type: K, payload: unknown): Promise<Reply<K>> {
    if (this.service) return this.service.handle(type, payload);
    let m: Msg;
    try {
      m = await this.o.nc.request(this.subject, enc.encode(JSON.stringify({ type, payload: payload ?? {} })), { timeout: 15_000 });
    } catch (err) {
      const e = err as Error;
      if (/no responders|503/i.test(e.message + e.name)) throw new ActorError('no_leader', `${type}: no process of cluster '${this.o.cluster}' holds the scheduler lease right now (a takeover is in progress); retry`);
      throw new ActorError('timeout', `${type}: the scheduler lease holder did not answer on ${this.subject}: ${e.message}`);
    }
    const r = JSON.parse(dec.decode(m.data)) as { ok: boolean; payload?: unknown; error?: { code: string; message: string } };
    if (!r.ok) throw new ActorError(r.error?.code ?? 'handler_error', r.error?.message ?? `${type}: failed on the lease holder`);
    return r.payload as Reply<K>;
  }

  private async onForward(m: Msg): Promise<void> {
    const reply = (body: object) => {
      try {
        m.respond(JSON.stringify(body));
      } catch (err) {
        this.o.log.warn({ subject: m.subject, err: (err as Error).message }, `${m.subject}: could not reply`);
      }
    };
    let req: { type?: unknown; payload?: unknown };
    try {
      req = JSON.parse(dec.decode(m.data)) as typeof req;
    } catch (err) {
      return reply({ ok: false, error: { code: 'invalid_message', message: `${m.subject}: not valid JSON (${(err as Error).message})` } });
    }
    const type = req?.type;
    if (typeof type !== 'string' || !(FIRING_TYPES as readonly string[]).includes(type)) {
      return reply({ ok: false, error: { code: 'invalid_message', message: `${m.subject}: type: expected one of ${FIRING_TYPES.join(', ')}` } });
    }
    const s = this.service;
    if (!s) return reply({ ok: false, error: { code: 'no_leader', message: `${type}: node ${this.o.node} just lost the scheduler lease; retry` } });
    try {
      reply({ ok: true, payload: await s.handle(type as FiringType, req.payload) });
    } catch (err) {
      const e = err as ActorError;
      reply({ ok: false, error: { code: typeof e.code === 'string' ? e.code : 'handler_error', message: e.message } });
    }
  }

  /** Stops firing here first, then hands the lease back (the next holder need not wait for the TTL). */
  async close(): Promise<void> {
    if (this.service) await this.lost();
    await this.leases?.close();
  }
}
