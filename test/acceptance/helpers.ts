/**
 * The acceptance suite drives the CLI exactly as a user does: `node dist/src/cli/main.js …` as a
 * child process, from a working directory that is neither the checkout nor the data dir, with a
 * private HOME (so the default data dir `~/.rustyclaw` is a temp dir), stdin an open pipe unless a
 * test says otherwise. Nothing here reaches into the service: only argv, env, stdin, stdout, stderr,
 * exit codes and the files a user would see.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../kernel/helpers.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MODEL_DIR = fileURLToPath(new URL('../../../../shared/models/all-MiniLM-L6-v2', import.meta.url));
export const HAVE_LOCAL_MODEL = existsSync(path.join(MODEL_DIR, 'tokenizer.json'));

/** A user's machine: a home, a project dir holding a config, and an unrelated dir to run commands from. */
export interface World {
  home: string;
  project: string;
  elsewhere: string;
  config: string;
  env: NodeJS.ProcessEnv;
}

/**
 * The config a user of this suite writes: free ports (neighbours run services), a generous liveness
 * deadline (the machine is shared), the local embedding model from the shared copy when present.
 * No data_dir: the default (in HOME) is what is under test.
 */
export function makeWorld(extraYaml = '', env: NodeJS.ProcessEnv = {}): World {
  const root = tempDir('rc-acc-');
  const home = path.join(root, 'home');
  const project = path.join(root, 'project');
  const elsewhere = path.join(root, 'elsewhere');
  for (const d of [home, project, elsewhere]) mkdirSync(d, { recursive: true });
  const config = path.join(project, 'rustyclaw.yaml');
  const embedder = HAVE_LOCAL_MODEL
    ? `embedder:\n  local:\n    model_path: ${MODEL_DIR}\n`
    : 'embedder:\n  embedding_provider: none\n';
  writeFileSync(
    config,
    `endpoint:\n  port: 0\nkernel:\n  liveness:\n    deadline_ms: 20000\nscheduler:\n  heartbeat:\n    enabled: false\n${embedder}${extraYaml}`,
  );
  const base: NodeJS.ProcessEnv = {};
  // Only what a shell has (PATH, locale) — no RustyClaw or provider variables from the test runner.
  for (const k of ['PATH', 'LANG', 'TZ', 'TMPDIR']) if (process.env[k] !== undefined) base[k] = process.env[k];
  return { home, project, elsewhere, config, env: { ...base, HOME: home, ...env } };
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** `open` (default): a pipe never written to nor closed; a string: written then closed; `closed`: EOF at once. */
  stdin?: 'open' | 'closed' | string;
  /** Close our end of stdout after this many bytes (a reader like `head` going away). */
  closeStdoutAfter?: number;
  /** Safety net only: the command's own deadline must end it first (fails the test when reached). */
  killAfterMs?: number;
}

export function runCli(w: World, args: string[], o: RunOptions = {}): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: o.cwd ?? w.elsewhere, env: { ...w.env, ...o.env }, stdio: 'pipe' }) as ChildProcessWithoutNullStreams;
  return collect(child, o);
}

export function collect(child: ChildProcessWithoutNullStreams, o: RunOptions = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let seen = 0;
  child.stdout.on('data', (d: Buffer) => {
    seen += d.length;
    stdout += d.toString();
    if (o.closeStdoutAfter !== undefined && seen >= o.closeStdoutAfter) child.stdout.destroy();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => {});
  const stdin = o.stdin ?? 'open';
  if (stdin === 'closed') child.stdin.end();
  else if (stdin !== 'open') child.stdin.end(stdin);
  const guard = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs ?? 120_000);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface RunningService {
  child: ChildProcessWithoutNullStreams;
  ready: string;
  pid: number;
  url: string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** `rustyclaw start` as a user runs it in their project dir; resolves on the ready line. */
export async function startService(w: World, args: string[] = [], env: NodeJS.ProcessEnv = {}, timeoutMs = 180_000, startArgs: string[] = []): Promise<RunningService> {
  const child = spawn(process.execPath, [CLI, ...args, 'start', ...startArgs], { cwd: w.project, env: { ...w.env, RUSTYCLAW_LOG_LEVEL: 'warn', ...env }, stdio: 'pipe' }) as ChildProcessWithoutNullStreams;
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const t0 = Date.now();
  let done = false;
  void exited.then(() => (done = true));
  while (!out.includes('ready in')) {
    if (done) throw new Error(`service exited before ready:\n${out}\n${err}`);
    if (Date.now() - t0 > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`no ready line within ${timeoutMs} ms:\n${out}\n${err.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const line = out.split('\n').find((l) => l.includes('ready in'))!;
  return {
    child,
    ready: line,
    pid: Number(/pid (\d+)/.exec(line)![1]),
    url: /endpoint (ws:\/\/\S+),/.exec(line)![1],
    stderr: () => err,
    exited,
  };
}

/** No stack trace, no unhandled error: what a user must never see on stderr. */
export function noCrash(stderr: string): boolean {
  return !/\n\s+at .+:\d+:\d+\)?\n|Unhandled|ERR_UNHANDLED|node:internal/.test(stderr);
}
