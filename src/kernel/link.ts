/**
 * A Link is one direction-pair of traffic between this thread and one peer thread over a MessagePort.
 *
 * - Outgoing items are batched: they accumulate until the end of the current microtask (or until
 *   `batchMax` items), then go out in one postMessage. Idle traffic therefore pays no latency, and
 *   traffic under load is batched automatically.
 * - Flow control is credit based (like Akka's reliable delivery): each tell/ask carries a sequence
 *   number, the peer acknowledges the highest number it has *started* to process, and at most
 *   `window` messages may be unacknowledged. The window is the target's mailbox capacity as seen
 *   by this sender; beyond it a sender waits or fails, per config.
 * - Unacknowledged messages are kept, so when the peer crashes they can be redelivered to its
 *   successor (or failed back to their senders) instead of vanishing.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Kind, type Frame, type PackedFrame, type WireItem, type WireMessage } from '../../protocol/wire.js';
import { pack, unpack, StringTable } from './codec.js';

export interface LinkOptions {
  window: number;
  batchMax: number;
  /** Most asks and replies in one frame (see `flush`); at most batchMax. */
  askBatchMax: number;
}

export class Link {
  readonly peer: string;
  private port: MessagePort | null = null;
  private readonly opts: LinkOptions;
  private out: WireItem[] = [];
  private flushScheduled = false;
  private nextSeq = 1;
  /** Highest of our sequence numbers the peer has started processing. */
  private acked = 0;
  /** Sent or queued messages not yet acknowledged, in sequence order. */
  private unacked: WireMessage[] = [];
  /** Highest of the peer's sequence numbers we have started; sent back piggy-backed. */
  private ackOut = 0;
  private ackSent = 0;
  private creditWaiters: Array<() => void> = [];
  private started: Int32Array | null = null;
  /** This end's value in `started` (only this end writes it): no Atomics.load per message. */
  private startedMark = 0;
  /** Strings this side has sent / received on the current port (reset with each new port). */
  private txStrings = new StringTable();
  private rxStrings = new StringTable();
  private side: 0 | 1 = 0;
  private readonly onFrame: (link: Link, frame: Frame) => void;
  /** Called for a tell/ask/event that could not be serialized (the router fails it back). */
  onUnsendable: (item: WireItem, reason: string) => void = () => {};

  private readonly resumeAt: number;
  /**
   * Items per postMessage right now: `batchMax` for small messages, fewer when posting a frame takes
   * long (large payloads). A frame the receiver cannot start on until it is fully serialised stalls
   * the pipeline: 256 × 64 KB in one frame ran at half the unbatched rate (measured, bench `ask`).
   */
  private cap: number;

  constructor(peer: string, opts: LinkOptions, onFrame: (link: Link, frame: Frame) => void) {
    this.peer = peer;
    this.opts = opts;
    this.resumeAt = Math.max(0, opts.window - Math.max(1, Math.min(opts.batchMax, Math.floor(opts.window / 2))));
    this.onFrame = onFrame;
    this.cap = opts.batchMax;
  }

  get connected(): boolean {
    return this.port !== null;
  }

  hasCredit(): boolean {
    return this.unacked.length < this.opts.window;
  }

  /** Resolves when a credit is free (used by senders under the `wait` overflow policy). */
  waitCredit(): Promise<void> {
    return new Promise((resolve) => this.creditWaiters.push(resolve));
  }

  /**
   * `started` is shared memory between the two ends: slot `side` holds the highest sequence number
   * this end has started, the other slot the peer's. Written with one atomic store per message (no
   * extra postMessage), it tells exactly which messages a crashed peer had begun, even when its
   * acknowledgement never left the thread.
   */
  attach(port: MessagePort, started: Int32Array, side: 0 | 1): void {
    this.port = port;
    this.started = started;
    this.side = side;
    this.startedMark = Atomics.load(started, side);
    this.txStrings = new StringTable();
    this.rxStrings = new StringTable();
    port.on('message', (frame: PackedFrame) => this.receive(frame));
    // Messages queued while the peer was down are renumbered for the new incarnation.
    this.nextSeq = 1;
    this.acked = 0;
    this.ackOut = 0;
    this.ackSent = 0;
    for (const m of this.unacked) {
      m.s = this.nextSeq++;
      this.out.push(m);
    }
    this.scheduleFlush();
  }

  /**
   * The peer is gone. Returns the messages it never started (by the shared `started` slot), so the
   * router can redeliver or fail them; all other queued output to a dead peer is dropped.
   */
  detach(): WireMessage[] {
    if (this.port) {
      // Replies the peer posted just before dying may still sit in the port (the crash notice comes
      // over another channel): take them first so that they are not reported as failures.
      let m: { message: PackedFrame } | undefined;
      while ((m = receiveMessageOnPort(this.port) as { message: PackedFrame } | undefined)) this.receive(m.message);
      this.port.removeAllListeners('message');
      this.port.close();
    }
    // Not connected: what is queued was renumbered for no incarnation yet, and none has started it.
    const peerStarted = this.port && this.started ? Atomics.load(this.started, 1 - this.side) : 0;
    this.port = null;
    this.started = null;
    const pending = this.unacked.filter((m) => m.s > peerStarted);
    this.unacked = [];
    this.out = [];
    // Senders waiting for credit re-check it: what they send now waits for the successor.
    const waiters = this.creditWaiters;
    this.creditWaiters = [];
    for (const w of waiters) w();
    return pending;
  }

  /** Re-queue messages (for redelivery) that will go out when the link is attached again. */
  requeue(msgs: WireMessage[]): void {
    for (const m of msgs) this.unacked.push(m);
  }

  /** Drop a message that will never be delivered (it could not be serialized). */
  forget(msg: WireMessage): void {
    const i = this.unacked.indexOf(msg);
    if (i >= 0) this.unacked.splice(i, 1);
  }

  /**
   * Take back a message that is still in this side's unposted batch (its caller gave up in the same
   * turn it sent it): true when it was, and then it is never posted. Once posted, it is the peer's.
   */
  withdraw(msg: WireMessage): boolean {
    const i = this.out.indexOf(msg);
    if (i < 0) return false;
    this.out.splice(i, 1);
    this.forget(msg);
    return true;
  }

  send(msg: WireMessage): void {
    msg.s = this.nextSeq++;
    this.unacked.push(msg);
    if (this.port) this.push(msg);
  }

  /** Replies and events: not sequenced, not credited, dropped if the peer is down. */
  sendItem(item: WireItem): void {
    if (this.port) this.push(item);
  }

  noteStarted(seq: number): void {
    // A high-water mark: with several actors on one thread, a message queued behind a busy actor
    // starts after later ones; the slot must never move back, or started messages would look
    // unstarted and be redelivered (run twice).
    if (this.started && seq > this.startedMark) {
      this.startedMark = seq;
      Atomics.store(this.started, this.side, seq);
    }
    if (seq > this.ackOut) {
      this.ackOut = seq;
      this.scheduleFlush();
    }
  }

  private push(item: WireItem): void {
    this.out.push(item);
    if (this.out.length >= this.cap) this.flush();
    else this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * Posts what this turn queued. Asks and replies go out in frames of at most `askBatchMax` of them,
   * tells and events in frames of up to the batch cap: a caller that keeps N asks in flight sends
   * the next ones as replies arrive, so one frame of all N makes the two threads take turns (one
   * serialises or waits while the other works). Cut into frames, the peer starts on the first while
   * this side serialises the rest, and its replies come back frame by frame, which keeps the
   * pipeline cut (bench `ask`, docs/decisions.md "Ask frames"). All of a turn's frames are posted
   * here, at its end, so an ask aborted in the turn that sent it is still withdrawn unposted.
   */
  flush(): void {
    if (!this.port) return;
    const hasAck = this.ackOut > this.ackSent;
    if (this.out.length === 0 && !hasAck) return;
    const items = this.out;
    this.out = [];
    // The acknowledgement rides on the first frame.
    let ack: number | undefined;
    if (hasAck) ack = this.ackSent = this.ackOut;
    const most = this.opts.askBatchMax;
    let calls = 0;
    let from = 0;
    for (let i = 0; i + 1 < items.length; i++) {
      const k = items[i].k;
      if ((k === Kind.Ask || k === Kind.Reply) && ++calls === most) {
        this.post(items.slice(from, i + 1), ack);
        ack = undefined;
        from = i + 1;
        calls = 0;
      }
    }
    this.post(from === 0 ? items : items.slice(from), ack);
  }

  private post(items: WireItem[], ack: number | undefined): void {
    const port = this.port;
    if (!port) return;
    const frame: PackedFrame = {};
    const mark = this.txStrings.size;
    if (items.length > 0) frame.m = pack(items, this.txStrings);
    if (ack !== undefined) frame.a = ack;
    try {
      const t0 = performance.now();
      port.postMessage(frame);
      const ms = performance.now() - t0;
      // Aim at frames that serialise in under ~2 ms: long enough to amortise a post, short enough
      // that the receiver starts while the sender serialises the next. Only large items (> 20 µs
      // each to post; a 64 KB object takes ~30+, a small one < 1) shrink the batch, so a thread
      // preempted on a loaded machine does not shrink batches of small messages.
      if (ms > 2 && items.length > 1 && ms / items.length > 0.02) this.cap = Math.max(1, items.length >> 1);
      else if (ms < 0.5 && this.cap < this.opts.batchMax && items.length >= this.cap) this.cap = Math.min(this.opts.batchMax, this.cap * 2);
    } catch (err) {
      // A payload that cannot be cloned (a function, a socket...) must not take the thread down:
      // post items one by one and turn the uncloneable ones into error replies.
      this.txStrings.rollback(mark);
      this.postEach(items, ack, err);
    }
  }

  private postEach(items: WireItem[], ack: number | undefined, err: unknown): void {
    const port = this.port!;
    if (ack !== undefined) port.postMessage({ a: ack });
    for (const item of items) {
      const mark = this.txStrings.size;
      try {
        port.postMessage({ m: pack([item], this.txStrings) });
      } catch {
        this.txStrings.rollback(mark);
        const message = `message could not be serialized: ${(err as Error).message}`;
        if (item.k === Kind.Reply) {
          port.postMessage({ m: pack([{ k: Kind.Reply, id: item.id, e: { code: 'invalid_message', message } }], this.txStrings) });
        } else {
          this.onUnsendable(item, message);
        }
      }
    }
  }

  private receive(packed: PackedFrame): void {
    const frame: Frame = { a: packed.a, m: packed.m ? unpack(packed.m, this.rxStrings) : undefined };
    if (frame.a !== undefined && frame.a > this.acked) {
      this.acked = frame.a;
      let drop = 0;
      while (drop < this.unacked.length && this.unacked[drop].s <= frame.a) drop++;
      if (drop > 0) this.unacked.splice(0, drop);
      // Waiting senders resume only once a whole batch worth of credit is free: resuming on every
      // single credit locks both threads into posting tiny frames (measured: 2.6 messages a frame).
      if (this.creditWaiters.length > 0 && this.unacked.length <= this.resumeAt) {
        const waiters = this.creditWaiters;
        this.creditWaiters = [];
        for (const w of waiters) w();
      }
    }
    this.onFrame(this, frame);
  }
}
