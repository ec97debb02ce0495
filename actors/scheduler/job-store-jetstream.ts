/**
 * The scheduler's store on JetStream KV (bucket `rustyclaw_<cluster>_scheduler`), used instead of
 * the lmdb one when `transport: nats` and `nats.scheduler_store: jetstream`: jobs, routines and
 * heartbeat state outlive the process that holds the scheduler's lease, so the next holder
 * recovers them (pending ones queued again, running ones re-queued under a new epoch).
 *
 * Same contract as the lmdb store (`ActorStore`): reads are synchronous from a copy loaded at open;
 * a write is durable when its promise resolves (JetStream acknowledged it). Every write is a
 * compare-and-set on the key's last revision, so a process that lost the lease (paused, then
 * resumed) cannot overwrite what the new holder wrote: its write fails and is not applied.
 */
import type { KV } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ActorStore } from '../../src/kernel/actor.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** KV keys allow `[-/_=.A-Za-z0-9]` (no leading or trailing `.`): anything else, `.` and `=` are written `=XX` (`=uXXXX` beyond Latin-1). */
export function kvKey(key: string): string {
  return key.replace(/[^-/_A-Za-z0-9]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? '=' + n.toString(16).padStart(2, '0') : '=u' + n.toString(16).padStart(4, '0');
  });
}

export function storeKey(k: string): string {
  return k.replace(/=u([0-9a-f]{4})|=([0-9a-f]{2})/g, (_, u: string | undefined, h: string | undefined) => String.fromCharCode(parseInt((u ?? h)!, 16)));
}

export class StaleWriterError extends Error {
  readonly code = 'stale_writer';
}

interface Slot {
  value: unknown;
  /** Last revision written or read; 0 = absent (never written, or deleted). */
  rev: number;
}

export class JetStreamStore implements ActorStore {
  private readonly cache = new Map<string, Slot>();
  private readonly chains = new Map<string, Promise<unknown>>();

  private constructor(private readonly kv: KV, readonly bucket: string) {}

  static async open(nc: NatsConnection, bucket: string): Promise<JetStreamStore> {
    const kv = await new Kvm(nc).create(bucket, { history: 1 });
    const s = new JetStreamStore(kv, bucket);
    const n = (await kv.status()).values;
    if (n > 0) {
      // The last values of every key, up to the newest at this moment (delta 0), then stop watching.
      const it = await kv.watch({ ignoreDeletes: false });
      const guard = setTimeout(() => it.stop(), 60_000);
      for await (const e of it) {
        if (e.operation === 'PUT') s.cache.set(storeKey(e.key), { value: JSON.parse(dec.decode(e.value)), rev: e.revision });
        if (e.isUpdate || !e.delta) break;
      }
      clearTimeout(guard);
      it.stop();
    }
    return s;
  }

  get<T = unknown>(key: string): T | undefined {
    return this.cache.get(key)?.value as T | undefined;
  }

  /** Writes of one key run in order (each needs the revision of the one before). */
  private chain<T>(key: string, op: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(op, op);
    const tail = next.catch(() => {});
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return next;
  }

  put(key: string, value: unknown): Promise<boolean> {
    const slot = this.cache.get(key) ?? { value: undefined, rev: 0 };
    const before = slot.value;
    slot.value = value;
    this.cache.set(key, slot);
    const data = enc.encode(JSON.stringify(value));
    return this.chain(key, async () => {
      try {
        slot.rev = slot.rev === 0 ? await this.kv.create(kvKey(key), data) : await this.kv.update(kvKey(key), data, slot.rev);
        return true;
      } catch (err) {
        if (this.cache.get(key) === slot && slot.value === value) slot.value = before;
        throw this.stale(key, err);
      }
    });
  }

  remove(key: string): Promise<boolean> {
    const slot = this.cache.get(key);
    if (!slot) return Promise.resolve(false);
    this.cache.delete(key);
    return this.chain(key, async () => {
      try {
        await this.kv.delete(kvKey(key), { previousSeq: slot.rev });
        return true;
      } catch (err) {
        throw this.stale(key, err);
      }
    });
  }

  /** Applied in order, each one compare-and-set; not atomic as a whole (lmdb's is). */
  async batch(ops: Array<{ key: string; value?: unknown; remove?: boolean }>): Promise<void> {
    await Promise.all(ops.map((o) => (o.remove ? this.remove(o.key) : this.put(o.key, o.value))));
  }

  async flushed(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  *entries<T = unknown>(opts: { prefix?: string; limit?: number } = {}): Iterable<{ key: string; value: T }> {
    const keys = [...this.cache.keys()].filter((k) => !opts.prefix || k.startsWith(opts.prefix)).sort();
    let n = 0;
    for (const key of keys) {
      if (opts.limit !== undefined && n++ >= opts.limit) return;
      const s = this.cache.get(key);
      if (s) yield { key, value: s.value as T };
    }
  }

  private stale(key: string, err: unknown): Error {
    const msg = (err as Error).message;
    if (/wrong last sequence|exists/i.test(msg)) {
      return new StaleWriterError(`${this.bucket}: '${key}' was written by another scheduler process meanwhile (this one lost the lease?): ${msg}`);
    }
    return new Error(`${this.bucket}: writing '${key}' failed: ${msg}`);
  }
}
