/**
 * `nats`: RustyClaw across two processes on a real nats-server against raw NATS in the same run.
 * - rustyclaw: this process joins the cluster with no actors of its own and asks `bench/0`, an echo
 *   actor in a child process (kernel routing → NATS → the child's kernel → its actor thread and
 *   back); events: the child publishes on a topic this process subscribes to.
 * - raw_nats: request/reply (`nc.request`, async traces off) to a bare responder in a child process; `calls_mux_per_s`
 *   the same asks sent as RustyClaw sends them (a publish with a reply subject of its own under one
 *   subscription, no Error or timer per request: what `nc.request` costs); and its publishes (a subject of
 *   the same length and the same envelope bytes as the rustyclaw events; a hoisted TextDecoder, as a
 *   user would write it). Event bursts of the two sides alternate, both children running.
 * - chaos: three processes run the scheduler (shared jobs through the work-queue stream, or with
 *   `--set mode=holder` a singleton); the lease holder is killed every `kill_every_s` for `chaos_s`
 *   while `jobs` jobs go in (see `chaos`).
 * Fresh payload per call; medians of the runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { measureCalls, type CallMetrics } from '../lib/measure.js';
import { median, round } from '../lib/stats.js';
import { startNatsServer } from '../../test/support/nats-server.js';
import { clientNode } from '../../test/support/nats-client-node.js';

const CHILD = fileURLToPath(new URL('../lib/nats-child.js', import.meta.url));

async function child(args: string[]): Promise<ChildProcess> {
  const c = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    c.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    c.once('exit', (code) => reject(new Error(`nats bench child ${args[0]} exited ${code}`)));
  });
  return c;
}

async function kill(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await gone;
}

/**
 * Raw request/reply without `nc.request`: one subscription `<inbox>.*`, a reply subject per call
 * (as RustyClaw's remote asks); the JSON reply decoded with one hoisted decoder.
 */
function rawMux(nc: NatsConnection, body: (p: unknown) => Uint8Array): (p: unknown) => Promise<unknown> {
  const prefix = `${createInbox()}.`;
  const waiting = new Map<number, (m: Msg) => void>();
  const dec = new TextDecoder();
  nc.subscribe(`${prefix}*`, {
    callback: (_e, m) => {
      const key = Number(m.subject.slice(prefix.length));
      const w = waiting.get(key);
      waiting.delete(key);
      w?.(m);
    },
  });
  let next = 1;
  return (p) =>
    new Promise<Msg>((resolve) => {
      const key = next++;
      waiting.set(key, resolve);
      nc.publish('raw.echo', body(p), { reply: prefix + key });
    }).then((m) => JSON.parse(dec.decode(m.data)));
}

/**
 * One side's event subscriber: `burst(n, s)` has `n` events with payload `{n: i, s}` published and
 * returns events per second from the trigger to the last one received.
 */
async function eventSide(subscribe: (onEvent: () => void) => Promise<() => void>, trigger: (n: number, s: string) => Promise<unknown>) {
  let got = 0;
  let want = 0;
  let done: () => void = () => {};
  const off = await subscribe(() => {
    if (++got === want) done();
  });
  return {
    off,
    async burst(n: number, s: string): Promise<number> {
      got = 0;
      want = n;
      const all = new Promise<void>((r) => (done = r));
      const t0 = performance.now();
      await trigger(n, s);
      await Promise.race([all, new Promise((r) => setTimeout(r, 60_000))]);
      return got / ((performance.now() - t0) / 1000);
    },
  };
}

/**
 * Chaos: three processes run the scheduler; `jobs` noop jobs are submitted with idempotency keys
 * (a submit that fails is retried with the same key); every `everyS` for `seconds` the process
 * holding the scheduler lease is killed with SIGKILL and started again.
 * - shared (default): every process takes jobs from the work-queue stream (ack wait 3 s), the
 *   lease holder fires routines; takeover = kill → another process holds the lease and answers
 *   the firing side's `routine.list`; split into kill → the holder's last write expires (set by
 *   the renewal phase, at most TTL), expiry → the new holder's lease, lease → ready.
 * - holder: the scheduler is a singleton (jobs in JetStream KV); takeover = kill → the scheduler
 *   answers from another process.
 * Counted from the job events and, for jobs whose events died with a process, `job.status` at the
 * end: done = completed, lost = submitted but unknown or not completed, duplicated = completed twice.
 */
async function chaos(url: string, nJobs: number, seconds: number, everyS: number, mode: 'shared' | 'holder') {
  const cluster = `chaos_${mode}`;
  const ttl = 2000;
  const dec = new TextDecoder();
  // A killed process is started again in the background, so the kills keep their cadence.
  const procs = new Map<string, Promise<ChildProcess>>();
  for (const n of ['c1', 'c2', 'c3']) procs.set(n, Promise.resolve(await child(['sched', url, cluster, n, mode])));
  const nc = await connect({ servers: url });
  const leases = await new Kvm(nc).open(`rustyclaw_${cluster}_leases`);
  let nextId = 1;
  const ask = async (type: string, payload: unknown, timeout = 5000): Promise<any> => {
    const m = await nc.request(`rustyclaw.${cluster}.system.scheduler`, JSON.stringify({ v: 1, op: 'ask', id: nextId++, to: 'system/scheduler', type, payload, timeout_ms: timeout }), { timeout: timeout + 500 });
    const r = JSON.parse(dec.decode(m.data));
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.payload;
  };
  const completions = new Map<string, number>();
  const ranOn = new Map<string, number>();
  nc.subscribe(`rustyclaw.${cluster}._topic.scheduler%2Ejobs`, {
    callback: (_e, m) => {
      const e = JSON.parse(dec.decode(m.data)).payload;
      if (e.event === 'finished' && e.state === 'completed') {
        completions.set(e.id, (completions.get(e.id) ?? 0) + 1);
        ranOn.set(e.node ?? '?', (ranOn.get(e.node ?? '?') ?? 0) + 1);
      }
    },
  });
  const leaseHolder = async (): Promise<{ node: string; created: number } | undefined> => {
    const e = await leases.get('system.scheduler').catch(() => null);
    if (!e || e.operation !== 'PUT') return undefined;
    return { node: String(JSON.parse(dec.decode(e.value)).holder).split(' ')[0]!, created: e.created.getTime() };
  };
  const ids: string[] = [];
  const takeovers: number[] = [];
  const parts: Array<{ to_expiry: number; expiry_to_lease: number; lease_to_ready: number }> = [];
  let kills = 0;
  // Submissions run beside the kills: a failed submit is retried with its key until accepted.
  const submitting = (async () => {
    const window = 64;
    let i = 0;
    const one = async (k: number) => {
      for (;;) {
        try {
          ids[k] = (await ask('job.submit', { kind: 'noop', key: `chaos-${k}`, retry: { max_attempts: 10, backoff_ms: 50 } })).id;
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    await Promise.all(Array.from({ length: window }, async () => {
      while (i < nJobs) await one(i++);
    }));
  })();
  const t0 = Date.now();
  for (let k = 1; k * everyS <= seconds; k++) {
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + k * everyS * 1000 - Date.now())));
    const h = await leaseHolder();
    if (!h || !procs.has(h.node)) continue;
    const killedAt = Date.now();
    await kill(await procs.get(h.node)!);
    kills++;
    // The holder's last renewal as stored before the kill (it may have renewed once more meanwhile).
    const last = (await leaseHolder())?.created ?? h.created;
    let leasedAt = 0;
    for (;;) {
      const now = await leaseHolder().catch(() => undefined);
      if (!leasedAt && now && now.node !== h.node) leasedAt = Date.now();
      if (leasedAt) {
        try {
          await (mode === 'shared' ? ask('routine.list', {}, 300) : ask('scheduler.stats', {}, 300));
          break;
        } catch {
          /* not ready yet */
        }
      } else if (mode === 'holder') {
        try {
          await ask('scheduler.stats', {}, 300);
          leasedAt = Date.now();
          break;
        } catch {
          /* not yet */
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const readyAt = Date.now();
    takeovers.push(readyAt - killedAt);
    parts.push({ to_expiry: Math.max(0, last + ttl - killedAt), expiry_to_lease: leasedAt - Math.max(killedAt, last + ttl), lease_to_ready: readyAt - leasedAt });
    const restarted = child(['sched', url, cluster, h.node, mode]);
    restarted.catch(() => {});
    procs.set(h.node, restarted);
  }
  await submitting;
  // Every job to a final state (the last holder finishes the rest), then count.
  const deadline = Date.now() + 300_000;
  let pendingIds = ids.filter((id) => (completions.get(id) ?? 0) === 0);
  while (pendingIds.length > 0 && Date.now() < deadline) {
    const still: string[] = [];
    for (const id of pendingIds) {
      const j = await ask('job.status', { id }).catch(() => null);
      if (j?.state === 'completed') {
        if (!completions.has(id)) completions.set(id, 1);
      } else still.push(id);
    }
    pendingIds = still;
    if (still.length) await new Promise((r) => setTimeout(r, 1000));
  }
  await nc.close();
  for (const c of procs.values()) await kill(await c);
  const done = ids.filter((id) => (completions.get(id) ?? 0) > 0).length;
  return {
    jobs: nJobs,
    done,
    lost: nJobs - done,
    duplicated: [...completions.values()].filter((n) => n > 1).length,
    kills,
    takeover_ms: takeovers.length ? Math.max(...takeovers) : 0,
    takeovers,
    parts,
    ranOn: Object.fromEntries([...ranOn].sort()),
  };
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const srv = await startNatsServer();
  const sizes = { rtt: opts.quick ? 500 : 3000, calls: opts.quick ? 5000 : 30_000, window: Number(opts.set.window ?? 256) };
  const nEvents = opts.quick ? 20_000 : 50_000;
  const runs = opts.quick ? 1 : 3;
  // Payload `{n, s}`: ~70-byte envelopes (the target figure) and ~1.1 KiB ones.
  const EVENT_SIZES: Array<[string, { n: number; s: string }]> = [
    ['events_per_s', { n: nEvents, s: 'hello' }],
    ['events_1k_per_s', { n: Math.ceil(nEvents / 2), s: 'x'.repeat(1024) }],
  ];
  const EVENT_PAIRS = 2;
  const per: Record<string, CallMetrics[]> = { rustyclaw: [], raw_nats: [], raw_nats_mux: [] };
  const ev: Record<string, Record<string, number[]>> = Object.fromEntries(EVENT_SIZES.map(([k]) => [k, { rustyclaw: [], raw_nats: [] }]));
  try {
    for (let r = 0; r < runs; r++) {
      const cluster = `bench${r}`;
      // The raw baseline's events: a subject of the same length as the rustyclaw side's, the same envelope bytes.
      const rawSubject = `raw_nats_.${cluster}._topic.bench.ev`;
      const raw = await child(['raw', srv.url, rawSubject]);
      // The raw side at its best: nats.js's async traces off (an Error with a stack per request and
      // its timer, which only help debugging), so its nc.request pays what it must.
      const nc: NatsConnection = await connect({ servers: srv.url, noAsyncTraces: true });
      const server = await child(['rustyclaw', srv.url, cluster, 'srv']);
      const c = await clientNode(srv.url, cluster, 'rc-bench-natsc-');
      try {
        const enc = new TextEncoder();
        const dec = new TextDecoder();
        per.raw_nats!.push(await measureCalls((p) => nc.request('raw.echo', enc.encode(JSON.stringify({ v: 1, op: 'ask', id: 1, to: 'bench/0', type: 'bench.echo', payload: p }))).then((m) => JSON.parse(dec.decode(m.data))), sizes));
        per.raw_nats_mux!.push(await measureCalls(rawMux(nc, (p) => enc.encode(JSON.stringify({ v: 1, op: 'ask', id: 1, to: 'bench/0', type: 'bench.echo', payload: p }))), sizes));
        per.rustyclaw!.push(await measureCalls((p) => c.sys.ask('bench/0', 'bench.echo', p), sizes));
        const sides = {
          raw_nats: await eventSide(
            async (on) => {
              const sub = nc.subscribe(rawSubject, { callback: (_e, m) => (JSON.parse(dec.decode(m.data)), on()) });
              await nc.flush();
              return () => sub.unsubscribe();
            },
            (n, s) => nc.request('raw.pub', JSON.stringify({ n, s }), { timeout: 60_000 }),
          ),
          rustyclaw: await eventSide(
            async (on) => {
              const off = c.sys.subscribe('bench/ev', () => on());
              await new Promise((res) => setTimeout(res, 600)); // the interest reaches the publisher with the next announcement
              return off;
            },
            (n, s) => c.sys.ask('bench/pub', 'bench.publish', { n, s }, { timeoutMs: 60_000 }),
          ),
        };
        // Interleaved bursts (the order swapped each pair), so a neighbour's load falls on both sides;
        // an untimed warm-up burst of a tenth first, so both are measured warm.
        for (const [key, size] of EVENT_SIZES) {
          for (const side of Object.values(sides)) await side.burst(Math.ceil(size.n / 10), size.s);
          for (let i = 0; i < EVENT_PAIRS; i++) {
            for (const name of i % 2 ? (['rustyclaw', 'raw_nats'] as const) : (['raw_nats', 'rustyclaw'] as const)) {
              ev[key]![name]!.push(await sides[name].burst(size.n, size.s));
            }
          }
        }
        for (const side of Object.values(sides)) side.off();
      } finally {
        await nc.close();
        await kill(raw);
        await c.t.stop();
        await c.sys.stop();
        await kill(server);
      }
    }
    const chaosS = Number(opts.set.chaos_s ?? (opts.quick ? 20 : 60));
    const nJobs = Number(opts.set.jobs ?? (opts.quick ? 2000 : 10_000));
    const mode = opts.set.mode === 'holder' ? 'holder' : 'shared';
    const ch = await chaos(srv.url, nJobs, chaosS, Number(opts.set.kill_every_s ?? 10), mode);
    const results: Record<string, Record<string, number | null>> = {};
    for (const name of ['rustyclaw', 'raw_nats']) {
      results[name] = {
        rtt_p50_us: round(median(per[name]!.map((m) => m.rtt_p50_us))),
        calls_per_s: Math.round(median(per[name]!.map((m) => m.calls_per_s))),
        ...Object.fromEntries(EVENT_SIZES.map(([k]) => [k, Math.round(median(ev[k]![name]!))])),
      };
    }
    results.raw_nats!.calls_mux_per_s = Math.round(median(per.raw_nats_mux!.map((m) => m.calls_per_s)));
    results.chaos = { jobs: ch.jobs, done: ch.done, lost: ch.lost, duplicated: ch.duplicated, kills: ch.kills, takeover_ms: ch.takeover_ms };
    const rc = results.rustyclaw as Record<string, number>;
    const rn = results.raw_nats as Record<string, number>;
    return {
      results,
      ratios: {
        rtt_p50_vs_raw: round(rc.rtt_p50_us / rn.rtt_p50_us, 2),
        calls_vs_raw: round(rc.calls_per_s / rn.calls_per_s, 2),
        calls_vs_raw_mux: round(rc.calls_per_s / rn.calls_mux_per_s, 2),
        events_vs_raw: round(rc.events_per_s / rn.events_per_s, 2),
        events_1k_vs_raw: round(rc.events_1k_per_s / rn.events_1k_per_s, 2),
      },
      notes: [
        `loopback nats-server ${srv.url}; ${runs} runs, medians; ${sizes.window} asks in flight; ${nEvents} events per burst (~70-byte envelope; events_1k: ${Math.ceil(nEvents / 2)} of ~1.1 KiB), ${EVENT_PAIRS} raw/rustyclaw pairs of bursts per run, interleaved, after an untimed warm-up burst of a tenth; raw events on a subject of the same length with the same envelope; bursts (events/s): ${JSON.stringify(ev, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}; small fresh payload per call; raw_nats.calls_per_s: nc.request on a connection with noAsyncTraces (still a timer and a 'cancelled' Error per request), raw_nats.calls_mux_per_s: the same asks as a publish with a reply subject of its own under one subscription, as RustyClaw sends them`,
        `chaos (${mode} jobs): 3 processes running the scheduler (lease TTL 2000 ms${mode === 'shared' ? ', work-queue stream, ack wait 3000 ms' : ', jobs in JetStream KV'}), ${nJobs} noop jobs, the lease holder killed (SIGKILL) every ${opts.set.kill_every_s ?? 10} s for ${chaosS} s and restarted; takeovers ms: ${ch.takeovers.join(', ')}`,
        `takeover parts ms (kill→last renewal expires / expiry→new lease / lease→ready): ${ch.parts.map((p) => `${p.to_expiry}/${p.expiry_to_lease}/${p.lease_to_ready}`).join(', ')}`,
        `jobs completed per process (restarted ones keep their name): ${JSON.stringify(ch.ranOn)}`,
        'duplicated = jobs completed twice',
      ],
    };
  } finally {
    await srv.stop();
  }
}
