/**
 * An ActorStore kept in memory, for turns whose conversation is given by the caller and must not
 * be stored (agent.complete): the same session code runs over it and it is dropped afterwards.
 */
import type { ActorStore } from '../../src/kernel/actor.js';

export class MemoryStore implements ActorStore {
  private readonly m = new Map<string, unknown>();

  get<T = unknown>(key: string): T | undefined {
    return this.m.get(key) as T | undefined;
  }
  put(key: string, value: unknown): Promise<boolean> {
    this.m.set(key, value);
    return Promise.resolve(true);
  }
  remove(key: string): Promise<boolean> {
    return Promise.resolve(this.m.delete(key));
  }
  batch(ops: Array<{ key: string; value?: unknown; remove?: boolean }>): Promise<void> {
    for (const o of ops) {
      if (o.remove) this.m.delete(o.key);
      else this.m.set(o.key, o.value);
    }
    return Promise.resolve();
  }
  flushed(): Promise<void> {
    return Promise.resolve();
  }
  *entries<T = unknown>(opts: { prefix?: string; limit?: number } = {}): Iterable<{ key: string; value: T }> {
    const keys = [...this.m.keys()].filter((k) => !opts.prefix || k.startsWith(opts.prefix)).sort();
    let n = 0;
    for (const key of keys) {
      if (opts.limit !== undefined && n++ >= opts.limit) return;
      yield { key, value: this.m.get(key) as T };
    }
  }
}
