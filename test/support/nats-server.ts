/**
 * A real nats-server (Debian's package, installed by .ci/run) on a free loopback port, with
 * JetStream on a temp store dir. Tests that need one call `natsServerOrSkip(t)`: without the
 * binary they skip with a loud message instead of passing silently.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export const NATS_BIN = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => spawnSync(p, ['--version']).status === 0) ?? null;


export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  proc: ChildProcess;
  log(): string;
  /** Kill it (SIGKILL) and wait until it is gone. */
  kill(): Promise<void>;
  /** Start it again on the same port and store (after kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitListening(port: number, proc: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!/Server is ready/.test(log())) {
    if (proc.exitCode !== null) throw new Error(`nats-server exited (${proc.exitCode}):\n${log()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`nats-server not ready on port ${port} within ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startNatsServer(opts: { token?: string; port?: number } = {}): Promise<NatsServer> {
  if (!NATS_BIN) throw new Error('nats-server is not installed (apt-get install -y nats-server)');
  const port = opts.port ?? (await freePort());
  const storeDir = mkdtempSync(path.join(tmpdir(), 'rc-nats-'));
  let out = '';
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ...(opts.token ? ['--auth', opts.token] : [])];
  const launch = () => {
    out = '';
    const p = spawn(NATS_BIN!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    return p;
  };
  const srv: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    proc: launch(),
    log: () => out,
    async kill() {
      if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) return;
      const gone = new Promise((r) => srv.proc.once('exit', r));
      srv.proc.kill('SIGKILL');
      await gone;
    },
    async restart() {
      await srv.kill();
      srv.proc = launch();
      await waitListening(port, srv.proc, () => out);
    },
    async stop() {
      await srv.kill();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
  await waitListening(port, srv.proc, () => out);
  return srv;
}

/** A server for this test, or a loud skip when the binary is absent. */
export async function natsServerOrSkip(t: TestContext, opts: { token?: string } = {}): Promise<NatsServer | null> {
  if (!NATS_BIN) {
    const msg = 'SKIPPED LOUDLY: nats-server is not installed on this machine; install it with `apt-get install -y nats-server` (.ci/run does)';
    process.stderr.write(`\n*** ${msg} ***\n`);
    t.skip(msg);
    return null;
  }
  const srv = await startNatsServer(opts);
  t.after(() => srv.stop());
  return srv;
}

export { freePort };
