/**
 * Liveness: telling a stuck thread from a starved or paused process.
 *
 * Each worker bumps a counter in shared memory from a timer every `interval_ms` (host.ts): a thread
 * whose event loop is stuck cannot run that timer. The main thread reads the counters (no replies to
 * queue behind its own timers, so a blocked main thread never mistakes queued answers for silence)
 * and judges each thread:
 *
 * - silent for half its deadline: *suspect* (logged once, with the figures);
 * - silent past its deadline: *stuck* if it used CPU while silent (≥ 20 ms and ≥ 1 % of the time:
 *   JavaScript that does not yield, an endless loop — whatever the load); one that used none is waiting for
 *   a CPU (starved: CPU hogs, cgroup throttling) or in a blocking call, and its judgement is
 *   *extended* up to twice the deadline, after which it is ended anyway (that kill does not count
 *   toward the supervisor's restart intensity: the kernel may have misjudged starvation). Where
 *   per-thread CPU time cannot be read, it is stuck if the other threads answer and the main thread
 *   is not lagging, else extended the same way;
 * - time the main thread itself did not run (blocked, `SIGSTOP`ped, a laptop lid) is not counted
 *   against anyone: the silence may be the pause, not the thread.
 *
 * A thread in setup (imports, native library loads, model compiles) gets `setup_grace_ms` instead.
 * CPU time per thread comes from /proc/self/task/<tid>/stat (Linux); elsewhere the progress rule
 * alone decides.
 */
import { threadCpuMs } from '../lib/proc.js';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';

export interface LivenessOptions {
  /** How often workers beat; also the granularity of judgement (checks run at most every 50 ms). */
  intervalMs: number;
  log: Logger;
}

/** One watched thread. */
export interface Watched {
  readonly id: string;
  /** Int32 slot 0: beat counter written by the worker; slot 1: its OS thread id (0 until known). */
  readonly beat: Int32Array;
  deadlineMs: number;
  setupGraceMs: number;
  setup: boolean;
  /** Called once when judged stuck; `starved`: ended at the hard cap while the process was starved. */
  onStuck(detail: string, starved: boolean): void;
}

interface State {
  w: Watched;
  count: number;
  /** performance.now() of the last observed beat (or of the end of a main-thread pause). */
  seen: number;
  suspect: boolean;
  extended: boolean;
  cpuAtSuspect: number | null;
  suspectAt: number;
  /** In a declared blocking load at the last judgement (blocking.ts). */
  loading?: boolean;
}

export class LivenessMonitor {
  private readonly opts: LivenessOptions;
  private readonly watched = new Map<Watched, State>();
  private timer: NodeJS.Timeout | null = null;
  private tickMs = 50;
  /** Until the tree is ready (see tick): a main-thread lag then is logged as start-up, not as a fault. */
  starting = true;
  private lastTick = 0;
  private readonly delay: IntervalHistogram;
  /** Main-thread lag (ms) of recent ticks, newest last. */
  private lags: number[] = [];
  /** Stuck verdicts and extensions, for status and the bench. */
  readonly counts = { suspect: 0, extended: 0, stuck: 0, paused_ms: 0 };

  constructor(opts: LivenessOptions) {
    this.opts = opts;
    this.delay = monitorEventLoopDelay({ resolution: 20 });
  }

  watch(w: Watched): void {
    this.watched.set(w, { w, count: Atomics.load(w.beat, 0), seen: performance.now(), suspect: false, extended: false, cpuAtSuspect: null, suspectAt: 0 });
    this.retune();
  }

  /** Setup finished: from now on the running deadline applies, counted from this moment. */
  ready(w: Watched): void {
    w.setup = false;
    const s = this.watched.get(w);
    if (s) {
      s.seen = performance.now();
      s.suspect = s.extended = false;
    }
  }

  unwatch(w: Watched): void {
    this.watched.delete(w);
    this.retune();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.delay.disable();
  }

  private retune(): void {
    if (this.watched.size === 0) {
      this.stop();
      return;
    }
    let min = Infinity;
    for (const s of this.watched.keys()) min = Math.min(min, s.deadlineMs);
    const tick = Math.max(5, Math.min(50, Math.floor(min / 10)));
    if (this.timer && tick === this.tickMs) return;
    if (this.timer) clearInterval(this.timer);
    else this.delay.enable();
    this.tickMs = tick;
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), tick);
    this.timer.unref();
  }

  /** Main thread's worst lag over the recent ticks covering `windowMs`. */
  private recentLag(windowMs: number): number {
    const n = Math.max(1, Math.ceil(windowMs / this.tickMs));
    let max = 0;
    for (let i = Math.max(0, this.lags.length - n); i < this.lags.length; i++) max = Math.max(max, this.lags[i]);
    return max;
  }

  private tick(): void {
    const now = performance.now();
    const lag = Math.max(0, now - this.lastTick - this.tickMs);
    this.lastTick = now;
    this.lags.push(lag);
    if (this.lags.length > 400) this.lags.splice(0, this.lags.length - 400);
    for (const s of this.watched.values()) {
      const c = Atomics.load(s.w.beat, 0);
      if (c !== s.count) {
        s.count = c;
        s.seen = now;
        if (s.suspect) this.opts.log.info({ thread: s.w.id }, 'thread answered again; no longer suspect');
        s.suspect = s.extended = false;
        s.cpuAtSuspect = null;
        continue;
      }
      // The main thread did not run for `lag` ms (blocked, or the whole process paused): that time
      // says nothing about the worker, whose own beat timer was held up just as long.
      if (lag > Math.min(s.w.deadlineMs / 4, 250)) s.seen = Math.min(now, s.seen + lag);
    }
    if (lag > 250) {
      this.counts.paused_ms += lag;
      const figures = { main_lag_ms: Math.round(lag), event_loop_delay_max_ms: Math.round(this.delay.max / 1e6) };
      // While the tree starts, the main thread's own module loading (the endpoint's, ~0.3 s on a
      // slow device) is the usual cause: expected, not a warning on every start.
      if (this.starting) this.opts.log.info(figures, 'main thread did not run for a while during start-up (loading modules, or the process was paused); liveness judgement extended');
      else this.opts.log.warn(figures, 'main thread did not run for a while (blocked or paused); liveness judgement extended');
      this.delay.reset();
    }
    for (const s of this.watched.values()) this.judge(s, now);
  }

  private judge(s: State, now: number): void {
    // In setup, or inside a declared blocking load (blocking.ts, slot 2): the setup grace applies.
    const declared = s.w.beat.length > 2 && Atomics.load(s.w.beat, 2) !== 0;
    if (s.loading && !declared) {
      // The load just finished: that is a sign of life. Its silence must not count against the
      // running deadline (which it would, until the thread's next beat arrives).
      s.seen = now;
      s.suspect = s.extended = false;
    }
    s.loading = declared;
    const loading = s.w.setup || declared;
    const limit = loading ? Math.max(s.w.deadlineMs, s.w.setupGraceMs) : s.w.deadlineMs;
    const silent = now - s.seen;
    // Suspect from half the deadline, but never before a beat is even due.
    if (silent <= Math.min(limit, Math.max(limit / 2, this.opts.intervalMs + this.tickMs))) return;
    const tid = Atomics.load(s.w.beat, 1);
    if (!s.suspect) {
      s.suspect = true;
      s.suspectAt = now;
      s.cpuAtSuspect = threadCpuMs(tid);
      this.counts.suspect++;
      this.opts.log.warn({ thread: s.w.id, silent_ms: Math.round(silent), deadline_ms: limit, setup: loading }, 'thread is late with its liveness beat (suspect)');
      return;
    }
    if (silent <= limit) return;
    const cpuNow = threadCpuMs(tid);
    const window = now - s.suspectAt;
    const cpuShare = cpuNow !== null && s.cpuAtSuspect !== null && window >= 50 ? (cpuNow - s.cpuAtSuspect) / window : null;
    const mainLag = this.recentLag(limit);
    let othersAnswering = 0;
    let others = 0;
    for (const o of this.watched.values()) {
      if (o === s || o.w.setup) continue;
      others++;
      if (now - o.seen < o.w.deadlineMs / 2) othersAnswering++;
    }
    const progress = (others === 0 || othersAnswering > 0) && mainLag < limit / 4;
    // Burning CPU while silent is an endless loop whatever the load; no CPU while silent is
    // starvation (or a blocking syscall), extended up to twice the deadline.
    // A thread waiting for a CPU, or idle with its beat due, uses none (a thread that runs its event
    // loop at all also runs its beat timer); one running JavaScript without yielding uses some even on
    // a starved core (4 % beside 4 CPU hogs on one core, measured). Two clock ticks (20 ms) and 1 %
    // of the window tell the two apart at /proc's 10 ms resolution.
    const cpuUsed = cpuNow !== null && s.cpuAtSuspect !== null ? cpuNow - s.cpuAtSuspect : null;
    const busy = cpuShare === null || cpuUsed === null ? progress : cpuUsed >= 20 && cpuShare >= 0.01;
    const figures = {
      thread: s.w.id,
      silent_ms: Math.round(silent),
      deadline_ms: limit,
      cpu_share: cpuShare === null ? null : Math.round(cpuShare * 100) / 100,
      main_lag_ms: Math.round(mainLag),
      others_answering: `${othersAnswering}/${others}`,
      setup: loading,
    };
    if (busy || silent > 2 * limit) {
      const starved = !busy;
      this.counts.stuck++;
      this.watched.delete(s.w);
      this.opts.log.error(figures, starved ? 'thread silent for twice its deadline in a starved process; ended as stuck' : 'thread is stuck; ending it');
      s.w.onStuck(`no liveness beat for ${Math.round(silent)} ms (deadline ${limit} ms${cpuShare === null ? '' : `, cpu ${Math.round(cpuShare * 100)}% while silent`})`, starved);
      return;
    }
    if (!s.extended) {
      s.extended = true;
      this.counts.extended++;
      this.opts.log.warn(figures, 'thread is late but the process is starved; extending its deadline');
    }
  }
}
