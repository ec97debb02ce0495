/**
 * Sessions in the actor's lmdb store: one record per message (with its cached token count) and a
 * meta record, so appending a turn writes only that turn and compaction deletes only what it drops.
 * Layout: `s:<id>|meta`, `s:<id>|m|<seq, 12 digits>`.
 */
import type { ActorStore } from '../../src/kernel/actor.js';
import type { ChatMessage } from '../../protocol/provider.js';
import { messageTokens } from './tokens.js';

export interface Entry {
  seq: number;
  m: ChatMessage;
  /** Cached token count of `m`. */
  t: number;
}

export interface SessionMeta {
  id: string;
  created_at: number;
  updated_at: number;
  next_seq: number;
  /** User messages ever received. */
  turns: number;
  compactions: number;
  /** Executive summary of compacted turns (strategy summarize). */
  summary?: string;
  /** Pointers kept in context, e.g. where old turns were archived. */
  notes: string[];
}

export interface Session {
  meta: SessionMeta;
  live: Entry[];
  /** Sum of `live[i].t`. */
  liveTokens: number;
}

const enc = (id: string) => encodeURIComponent(id);
const metaKey = (id: string) => `s:${enc(id)}|meta`;
const msgPrefix = (id: string) => `s:${enc(id)}|m|`;
const msgKey = (id: string, seq: number) => `${msgPrefix(id)}${String(seq).padStart(12, '0')}`;

export class SessionStore {
  private readonly cache = new Map<string, Session>();

  constructor(private readonly store: ActorStore, private readonly maxCached = 32) {}

  exists(id: string): boolean {
    const hit = this.cache.get(id);
    return (hit !== undefined && hit.meta.next_seq > 0) || this.store.get(metaKey(id)) !== undefined;
  }

  load(id: string): Session {
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    const meta = this.store.get<SessionMeta>(metaKey(id)) ?? {
      id, created_at: Date.now(), updated_at: Date.now(), next_seq: 0, turns: 0, compactions: 0, notes: [],
    };
    const live: Entry[] = [];
    let liveTokens = 0;
    for (const { value } of this.store.entries<Entry>({ prefix: msgPrefix(id) })) {
      const e = { seq: value.seq, m: value.m, t: typeof value.t === 'number' ? value.t : messageTokens(value.m) };
      live.push(e);
      liveTokens += e.t;
    }
    const s: Session = { meta: { ...meta, notes: meta.notes ?? [] }, live, liveTokens };
    this.cache.set(id, s);
    if (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value as string);
    return s;
  }

  async append(s: Session, msgs: ChatMessage[]): Promise<Entry[]> {
    const added: Entry[] = [];
    for (const m of msgs) {
      const e: Entry = { seq: s.meta.next_seq++, m, t: messageTokens(m) };
      if (m.role === 'user') s.meta.turns++;
      s.live.push(e);
      s.liveTokens += e.t;
      added.push(e);
    }
    s.meta.updated_at = Date.now();
    await this.store.batch([
      ...added.map((e) => ({ key: msgKey(s.meta.id, e.seq), value: e })),
      { key: metaKey(s.meta.id), value: s.meta },
    ]);
    return added;
  }

  /**
   * Remove what a failed turn appended (entries from `fromSeq` on that are still live), so the next
   * request does not carry an unanswered user message; compaction may already have folded some away.
   */
  async rollback(s: Session, fromSeq: number): Promise<number> {
    const i = s.live.findIndex((e) => e.seq >= fromSeq);
    if (i < 0) return 0;
    const dropped = s.live.splice(i);
    s.meta.turns -= dropped.filter((e) => e.m.role === 'user').length;
    s.meta.updated_at = Date.now();
    s.liveTokens = s.live.reduce((n, e) => n + e.t, 0);
    await this.store.batch([...dropped.map((e) => ({ key: msgKey(s.meta.id, e.seq), remove: true })), { key: metaKey(s.meta.id), value: s.meta }]);
    return dropped.length;
  }

  /** Drop `live[0..cut)` and persist meta changes (summary/notes) and rewritten entries in one batch. */
  async compact(s: Session, cut: number, rewritten: Entry[] = []): Promise<Entry[]> {
    const dropped = s.live.splice(0, cut);
    s.meta.compactions++;
    s.meta.updated_at = Date.now();
    s.liveTokens = s.live.reduce((n, e) => n + e.t, 0);
    await this.store.batch([
      ...dropped.map((e) => ({ key: msgKey(s.meta.id, e.seq), remove: true })),
      ...rewritten.map((e) => ({ key: msgKey(s.meta.id, e.seq), value: e })),
      { key: metaKey(s.meta.id), value: s.meta },
    ]);
    return dropped;
  }

  async saveMeta(s: Session): Promise<void> {
    await this.store.put(metaKey(s.meta.id), s.meta);
  }

  list(): Array<{ session: string; turns: number; updated_at: number }> {
    const out: Array<{ session: string; turns: number; updated_at: number }> = [];
    for (const { key, value } of this.store.entries<SessionMeta>({ prefix: 's:' })) {
      if (key.endsWith('|meta')) out.push({ session: value.id, turns: value.turns, updated_at: value.updated_at });
    }
    return out.sort((a, b) => b.updated_at - a.updated_at);
  }

  async reset(id: string): Promise<boolean> {
    const had = this.exists(id);
    this.cache.delete(id);
    const keys = [...this.store.entries({ prefix: msgPrefix(id) })].map((e) => e.key);
    await this.store.batch([...keys.map((key) => ({ key, remove: true })), { key: metaKey(id), remove: true }]);
    return had;
  }
}
