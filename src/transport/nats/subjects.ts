/**
 * Subjects on the bus (docs/nats.md). An actor path `system/memory` is the subject
 * `rustyclaw.<cluster>.system.memory`; a topic `agents/default/events` is
 * `rustyclaw.<cluster>._topic.agents.default.events`. A segment character NATS reserves
 * (`.`, `*`, `>`, whitespace) or `%` is written `%XX`, so every path and topic has one subject.
 * Tokens starting with `_` after the cluster are the kernel's own.
 */
export const PREFIX = 'rustyclaw';

const RESERVED = /[%.*>\s]/g;

export function encodeSegment(seg: string): string {
  if (seg === '') return '%';
  return seg.replace(RESERVED, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

export function decodeSegment(tok: string): string {
  if (tok === '%') return '';
  return tok.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export class Subjects {
  readonly base: string;
  constructor(readonly cluster: string) {
    this.base = `${PREFIX}.${cluster}`;
  }
  /** Request/reply subject of an actor path (a queue group across the processes that run it). */
  actor(path: string): string {
    return `${this.base}.${path.split('/').map(encodeSegment).join('.')}`;
  }
  /** The path an actor subject names, or null when it is not one (a kernel subject, another cluster). */
  pathOf(subject: string): string | null {
    if (!subject.startsWith(this.base + '.')) return null;
    const toks = subject.slice(this.base.length + 1).split('.');
    if (toks[0]!.startsWith('_')) return null;
    return toks.map(decodeSegment).join('/');
  }
  /** Kernel-to-kernel requests for one process (the sender chose that process). */
  nodeInbox(node: string): string {
    return `${this.base}._node.${node}`;
  }
  /** Announcements: each process's actors and subscribed topics, every heartbeat. */
  get nodes(): string {
    return `${this.base}._nodes`;
  }
  private readonly topicCache = new Map<string, string>();
  /** Events are the hot path: a topic's subject is computed once (the cache is bounded). */
  topic(topic: string): string {
    let s = this.topicCache.get(topic);
    if (s === undefined) {
      s = `${this.base}._topic.${topic.split('/').map(encodeSegment).join('.')}`;
      if (this.topicCache.size >= 4096) this.topicCache.clear();
      this.topicCache.set(topic, s);
    }
    return s;
  }
  topicOf(subject: string): string | null {
    const head = `${this.base}._topic.`;
    if (!subject.startsWith(head)) return null;
    return subject.slice(head.length).split('.').map(decodeSegment).join('/');
  }
  /**
   * The NATS subscription that covers a topic pattern (exact, or a prefix ending in `*`). A prefix
   * that ends inside a segment subscribes to its whole parent; the receiver filters exactly.
   */
  topicPattern(pattern: string): string {
    if (!pattern.endsWith('*')) return this.topic(pattern);
    const segs = pattern.slice(0, -1).split('/');
    segs.pop(); // the partial (or empty) last segment
    return segs.length ? `${this.base}._topic.${segs.map(encodeSegment).join('.')}.>` : `${this.base}._topic.>`;
  }
}

/** Patterns minus those another covers (a prefix pattern covers what starts with its prefix): no event matches two. */
export function coverOf(patterns: Iterable<string>): string[] {
  const all = [...new Set(patterns)];
  return all.filter((p) => !all.some((q) => q !== p && q.endsWith('*') && p.startsWith(q.slice(0, -1))));
}
