/**
 * `endpoint`: the WebSocket endpoint (ask frames to one echo actor) against a bare `ws` server that
 * answers each JSON request frame with its payload — both in a child process, one client here, fresh
 * payload per call (`--set payload=small,4k`), same run, medians.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { measureCalls, payloadSize, type CallMetrics } from '../lib/measure.js';
import { median, round } from '../lib/stats.js';

const CHILD = fileURLToPath(new URL('../lib/endpoint-child.js', import.meta.url));

async function server(mode: 'rustyclaw' | 'bare'): Promise<{ child: ChildProcess; url: string; token: string }> {
  const child = spawn(process.execPath, [CHILD, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const info = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.once('exit', (c) => reject(new Error(`endpoint child (${mode}) exited ${c}`)));
  });
  return { child, ...info };
}

async function client(url: string, token: string): Promise<{ call(p: unknown): Promise<unknown>; close(): void }> {
  const ws = new WebSocket(url);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const pending = new Map<number, (v: unknown) => void>();
  let next = 1;
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { op: string; id?: number; payload?: unknown; ok?: boolean; error?: unknown };
    if (m.id === undefined) return;
    const r = pending.get(m.id);
    if (r) {
      pending.delete(m.id);
      r(m.ok ? m.payload : Promise.reject(m.error));
    }
  });
  if (token) {
    await new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send(JSON.stringify({ v: 1, op: 'hello', token }));
    });
  }
  return {
    call(p) {
      const id = next++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify({ v: 1, op: 'ask', id, to: 'bench/0', type: 'bench.echo', payload: p }));
      });
    },
    close: () => ws.close(),
  };
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const payload = payloadSize(opts.set.payload);
  const sizes = { rtt: opts.quick ? 500 : 3000, calls: opts.quick ? 10_000 : 50_000, window: Number(opts.set.window ?? 64), payload };
  const runs = opts.quick ? 1 : 3;
  const per: Record<string, CallMetrics[]> = { rustyclaw: [], bare_ws: [] };
  for (let r = 0; r < runs; r++) {
    for (const [name, mode] of [['rustyclaw', 'rustyclaw'], ['bare_ws', 'bare']] as const) {
      const s = await server(mode);
      try {
        const c = await client(s.url, s.token);
        per[name].push(await measureCalls(c.call, sizes));
        c.close();
      } finally {
        s.child.kill('SIGKILL');
      }
    }
  }
  const results: Record<string, Record<string, number>> = {};
  for (const [name, list] of Object.entries(per)) {
    results[name] = {
      rtt_p50_us: round(median(list.map((m) => m.rtt_p50_us))),
      rtt_p99_us: round(median(list.map((m) => m.rtt_p99_us))),
      calls_per_s: Math.round(median(list.map((m) => m.calls_per_s))),
    };
  }
  return {
    results,
    ratios: {
      calls_vs_bare_ws: round(results.rustyclaw.calls_per_s / results.bare_ws.calls_per_s, 2),
      rtt_p50_vs_bare_ws: round(results.rustyclaw.rtt_p50_us / results.bare_ws.rtt_p50_us, 2),
    },
    notes: [`payload ${payload}, fresh per call; ${runs} runs, medians; ${sizes.window} asks in flight on one connection; servers in a child process`],
  };
}
