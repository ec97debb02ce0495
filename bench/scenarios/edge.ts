/**
 * `edge`: the kernel on a small, starved device.
 *
 * (a) ready time and RSS of the default tree (every built-in actor, the embedding model not loaded)
 *     in the `dedicated`, `shared` and `edge` placements, a fresh process each, medians;
 * (b) starvation: the tree pinned to one core (`taskset -c 0`) beside 4 CPU-hog processes on the same
 *     core, asking the agent (loopback LLM) every second, with one actor made truly stuck: false stuck
 *     kills, asks without a reply or typed error, latency, and the stuck actor's replacement time;
 * (c) a one-shot `rustyclaw chat MESSAGE` whose stdin is an open pipe: time from its answer to its exit.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { median, round } from '../lib/stats.js';

const exec = promisify(execFile);
const CHILD = fileURLToPath(new URL('../lib/edge-child.js', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface LlmServer {
  url: string;
  close(): Promise<void>;
}

export async function llm(): Promise<LlmServer> {
  const mod = (await import(new URL('../../test/support/llm-servers.js', import.meta.url).href)) as {
    startLlmServer(kind: 'openai', init: { fallback: () => unknown }): Promise<LlmServer>;
  };
  return mod.startLlmServer('openai', { fallback: () => ({ kind: 'reply', reply: { text: 'pong from the loopback model' } }) });
}

async function tree(placement: string) {
  const { stdout } = await exec(process.execPath, [CHILD, 'tree', placement], { timeout: 120_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { ready_ms: number; import_ms: number; cpu_ms: number; rss_mb: number; threads: number };
}

async function hasTaskset(): Promise<boolean> {
  return exec('taskset', ['-c', '0', 'true']).then(
    () => true,
    () => false,
  );
}

async function starvation(secs: number, url: string): Promise<Record<string, unknown>> {
  const pin = await hasTaskset();
  const hogs: ChildProcess[] = [];
  for (let i = 0; i < 4; i++) {
    const args = ['-e', 'for(;;){}'];
    hogs.push(pin ? spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: 'ignore' }) : spawn(process.execPath, args, { stdio: 'ignore' }));
  }
  try {
    const cmd = pin ? 'taskset' : process.execPath;
    const args = pin ? ['-c', '0', process.execPath, CHILD, 'starve', String(secs), url] : [CHILD, 'starve', String(secs), url];
    const { stdout } = await exec(cmd, args, { timeout: (secs + 120) * 1000, maxBuffer: 1 << 24 });
    return { ...JSON.parse(stdout.trim().split('\n').pop()!), pinned: pin };
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
  }
}

export async function oneshot(url: string): Promise<{ exit_after_answer_ms: number; exited: boolean; code: number | null }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-edge-cli-'));
  const cfg = path.join(dir, 'rustyclaw.yaml');
  writeFileSync(
    cfg,
    [
      `data_dir: ${dir}/data`,
      'log:\n  level: error',
      'endpoint:\n  enabled: false',
      'kernel:\n  system_actors: [safety, provider-router]',
      `providers:\n  local:\n    type: openai\n    enabled: true\n    base_url: ${url}\n    api_key: k\n    model: m`,
      'models:\n  default:\n    chain: [local]',
      'agents:\n  - id: default',
      '',
    ].join('\n'),
  );
  const cap = 15_000;
  try {
    // stdin stays an open pipe, as under child_process.spawn defaults, cron wrappers, CI runners.
    const child = spawn(process.execPath, [CLI, '--config', cfg, 'chat', '--in-process', 'hello'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let answeredAt = 0;
    child.stdout!.on('data', (d) => {
      out += d;
      if (!answeredAt && out.includes('pong from the loopback model')) answeredAt = performance.now();
    });
    const exit = await new Promise<{ code: number | null; at: number; exited: boolean }>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({ code: null, at: performance.now(), exited: false });
      }, cap);
      child.once('exit', (code) => {
        clearTimeout(t);
        resolve({ code, at: performance.now(), exited: true });
      });
    });
    if (!answeredAt) throw new Error(`one-shot chat printed no answer (exit ${exit.code}): ${out.slice(0, 200)}`);
    return { exit_after_answer_ms: round(exit.at - answeredAt), exited: exit.exited, code: exit.code };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const runs = opts.quick ? 3 : 5;
  const secs = Number(opts.set.secs ?? (opts.quick ? 12 : 30));
  const results: Record<string, Record<string, number>> = {};
  const notes: string[] = [];
  for (const placement of ['dedicated', 'shared', 'edge']) {
    await tree(placement); // warm the file cache
    const all = [];
    for (let i = 0; i < runs; i++) all.push(await tree(placement));
    results[placement] = {
      ready_ms: round(median(all.map((r) => r.ready_ms))),
      rss_mb: round(median(all.map((r) => r.rss_mb))),
      threads: all[0].threads,
      import_ms: round(median(all.map((r) => r.import_ms))),
      cpu_ms: round(median(all.map((r) => r.cpu_ms))),
    };
  }
  notes.push(`tree: ${runs} fresh processes per placement, medians; ready_ms = from the kernel's import to the tree ready (import_ms of it); cpu_ms = CPU time of all the process's threads over the same span (ready_ms can be no less than cpu_ms / cores)`);
  const server = await llm();
  try {
    const s = await starvation(secs, server.url);
    results.starvation = {
      false_stuck_kills: s.false_stuck_kills as number,
      unanswered: s.unanswered as number,
      asks: s.asks as number,
      latency_ms_p50: round(s.latency_ms_p50 as number),
      latency_ms_p99: round(s.latency_ms_p99 as number),
      stuck_replaced_ms: round(s.stuck_replaced_ms as number),
    };
    notes.push(`starvation: ${secs} s, ${s.pinned ? 'taskset -c 0 with 4 hogs on core 0' : '4 hogs, not pinned (no taskset)'}; answered ${s.answered}, typed errors ${s.typed_errors}; liveness ${JSON.stringify(s.liveness)}; thread ends ${JSON.stringify(s.downs)}`);
    const o = await oneshot(server.url);
    results.oneshot = { exit_after_answer_ms: o.exit_after_answer_ms };
    notes.push(o.exited ? `oneshot: exit code ${o.code}` : 'oneshot: did not exit with stdin open; killed at the 15 s cap (the figure is the cap)');
  } finally {
    await server.close();
  }
  return { results, notes };
}
