/**
 * Several RustyClaw processes on one real nats-server: each a `rustyclaw start` child process with
 * its own data dir and config (which actors it runs), driven through the CLI from another dir.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../kernel/helpers.js';
import { runCli, startService, type RunningService, type World, type Run } from '../acceptance/helpers.js';

export interface NodeOptions {
  cluster: string;
  actors: string[];
  agent?: boolean;
  /** More YAML at the top level, and more lines inside the `nats:` section. */
  extra?: string;
  nats?: string;
  env?: NodeJS.ProcessEnv;
}

export interface NodeProc {
  name: string;
  world: World;
  svc: RunningService;
  cli(args: string[], timeoutMs?: number): Promise<Run>;
}

/**
 * `actors`: the system actors this process runs (kernel.system_actors); `agent: false` disables
 * the agent. Generous liveness deadline (shared machine), free ports everywhere.
 */
export function nodeWorld(name: string, natsUrl: string, o: NodeOptions): World {
  const root = tempDir(`rc-nats-${name}-`);
  const home = path.join(root, 'home');
  const project = path.join(root, 'project');
  const elsewhere = path.join(root, 'elsewhere');
  for (const d of [home, project, elsewhere]) mkdirSync(d, { recursive: true });
  const config = path.join(project, 'rustyclaw.yaml');
  writeFileSync(
    config,
    [
      `data_dir: ${path.join(root, 'data')}`,
      'transport: nats',
      'nats:',
      `  servers: [${natsUrl}]`,
      `  cluster: ${o.cluster}`,
      '  heartbeat_ms: 250',
      '  node_timeout_ms: 1500',
      '  reconnect_initial_ms: 50',
      '  reconnect_max_ms: 500',
      '  max_payload_bytes: 65536',
      ...(o.nats ? [o.nats] : []),
      'endpoint: {port: 0}',
      'kernel:',
      '  liveness: {deadline_ms: 20000}',
      `  system_actors: [${o.actors.join(', ')}]`,
      ...(o.agent === false ? ['  actors: {agent: {enabled: false}}'] : []),
      'embedder: {embedding_provider: none}',
      'scheduler: {heartbeat: {enabled: false}}',
      o.extra ?? '',
    ].join('\n') + '\n',
  );
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'LANG', 'TZ', 'TMPDIR']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return { home, project, elsewhere, config, env: { ...env, HOME: home } };
}

export async function startNode(name: string, natsUrl: string, o: NodeOptions): Promise<NodeProc> {
  const world = nodeWorld(name, natsUrl, o);
  const svc = await startService(world, ['--config', world.config], { RUSTYCLAW_LOG_LEVEL: 'info', ...o.env }, 180_000, ['--node', name]);
  return {
    name,
    world,
    svc,
    cli: (args, timeoutMs = 60_000) => runCli(world, ['--config', world.config, ...args], { killAfterMs: timeoutMs }),
  };
}

export async function stopNode(n: NodeProc): Promise<void> {
  if (n.svc.child.exitCode !== null || n.svc.child.signalCode !== null) return;
  // A process a test paused would not act on SIGTERM until continued.
  n.svc.child.kill('SIGCONT');
  n.svc.child.kill('SIGTERM');
  const t = setTimeout(() => n.svc.child.kill('SIGKILL'), 15_000);
  await n.svc.exited;
  clearTimeout(t);
}

export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
