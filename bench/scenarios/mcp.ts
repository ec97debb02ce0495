/**
 * Bench scenario `mcp`: tool calls to server-everything's `echo` over stdio through system/mcp,
 * against a direct SDK client to the same server (another child of the same script), same run.
 *
 * Reported (`--json`: results.rustyclaw.{call_ms_p50, calls_per_s}, results.direct.{call_ms_p50},
 * results.restart.{back_ms}):
 *   rustyclaw.call_ms_p50   — one `mcp.call` from the main thread: kernel ask to the mcp actor,
 *                             argument check, the SDK call over stdio, the safety pass (injection scan
 *                             + leak redaction on the safety actor's thread), reply
 *   rustyclaw.safety_pass_ms_p50 — the safety pass alone (the one `safety.guard_tool_output` ask
 *                             the actor makes per result), to see the actor path's own share
 *   rustyclaw.calls_per_s   — `mcp.call`s pipelined (window in flight), full path
 *   rustyclaw.cpu_us_per_call, direct.cpu_us_per_call — CPU of this process (all its threads) per
 *                             pipelined call; server_cpu_us_per_call: the server child's (from /proc)
 *                             — load-insensitive, unlike the rates on a shared machine
 *   server.calls_per_s      — the server alone: raw JSON-RPC lines pipelined to a fresh
 *                             server-everything over stdio, no SDK client (the ceiling of any client)
 *   direct.call_ms_p50      — baseline: `client.callTool` of a plain SDK Client in this thread
 *   hop.raw_worker_rtt_ms_p50 — a bare worker's postMessage round trip, interleaved with the calls:
 *                             ratios.floor_*_vs_direct = what one or two such hops alone add to a call
 *   direct.calls_per_s      — the same pipelined
 *   restart.start_ms        — the server's own start: spawn → handshake → first echo answered (a direct
 *                             client, 2025 handshake), measured right before each kill
 *   restart.back_ms         — kill -9 of the server under system/mcp → `connected` event → a successful call
 *                             (the first connect probed 2026-07-28; restarts reuse the era verdict: no probe)
 *   restart.detect_ms, backoff_ms, setup_ms, handshake_ms, tools_ms, call_ms — back_ms in parts: kill →
 *                             `disconnected` event; then the connection's own phases (mcp.list
 *                             connect_phases: backoff delay, client setup, spawn + initialize = the
 *                             server's start, tools/list — on a restart re-read beside the first
 *                             call, not part of back_ms); the first call after `connected`
 *   ratios.back_minus_start_paired_ms — the median of each restart's back_ms − the start measured right before it
 *   set: n=N calls per figure (default 500, quick 100), window=W (default 64), restarts=R (default 3), colocate=1 (mcp and
 *        safety on one thread, the default placement) or 0 (mcp on a thread of its own)
 */
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { startSystem, type ActorSystem } from '../../src/kernel/index.js';
import { median, percentile, round } from '../lib/stats.js';
import { rawCaller } from '../baselines/clients.js';
import { processCpuMs } from '../../src/lib/proc.js';

const require = createRequire(import.meta.url);
const EVERYTHING = path.join(path.dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist', 'index.js');

/** Where mcp runs: `1` on one thread with safety (the guard ask in-thread), `0` on its own thread, unset: the tree's default. */
function placement(colocate: string | undefined): Record<string, { thread: string }> {
  if (colocate === '1') return { mcp: { thread: 'tools' }, safety: { thread: 'tools' } };
  if (colocate === '0') return { mcp: { thread: 'mcp' } };
  if (colocate !== undefined) throw new Error(`--set colocate=${colocate}: 0 (mcp on its own thread) or 1 (mcp with safety)`);
  return {};
}

async function boot(colocate: string | undefined): Promise<ActorSystem> {
  const actors = { agent: { enabled: false }, ...placement(colocate) };
  const sys = await startSystem({
    config: {
      data_dir: mkdtempSync(path.join(tmpdir(), 'rc-bench-mcp-')), log: { level: 'silent' }, endpoint: { enabled: false },
      kernel: { system_actors: ['safety', 'mcp'], actors, liveness: { deadline_ms: 20_000 } },
      mcp: { ping_interval_ms: 0, servers: { every: { transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] } } },
    },
  });
  await sys.waitUp('system/mcp', 30_000);
  for (let i = 0; i < 600; i++) {
    const r = await sys.ask<any>('system/mcp', 'mcp.list', {});
    if (r.servers[0].state === 'connected') return sys;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('server-everything did not connect under system/mcp');
}

const echo = (i: number) => ({ message: `bench ${i} ${Math.random()}` });

async function pipelined(call: (i: number) => Promise<unknown>, n: number, window: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: window }, async () => {
    while (next < n) await call(next++);
  }));
  return n / ((performance.now() - t0) / 1000);
}

async function actorCall(sys: ActorSystem, i: number): Promise<void> {
  const r = await sys.ask<any>('system/mcp', 'mcp.call', { server: 'every', tool: 'echo', args: echo(i) }, { timeoutMs: 30_000 });
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
}

async function directClient(): Promise<{ client: Client; startMs: number }> {
  const t0 = performance.now();
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [EVERYTHING, 'stdio'], stderr: 'ignore' }));
  await client.callTool({ name: 'echo', arguments: echo(0) });
  return { client, startMs: performance.now() - t0 };
}

/** CPU time of a process from /proc (ms); 0 where there is no /proc. */
function procCpuMs(pid: number): number {
  return processCpuMs(pid) ?? 0;
}

/** A pipelined run with the CPU it cost this process (all threads) and the server child, per call. */
async function measured(serverPid: number, fn: () => Promise<number>, n: number): Promise<{ rate: number; cpuUs: number; serverUs: number }> {
  const c0 = process.cpuUsage();
  const s0 = procCpuMs(serverPid);
  const rate = await fn();
  const c = process.cpuUsage(c0);
  return { rate, cpuUs: (c.user + c.system) / n, serverUs: ((procCpuMs(serverPid) - s0) * 1000) / n };
}

/** The server alone: JSON-RPC lines written straight to a fresh server-everything, `window` in flight. */
async function serverAlone(n: number, window: number): Promise<number> {
  const child = spawn(process.execPath, [EVERYTHING, 'stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting = new Map<number, () => void>();
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const id = (JSON.parse(line) as { id?: number }).id;
      if (typeof id === 'number') waiting.get(id)?.();
    }
  });
  let seq = 0;
  const rpc = (method: string, params: unknown) => new Promise<void>((resolve) => {
    const id = ++seq;
    waiting.set(id, () => {
      waiting.delete(id);
      resolve();
    });
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
  });
  try {
    await rpc('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-raw', version: '1' } });
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
    return await pipelined((i) => rpc('tools/call', { name: 'echo', arguments: echo(i) }), n, window);
  } finally {
    child.kill('SIGKILL');
  }
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }): Promise<{ results: Record<string, Record<string, number>>; ratios: Record<string, number>; notes: string[] }> {
  const n = Number(opts.set.n ?? (opts.quick ? 100 : 500));
  const window = Number(opts.set.window ?? 64);
  const restarts = Number(opts.set.restarts ?? 3);
  if (!Number.isInteger(restarts) || restarts < 1) throw new Error(`--set restarts=${opts.set.restarts}: a whole number ≥ 1`);
  const notes: string[] = [];

  const starts: number[] = [];
  const c = (await directClient()).client;
  const call = (i: number) => c.callTool({ name: 'echo', arguments: echo(i) });

  const sys = await boot(opts.set.colocate);
  const rc: number[] = [];
  const directMs: number[] = [];
  const safetyMs: number[] = [];
  const hopMs: number[] = [];
  const raw = await rawCaller();
  let rcRate: number;
  let directRate: number;
  const backs: number[] = [];
  const phases: Array<Record<string, number>> = [];
  let cpu: { rc: number; rcServer: number; direct: number; directServer: number };
  let serverRate: number;
  try {
    for (let i = 0; i < 50; i++) {
      await call(i);
      await actorCall(sys, i);
    }
    // Interleaved, so that the neighbours' load falls on both alike.
    for (let i = 0; i < n; i++) {
      let t0 = performance.now();
      await call(i);
      directMs.push(performance.now() - t0);
      t0 = performance.now();
      await actorCall(sys, i);
      rc.push(performance.now() - t0);
      // The safety pass's share: the one ask the actor makes for each result.
      const text = `Echo: ${echo(i).message}`;
      t0 = performance.now();
      await sys.ask('system/safety', 'safety.guard_tool_output', { text, source: 'tool' });
      safetyMs.push(performance.now() - t0);
      // The floor of any design with the client on another thread: one bare postMessage round trip.
      t0 = performance.now();
      await raw.call(echo(i));
      hopMs.push(performance.now() - t0);
    }
    const rcPid = (await sys.ask<any>('system/mcp', 'mcp.list', {})).servers[0].pid as number;
    const directPid = (c.transport as StdioClientTransport | undefined)?.pid ?? 0;
    const d1 = await measured(directPid, () => pipelined(call, n * 4, window), n * 4);
    const r1 = await measured(rcPid, () => pipelined((i) => actorCall(sys, i), n * 4, window), n * 4);
    const d2 = await measured(directPid, () => pipelined(call, n * 4, window), n * 4);
    directRate = (d1.rate + d2.rate) / 2;
    rcRate = r1.rate;
    cpu = { rc: r1.cpuUs, rcServer: r1.serverUs, direct: (d1.cpuUs + d2.cpuUs) / 2, directServer: (d1.serverUs + d2.serverUs) / 2 };
    serverRate = await serverAlone(n * 4, window);
    for (let k = 0; k < restarts; k++) {
      const pid = (await sys.ask<any>('system/mcp', 'mcp.list', {})).servers[0].pid as number;
      let downAt = 0;
      const up = new Promise<void>((resolve) => {
        const off = sys.subscribe('mcp/events', (e: any) => {
          if (e.event === 'disconnected' && !downAt) downAt = performance.now();
          if (e.event === 'connected') {
            off();
            resolve();
          }
        });
      });
      // The server's own start time, measured right before (the machine's load drifts).
      const fresh = await directClient();
      starts.push(fresh.startMs);
      await fresh.client.close();
      const t0 = performance.now();
      process.kill(pid, 'SIGKILL');
      await up;
      const tUp = performance.now();
      await actorCall(sys, k);
      const tCalled = performance.now();
      backs.push(tCalled - t0);
      const ph = (await sys.ask<any>('system/mcp', 'mcp.list', {})).servers[0].connect_phases;
      if (ph) phases.push({ detect: downAt - t0, backoff: ph.backoff_ms, setup: ph.setup_ms, handshake: ph.handshake_ms, tools: ph.tools_ms, call: tCalled - tUp });
      await new Promise((res) => setTimeout(res, 6_000)); // past the backoff reset (5 s up)
    }
  } finally {
    await sys.stop();
    await raw.close();
  }
  await c.close();

  const rcP50 = median(rc);
  const dP50 = median(directMs);
  notes.push('machine shared with other engineers: absolute figures are noisy, compare the ratios of one run');
  notes.push('server-everything itself bounds the pipelined rate: see direct.calls_per_s');
  return {
    results: {
      rustyclaw: { call_ms_p50: round(rcP50, 3), call_ms_p99: round(percentile(rc, 99), 3), safety_pass_ms_p50: round(median(safetyMs), 3), calls_per_s: Math.round(rcRate), cpu_us_per_call: Math.round(cpu.rc), server_cpu_us_per_call: Math.round(cpu.rcServer) },
      direct: { call_ms_p50: round(dP50, 3), call_ms_p99: round(percentile(directMs, 99), 3), calls_per_s: Math.round(directRate), cpu_us_per_call: Math.round(cpu.direct), server_cpu_us_per_call: Math.round(cpu.directServer) },
      server: { calls_per_s: Math.round(serverRate) },
      hop: { raw_worker_rtt_ms_p50: round(median(hopMs), 3) },
      restart: {
        start_ms: round(median(starts), 1), back_ms: round(median(backs), 1),
        ...Object.fromEntries(['detect', 'backoff', 'setup', 'handshake', 'tools', 'call'].map((k) => [`${k}_ms`, round(median(phases.map((p) => p[k])), 1)])),
      },
    },
    ratios: {
      call_vs_direct: round(rcP50 / dP50, 2),
      call_minus_safety_vs_direct: round((rcP50 - median(safetyMs)) / dP50, 2),
      // What a design pays at least: the call plus one bare thread round trip (mcp on its own
      // thread), or two (safety on another thread as well, the default placement).
      floor_one_hop_vs_direct: round((dP50 + median(hopMs)) / dP50, 2),
      floor_two_hops_vs_direct: round((dP50 + 2 * median(hopMs)) / dP50, 2),
      rate_vs_direct: round(rcRate / directRate, 2),
      cpu_vs_direct: round(cpu.rc / cpu.direct, 2),
      rate_vs_server_alone: round(rcRate / serverRate, 2),
      back_minus_start_ms: round(median(backs) - median(starts), 1),
      // Each restart against the start measured right before it: robust to the load drifting between kills.
      back_minus_start_paired_ms: round(median(backs.map((b, k) => b - starts[k])), 1),
    },
    notes,
  };
}
