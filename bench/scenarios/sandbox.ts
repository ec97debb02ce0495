/**
 * Bench scenario `sandbox`: sandboxed WASM tool calls (system/tool-runner's pool and service).
 *
 * Reported:
 *   rustyclaw.cold_ms_p50   — first call of a tool on a runner thread: compiled module cached in the
 *                             actor, sent to the runner, fresh instance (the shipped `json` tool, tiny input)
 *   rustyclaw.warm_ms_p50   — the same call again on the same runner (instance + WASI context only)
 *   rustyclaw.run_ms_p50    — the whole `tool.run` path minus messaging: manifest and module BLAKE3
 *                             re-verified, arguments checked, pool call (no safety pass)
 *   node_child.ms_p50       — baseline: spawning `node` doing the same work (read JSON on stdin, path, print)
 *   wasmer.ms_p50           — baseline: the same module and stdin through @wasmer/sdk's sandbox (set up
 *                             once: wasmer.setup_ms), i.e. the runtime this one was chosen over
 *   fuel.overhead_ratio     — metered / unmetered run time of a compute-bound tool (json over ~1 MB)
 *   fuel.tight_loop_ratio   — the same for a 3-instruction loop (the worst case)
 *   limits.timeout_replaced_ms — deadline → replacement runner ready (median of several timeouts;
 *                             each with the spare ready, as in steady state)
 *   set: n=N (calls per figure, default 300, quick 60)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ToolsConfigSchema, type ToolsConfig } from '../../protocol/tool-runner.js';
import { ToolService } from '../../actors/tool-runner/tool-service.js';
import { runSandboxed } from '../../actors/tool-runner/sandbox.js';
import { rewriteModule } from '../../actors/tool-runner/wasm-rewrite.js';
import { median, percentile, round } from '../lib/stats.js';

const ARGS = { input: { items: [{ name: 'a', n: 1 }, { name: 'b', n: 2 }] }, path: '.items[].name' };

const NODE_SAME_WORK = `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const a=JSON.parse(s);process.stdout.write(a.input.items.map(i=>JSON.stringify(i.name)).join('\\n')+'\\n')})`;

function nodeChild(input: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', NODE_SAME_WORK], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('exit', () => (out.length ? resolve(performance.now() - t0) : reject(new Error('no output'))));
    c.stdin.end(input);
  });
}

async function wat(src: string): Promise<Uint8Array> {
  const wabt = await ((await import('wabt')) as any).default();
  return new Uint8Array(wabt.parseWat('b.wat', src, {}).toBinary({}).buffer);
}

function bigJson(items: number): string {
  return JSON.stringify({ items: Array.from({ length: items }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['x', 'y', 'z'], score: i * 0.37, nested: { ok: i % 2 === 0, text: 'lorem ipsum dolor sit amet' } })) });
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }): Promise<{ results: Record<string, Record<string, number>>; notes?: string[] }> {
  const n = Number(opts.set.n ?? (opts.quick ? 60 : 300));
  const data = mkdtempSync(path.join(tmpdir(), 'rc-bench-sandbox-'));
  const config = Value.Default(ToolsConfigSchema, { pool_size: 1 }) as ToolsConfig;
  const svc = new ToolService({ config, dataDir: data });
  await svc.start();
  try {
    const p = await svc.prepare({ name: 'json' });
    const spec = { name: 'json', stdin: new TextEncoder().encode(JSON.stringify(ARGS)), env: {}, preopens: [], fuel: p.limits.fuel, outputBytes: p.limits.output_bytes, logBytes: 4096, memoryPages: p.memoryPages };
    const call = (key: string) => svc.pool.run({ key, module: p.module, spec, timeoutMs: 10_000 });
    // Warm-up: JIT of the host paths, the runner's first instantiation.
    for (let i = 0; i < 20; i++) await call(p.key);
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < n; i++) {
      // A key the runner has not seen: it receives the compiled module and caches it (its first call).
      let t0 = performance.now();
      const c = await call(`${p.key}#cold${i}`);
      cold.push(performance.now() - t0);
      if (!c.ok) throw new Error(`json tool failed: ${c.message}`);
      t0 = performance.now();
      await call(p.key);
      warm.push(performance.now() - t0);
    }
    const full: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const r = await svc.run({ name: 'json', args: ARGS });
      full.push(performance.now() - t0);
      if (!r.ok) throw new Error(`json tool failed: ${r.message}`);
    }
    const child: number[] = [];
    const childRuns = Math.max(10, Math.round(n / 10));
    const info0 = (await svc.list()).find((t) => t.name === 'json')!;
    for (let i = 0; i < childRuns; i++) child.push(await nodeChild(JSON.stringify(ARGS)));

    // Fuel overhead, in this thread: the same module with and without the charges.
    const info = (await svc.list()).find((t) => t.name === 'json')!;
    const moduleBytes = readFileSync(path.join(path.dirname(info.manifest), p.manifest.module));
    const big = new TextEncoder().encode(JSON.stringify({ input: bigJson(6000), path: '.items | length' }));
    const ratioOf = (bytes: Uint8Array, stdin: Uint8Array, reps: number) => {
      const metered = new WebAssembly.Module(rewriteModule(bytes, { fuel: 1e15, maxPages: 4096 }).bytes);
      const plain = new WebAssembly.Module(rewriteModule(bytes, { fuel: 1e15, maxPages: 4096, meter: false }).bytes);
      const one = (m: WebAssembly.Module) => {
        const t0 = performance.now();
        const o = runSandboxed({ name: 'bench', module: m, stdin, env: {}, preopens: [], fuel: 1e15, outputBytes: 1 << 24, logBytes: 0 });
        if (!o.ok) throw new Error(`bench tool failed: ${o.code} ${o.message}`);
        return performance.now() - t0;
      };
      one(metered); one(plain);
      const ratios: number[] = [];
      for (let i = 0; i < reps; i++) ratios.push(one(metered) / one(plain));
      return median(ratios);
    };
    const overhead = ratioOf(moduleBytes, big, opts.quick ? 5 : 15);
    const tight = await wat(`(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (memory (export "memory") 1)
      (func (export "_start") (local $i i32) (local $s i32) (loop $l (local.set $s (i32.add (local.get $s) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 30000000))))))`);
    const tightRatio = ratioOf(tight, new Uint8Array(), opts.quick ? 3 : 7);

    // Timeouts: a spinner with fuel to spare, 100 ms limit; time until a runner is ready again.
    const spin = await wat(`(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`);
    const spinMod = new WebAssembly.Module(rewriteModule(spin, { fuel: 1e15, maxPages: 16 }).bytes);
    const replaced: number[] = [];
    for (let i = 0; i < (opts.quick ? 3 : 7); i++) {
      svc.pool.lastReplacementMs = undefined;
      const o = await svc.pool.run({ key: 'spin', module: spinMod, spec: { ...spec, name: 'spin', fuel: 1e15 }, timeoutMs: 100 });
      if (o.code !== 'timeout') throw new Error(`spinner ended with ${o.code}`);
      const t0 = Date.now();
      while (svc.pool.lastReplacementMs === undefined && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 1));
      replaced.push(svc.pool.lastReplacementMs ?? NaN);
      await svc.pool.whenSpareReady(); // the figure is the replacement, not a thread start
    }
    // @wasmer/sdk, the alternative runtime named for this (docs/decisions.md): the same module and
    // stdin through its sandbox API, set up once (package loaded, sandbox created), then timed per call.
    const wasmerBytes = readFileSync(path.join(path.dirname(info0.manifest), p.manifest.module));
    const { Wasmer } = await import('@wasmer/sdk/node');
    const tw0 = performance.now();
    const wasmer = new Wasmer();
    const wpkg = await wasmer.packages.load(new Uint8Array(wasmerBytes));
    const sandbox = await wasmer.sandboxes.create({ packages: [wpkg] });
    const wasmerSetup = performance.now() - tw0;
    const wasmerRuns: number[] = [];
    const expected = (await svc.pool.run({ key: p.key, module: p.module, spec, timeoutMs: 10_000 })).output;
    for (let i = 0; i < Math.max(10, Math.round(n / 10)); i++) {
      const t0 = performance.now();
      const o = await sandbox.command(wpkg, []).run({ stdin: JSON.stringify(ARGS), timeoutMs: 10_000 });
      wasmerRuns.push(performance.now() - t0);
      if (o.text() !== expected) throw new Error(`wasmer: different output ${JSON.stringify(o.text())}`);
    }
    await (sandbox as { close?: () => Promise<void> }).close?.();
    const childP50 = median(child);
    return {
      results: {
        rustyclaw: {
          cold_ms_p50: round(median(cold), 3), cold_ms_p99: round(percentile(cold, 99), 3),
          warm_ms_p50: round(median(warm), 3), warm_ms_p99: round(percentile(warm, 99), 3),
          run_ms_p50: round(median(full), 3),
          cold_vs_node_child: round(median(cold) / childP50, 4),
        },
        node_child: { ms_p50: round(childP50, 2) },
        wasmer: { ms_p50: round(median(wasmerRuns), 2), setup_ms: round(wasmerSetup, 1) },
        fuel: { overhead_ratio: round(overhead, 3), tight_loop_ratio: round(tightRatio, 3) },
        limits: { timeout_replaced_ms: round(median(replaced), 2) },
      },
      notes: [`n=${n} calls per figure; node_child ${childRuns} spawns; fuel ratios: median of per-run ratios, in-thread`],
    };
  } finally {
    await svc.close();
    rmSync(data, { recursive: true, force: true });
  }
}
