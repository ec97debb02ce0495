/**
 * `nats`: RustyClaw across two processes on a real nats-server against raw NATS in the same run.
 * - rustyclaw: this process joins the cluster with no actors of its own and asks `bench/0`, an echo
 *   actor in a child process (kernel routing → NATS → the child's kernel → its actor thread and
 *   back); events: the child publishes on a topic this process subscribes to.
 * - raw_nats: request/reply to a bare responder in a child process, and its publishes.
 * - chaos: three processes run a singleton (`bench/single`, lease TTL 2 s); the holder is killed
 *   every `kill_every_s` for `chaos_s` and restarted; takeover = kill → another process answers.
 * Fresh payload per call; medians of the runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Value } from '@sinclair/typebox/value';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { measureCalls, type CallMetrics } from '../lib/measure.js';
import { median, round } from '../lib/stats.js';
import { startNatsServer } from '../../test/support/nats-server.js';
import { ActorSystem } from '../../src/kernel/system.js';
import { validateConfig } from '../../src/config/load.js';
import { NatsTransport } from '../../src/transport/nats.js';
import { NatsConfigSchema } from '../../src/transport/nats/config.js';

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

async function clientNode(url: string, cluster: string): Promise<{ sys: ActorSystem; t: NatsTransport }> {
  const config = validateConfig({ data_dir: mkdtempSync(path.join(tmpdir(), 'rc-bench-natsc-')), log: { level: 'silent' }, endpoint: { enabled: false }, transport: 'nats' });
  const nats = Value.Default(NatsConfigSchema, { servers: [url], cluster, node: 'client', heartbeat_ms: 250, node_timeout_ms: 1500 }) as typeof config.nats;
  const log = pino({ level: 'silent' });
  const sys = new ActorSystem(config, { kind: 'supervisor', id: 'root', children: [] }, log);
  await sys.start();
  const t = new NatsTransport({ config: nats, log });
  await t.start(sys);
  return { sys, t };
}

async function eventsPerS(n: number, subscribe: (onEvent: () => void) => Promise<() => void>, trigger: () => Promise<unknown>): Promise<number> {
  let got = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  const off = await subscribe(() => {
    if (++got === n) done();
  });
  const t0 = performance.now();
  await trigger();
  await Promise.race([all, new Promise((r) => setTimeout(r, 60_000))]);
  const secs = (performance.now() - t0) / 1000;
  off();
  return got / secs;
}

async function chaos(url: string, seconds: number, everyS: number): Promise<{ kills: number; takeover_ms: number; takeovers: number[] }> {
  const cluster = 'chaos';
  const procs = new Map<string, ChildProcess>();
  for (const n of ['c1', 'c2', 'c3']) procs.set(n, await child(['single', url, cluster, n]));
  const nc = await connect({ servers: url });
  const holder = async (): Promise<string | undefined> => {
    try {
      const m = await nc.request(`rustyclaw.${cluster}.bench.single`, JSON.stringify({ v: 1, op: 'ask', id: 1, to: 'bench/single', type: 'bench.echo', payload: { n: 1 } }), { timeout: 200 });
      if (!JSON.parse(new TextDecoder().decode(m.data)).ok) return undefined;
      return m.headers?.get('x') ?? 'someone';
    } catch {
      return undefined;
    }
  };
  const takeovers: number[] = [];
  let kills = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    await new Promise((r) => setTimeout(r, everyS * 1000));
    // Find the holder through discovery and kill it.
    const infos: Array<{ metadata: { node: string }; endpoints: Array<{ metadata: { path: string } }> }> = [];
    const inbox = `_INBOX.chaos.${kills}`;
    const sub = nc.subscribe(inbox, { callback: (_e, m) => void infos.push(JSON.parse(new TextDecoder().decode(m.data))) });
    nc.publish(`$SRV.INFO.rustyclaw-${cluster}`, '', { reply: inbox });
    await new Promise((r) => setTimeout(r, 300));
    sub.unsubscribe();
    const h = infos.find((i) => i.endpoints.some((e) => e.metadata.path === 'bench/single'))?.metadata.node;
    if (!h) continue;
    const killedAt = Date.now();
    await kill(procs.get(h)!);
    kills++;
    // Takeover: the singleton answers again (from another process).
    while (!(await holder())) await new Promise((r) => setTimeout(r, 20));
    takeovers.push(Date.now() - killedAt);
    procs.set(h, await child(['single', url, cluster, h]));
  }
  await nc.close();
  for (const c of procs.values()) await kill(c);
  return { kills, takeover_ms: takeovers.length ? Math.max(...takeovers) : 0, takeovers };
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const srv = await startNatsServer();
  const sizes = { rtt: opts.quick ? 500 : 3000, calls: opts.quick ? 5000 : 30_000, window: Number(opts.set.window ?? 256) };
  const nEvents = opts.quick ? 20_000 : 100_000;
  const runs = opts.quick ? 1 : 3;
  const per: Record<string, CallMetrics[]> = { rustyclaw: [], raw_nats: [] };
  const ev: Record<string, number[]> = { rustyclaw: [], raw_nats: [] };
  try {
    for (let r = 0; r < runs; r++) {
      // raw NATS baseline
      const raw = await child(['raw', srv.url]);
      const nc: NatsConnection = await connect({ servers: srv.url });
      try {
        const enc = new TextEncoder();
        per.raw_nats!.push(await measureCalls((p) => nc.request('raw.echo', enc.encode(JSON.stringify({ v: 1, op: 'ask', id: 1, to: 'bench/0', type: 'bench.echo', payload: p }))).then((m) => JSON.parse(new TextDecoder().decode(m.data))), sizes));
        ev.raw_nats!.push(
          await eventsPerS(
            nEvents,
            async (on) => {
              const s = nc.subscribe('raw.ev', { callback: (_e, m) => (JSON.parse(new TextDecoder().decode(m.data)), on()) });
              await nc.flush();
              return () => s.unsubscribe();
            },
            () => nc.request('raw.pub', JSON.stringify({ n: nEvents }), { timeout: 60_000 }),
          ),
        );
      } finally {
        await nc.close();
        await kill(raw);
      }
      // RustyClaw: kernel routing across processes
      const cluster = `bench${r}`;
      const server = await child(['rustyclaw', srv.url, cluster, 'srv']);
      const c = await clientNode(srv.url, cluster);
      try {
        per.rustyclaw!.push(await measureCalls((p) => c.sys.ask('bench/0', 'bench.echo', p), sizes));
        ev.rustyclaw!.push(
          await eventsPerS(
            nEvents,
            async (on) => {
              const off = c.sys.subscribe('bench/ev', () => on());
              await new Promise((res) => setTimeout(res, 600)); // the interest reaches the publisher with the next announcement
              return off;
            },
            () => c.sys.ask('bench/pub', 'bench.publish', { n: nEvents }, { timeoutMs: 60_000 }),
          ),
        );
      } finally {
        await c.t.stop();
        await c.sys.stop();
        await kill(server);
      }
    }
    const chaosS = Number(opts.set.chaos_s ?? (opts.quick ? 20 : 60));
    const ch = await chaos(srv.url, chaosS, Number(opts.set.kill_every_s ?? 10));
    const results: Record<string, Record<string, number | null>> = {};
    for (const name of ['rustyclaw', 'raw_nats']) {
      results[name] = {
        rtt_p50_us: round(median(per[name]!.map((m) => m.rtt_p50_us))),
        calls_per_s: Math.round(median(per[name]!.map((m) => m.calls_per_s))),
        events_per_s: Math.round(median(ev[name]!)),
      };
    }
    // Durable jobs on JetStream are not implemented (docs/nats.md): no job figures are claimed.
    results.chaos = { jobs: null, done: null, lost: null, duplicated: null, kills: ch.kills, takeover_ms: ch.takeover_ms };
    const rc = results.rustyclaw as Record<string, number>;
    const rn = results.raw_nats as Record<string, number>;
    return {
      results,
      ratios: {
        rtt_p50_vs_raw: round(rc.rtt_p50_us / rn.rtt_p50_us, 2),
        calls_vs_raw: round(rc.calls_per_s / rn.calls_per_s, 2),
        events_vs_raw: round(rc.events_per_s / rn.events_per_s, 2),
      },
      notes: [
        `loopback nats-server ${srv.url}; ${runs} runs, medians; ${sizes.window} asks in flight; ${nEvents} events per run; small fresh payload per call`,
        `chaos: 3 processes, singleton bench/single (lease TTL 2000 ms), holder killed every ${opts.set.kill_every_s ?? 10} s for ${chaosS} s; takeovers ms: ${ch.takeovers.join(', ')}`,
        'chaos jobs/done/lost/duplicated: null — durable jobs on a JetStream work queue are not implemented yet',
      ],
    };
  } finally {
    await srv.stop();
  }
}
