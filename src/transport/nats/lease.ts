/**
 * Singleton leases in a JetStream KV bucket (`rustyclaw_<cluster>_leases`, one key per path,
 * history 1, TTL = `nats.lease_ttl_ms`). A process takes a lease with `create` (which fails while
 * another holds it) and renews it with `update` against the revision it wrote (which fails when
 * someone else took it). A holder that dies stops renewing; its key expires after the TTL and the
 * next `create` of another process wins: a process that finds the lease taken reads when the
 * holder last wrote it and tries again right when that write expires (and every 200 ms besides),
 * so a takeover comes within TTL of the holder's last renewal plus a round trip. A holder that
 * cannot renew for most of the TTL (cut off from NATS) gives the lease up locally first, so two
 * processes never both believe they hold it.
 */
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

export interface LeaseLog {
  warn(o: unknown, m?: string): void;
  debug(o: unknown, m?: string): void;
  error(o: unknown, m?: string): void;
}

export interface LeaseEvents {
  acquired(path: string): Promise<void>;
  lost(path: string): Promise<void>;
}

interface Held {
  revision: number;
  renewedAt: number;
}

export function leaseKey(path: string): string {
  return path.replace(/[^-/_=.a-zA-Z0-9]/g, '_').replace(/\//g, '.');
}

export class Leases {
  private kv: KV | null = null;
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | null = null;
  private readonly atExpiry = new Map<string, NodeJS.Timeout>();
  private ticking = false;
  private again = false;
  private closed = false;
  /**
   * Starting or stopping a singleton takes seconds; it runs beside the renewals (a renewal waiting
   * for it would let the lease expire), one transition after another.
   */
  private transitions: Promise<void> = Promise.resolve();
  /** When a lease was last seen free or taken over (for takeover measurements). */
  readonly acquiredAt = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly bucket: string,
    private readonly ttlMs: number,
    private readonly holder: string,
    private readonly paths: string[],
    private readonly events: LeaseEvents,
    private readonly log: LeaseLog,
  ) {}

  async open(): Promise<void> {
    this.kv = await new Kvm(this.nc).create(this.bucket, { ttl: this.ttlMs, history: 1 });
    await this.tick();
    // Renewals every TTL/3; a free lease is tried more often, so a takeover is not delayed by a whole period.
    this.timer = setInterval(() => void this.tick(), Math.max(50, Math.min(200, Math.floor(this.ttlMs / 3))));
    this.timer.unref();
  }

  holds(path: string): boolean {
    return this.held.has(path);
  }

  private async tick(): Promise<void> {
    if (this.closed || !this.kv) return;
    if (this.ticking) {
      this.again = true; // an expiry wake-up during a round: run another right after
      return;
    }
    this.ticking = true;
    try {
      do {
        this.again = false;
        for (const path of this.paths) await this.step(path);
      } while (this.again && !this.closed);
    } finally {
      this.ticking = false;
    }
  }

  private async step(path: string): Promise<void> {
    const kv = this.kv!;
    const key = leaseKey(path);
    const value = JSON.stringify({ holder: this.holder, at: new Date().toISOString() });
    const h = this.held.get(path);
    const now = Date.now();
    if (h) {
      if (now - h.renewedAt < this.ttlMs / 3) return;
      try {
        h.revision = await kv.update(key, value, h.revision);
        h.renewedAt = Date.now();
      } catch (err) {
        const msg = (err as Error).message;
        // Someone else's revision: it expired and was taken. Otherwise (NATS down) keep trying
        // until most of the TTL is gone, then give up locally before another can take it.
        if (/wrong last sequence|key exists|last sequence/i.test(msg) || now - h.renewedAt > this.ttlMs * 0.7) {
          this.held.delete(path);
          this.log.warn({ path, err: msg }, `lease of ${path} lost (${msg})`);
          this.transition(() => this.events.lost(path), 'stopping the singleton failed');
        }
      }
      return;
    }
    try {
      const revision = await kv.create(key, value);
      this.held.set(path, { revision, renewedAt: Date.now() });
      this.acquiredAt.set(path, Date.now());
      this.transition(() => this.events.acquired(path), 'starting the singleton failed');
    } catch (err) {
      const msg = (err as Error).message;
      if (!/wrong last sequence|key exists|exists/i.test(msg)) return void this.log.debug({ path, err: msg }, 'lease attempt failed');
      await this.tryAtExpiry(path, key);
    }
  }

  /** Taken: try again right when the holder's last write expires (not a poll period later). */
  private async tryAtExpiry(path: string, key: string): Promise<void> {
    if (this.atExpiry.has(path)) return;
    const e = await this.kv!.get(key).catch(() => null);
    if (!e || e.operation !== 'PUT') return;
    // The server's clock stamped `created`; on another machine skew only shifts this wake-up (the poll still runs).
    const wait = e.created.getTime() + this.ttlMs + 5 - Date.now();
    if (wait <= 0 || wait > this.ttlMs + 1000) return;
    const t = setTimeout(() => {
      this.atExpiry.delete(path);
      void this.tick();
    }, wait);
    t.unref();
    this.atExpiry.set(path, t);
  }

  /** The holder named in the lease of `path` now (its node name), if any. */
  async holderOf(path: string): Promise<string | undefined> {
    const e = await this.kv?.get(leaseKey(path)).catch(() => null);
    if (!e || e.operation !== 'PUT') return undefined;
    try {
      return String((JSON.parse(new TextDecoder().decode(e.value)) as { holder?: string }).holder ?? '').split(' ')[0] || undefined;
    } catch {
      return undefined;
    }
  }

  private transition(op: () => Promise<void>, what: string): void {
    this.transitions = this.transitions.then(op).catch((e) => this.log.error({ err: (e as Error).message }, what));
  }

  /** Resolves when the singletons have started or stopped as the leases say (tests, start-up). */
  settled(): Promise<void> {
    return this.transitions;
  }

  /** Hands back every lease this process holds (a graceful stop: the next holder need not wait for the TTL). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.atExpiry.values()) clearTimeout(t);
    const kv = this.kv;
    if (!kv) return;
    for (const [path, h] of this.held) {
      await kv.delete(leaseKey(path), { previousSeq: h.revision }).catch(() => {});
    }
    this.held.clear();
  }
}
