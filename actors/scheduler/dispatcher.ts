/**
 * Pure dispatch logic, no I/O and an injectable clock: which queued job may start now under the
 * global and per-agent parallelism limits, backoff delays, worker leases and their expiry.
 *
 * Queue: one FIFO per agent key (`''` for jobs without an agent); `take()` picks, among agents
 * with a free slot, the queue whose head was enqueued first — so a busy agent never blocks
 * another agent's jobs (no head-of-line blocking) and order is FIFO otherwise.
 * Delayed jobs (retry backoff) wait in a min-heap until `not_before`.
 * Leases: a started job holds a lease on a worker; the worker's heartbeats renew every lease it
 * holds; `expired(now)` names the workers whose leases ran out (stuck or silent).
 */

export interface DispatchLimits {
  maxParallel: number;
  maxPerAgent: number;
  perAgent?: Record<string, number>;
}

export interface Queued {
  id: string;
  agent?: string;
  notBefore?: number;
}

class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

class MinHeap<T> {
  private a: T[] = [];
  constructor(private readonly key: (x: T) => number) {}
  get size(): number {
    return this.a.length;
  }
  peek(): T | undefined {
    return this.a[0];
  }
  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.key(a[p]) <= this.key(a[i])) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.key(a[l]) < this.key(a[m])) m = l;
        if (r < a.length && this.key(a[r]) < this.key(a[m])) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

interface Entry {
  id: string;
  agent: string;
  seq: number;
  notBefore: number;
}

export class Dispatcher {
  private seq = 0;
  private readonly ready = new Map<string, Fifo<Entry>>();
  private readonly delayed = new MinHeap<Entry>((e) => e.notBefore);
  /** ids queued (ready or delayed) → entry; removal is lazy (a removed id is skipped when popped). */
  private readonly queued = new Map<string, Entry>();
  private readonly runningByAgent = new Map<string, number>();
  /** running job id → agent key and the worker holding its lease. */
  private readonly running = new Map<string, { agent: string; worker?: string }>();
  private readonly workerLease = new Map<string, number>();

  constructor(
    private limits: DispatchLimits,
    private readonly clock: () => number,
    private readonly leaseMs: number,
  ) {}

  setLimits(l: DispatchLimits): void {
    this.limits = l;
  }

  get queuedCount(): number {
    return this.queued.size;
  }
  get runningCount(): number {
    return this.running.size;
  }
  isQueued(id: string): boolean {
    return this.queued.has(id);
  }
  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  enqueue(q: Queued): void {
    if (this.queued.has(q.id) || this.running.has(q.id)) return;
    const e: Entry = { id: q.id, agent: q.agent ?? '', seq: this.seq++, notBefore: q.notBefore ?? 0 };
    this.queued.set(q.id, e);
    if (e.notBefore > this.clock()) this.delayed.push(e);
    else this.pushReady(e);
  }

  /** Remove a queued job (cancel). Returns whether it was queued. */
  dequeue(id: string): boolean {
    return this.queued.delete(id);
  }

  private pushReady(e: Entry): void {
    let f = this.ready.get(e.agent);
    if (!f) this.ready.set(e.agent, (f = new Fifo()));
    f.push(e);
  }

  private agentLimit(agent: string): number {
    if (agent === '') return Infinity;
    return this.limits.perAgent?.[agent] ?? this.limits.maxPerAgent;
  }

  /** Milliseconds until the next delayed job becomes ready (undefined when none). */
  nextDelay(): number | undefined {
    this.promoteDue();
    const top = this.delayed.peek();
    return top ? Math.max(0, top.notBefore - this.clock()) : undefined;
  }

  private promoteDue(): void {
    const now = this.clock();
    for (let top = this.delayed.peek(); top && top.notBefore <= now; top = this.delayed.peek()) {
      this.delayed.pop();
      if (this.queued.get(top.id) === top) this.pushReady(top);
    }
  }

  /** The head of an agent's ready queue, dropping lazily-removed entries first. */
  private liveHead(f: Fifo<Entry>): Entry | undefined {
    let h = f.peek();
    while (h && this.queued.get(h.id) !== h) {
      f.shift();
      h = f.peek();
    }
    return h;
  }

  /** Whether a queued job is due now (whatever the limits say): what makes the worker pool worth starting. */
  hasReady(): boolean {
    this.promoteDue();
    for (const f of this.ready.values()) if (this.liveHead(f)) return true;
    return false;
  }

  /** Start as many ready jobs as the limits allow (at most `max`); each takes a slot until `release`. */
  take(max = Infinity): string[] {
    this.promoteDue();
    const out: string[] = [];
    while (out.length < max && this.running.size < this.limits.maxParallel) {
      let best: Fifo<Entry> | undefined;
      let bestSeq = Infinity;
      for (const [agent, f] of this.ready) {
        const h = this.liveHead(f);
        if (!h) {
          this.ready.delete(agent);
          continue;
        }
        if ((this.runningByAgent.get(agent) ?? 0) >= this.agentLimit(agent)) continue;
        if (h.seq < bestSeq) {
          bestSeq = h.seq;
          best = f;
        }
      }
      if (!best) break;
      const e = best.shift()!;
      this.queued.delete(e.id);
      this.running.set(e.id, { agent: e.agent });
      this.runningByAgent.set(e.agent, (this.runningByAgent.get(e.agent) ?? 0) + 1);
      out.push(e.id);
    }
    return out;
  }

  /** Mark a running job as recovered from an earlier incarnation (counts against limits). */
  adoptRunning(id: string, agent?: string): void {
    if (this.running.has(id)) return;
    const a = agent ?? '';
    this.running.set(id, { agent: a });
    this.runningByAgent.set(a, (this.runningByAgent.get(a) ?? 0) + 1);
  }

  /** The job's slot is free again (finished, failed, cancelled or re-queued). */
  release(id: string): void {
    const r = this.running.get(id);
    if (!r) return;
    this.running.delete(id);
    this.runningByAgent.set(r.agent, (this.runningByAgent.get(r.agent) ?? 1) - 1);
  }

  /** The job now runs on `worker`, whose lease starts (or is renewed) now. */
  assign(id: string, worker: string): void {
    const r = this.running.get(id);
    if (r) r.worker = worker;
    this.renew(worker);
  }

  renew(worker: string): void {
    this.workerLease.set(worker, this.clock() + this.leaseMs);
  }

  forgetWorker(worker: string): void {
    this.workerLease.delete(worker);
  }

  /** Workers holding at least one running job whose lease has expired. */
  expired(): string[] {
    const now = this.clock();
    const out = new Set<string>();
    for (const r of this.running.values()) {
      if (r.worker !== undefined && (this.workerLease.get(r.worker) ?? 0) < now) out.add(r.worker);
    }
    return [...out];
  }

  /** Running job ids on a worker. */
  jobsOn(worker: string): string[] {
    const out: string[] = [];
    for (const [id, r] of this.running) if (r.worker === worker) out.push(id);
    return out;
  }
}

/** Exponential backoff: `base · 2^(attempt-1)`, capped. `attempt` counts from 1. */
export function backoffDelay(baseMs: number, attempt: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}
