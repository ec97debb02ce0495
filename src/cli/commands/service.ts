/** `rustyclaw start | status | stop`: run the service and look at it. */
import type { Command } from 'commander';
import { globalOverrides, type CliRuntime, type GlobalOptions } from '../runtime.js';
import { startService, pidAlive } from '../../service.js';
import { connect } from '../../client/index.js';
import { table } from '../table.js';
import { loadConfig, configOrigin } from '../../config/load.js';
import { createCliLogger, type LogFormat } from '../logger.js';
import { announce, findService, NoServiceError } from '../discovery.js';
import { snapshotEnv } from '../service-env.js';
import { capabilities } from '../capability.js';
import type { BuiltinMessages } from '../../../protocol/index.js';
import type { StatsReply as SafetyStats } from '../../../protocol/safety.js';

export function register(program: Command, rt: CliRuntime): void {
  program
    .command('start')
    .description('start the service in the foreground (Ctrl-C or `rustyclaw stop` to stop)')
    .option('--placement <profile>', 'dedicated (a thread per actor), shared (light actors share threads) or edge (as few threads as the device has cores)')
    .option('--port <port>', 'endpoint port (0 = any free port)')
    .option('--node <name>', 'this process\'s node name in its NATS cluster (with transport: nats)')
    .action(async (o: { placement?: string; port?: string; node?: string }) => {
      const g = program.opts<GlobalOptions>();
      const { overrides, overrideSources } = globalOverrides(g);
      if (o.placement) {
        overrides.kernel = { placement: o.placement };
        overrideSources['kernel.placement'] = `--placement ${o.placement}`;
      }
      if (o.port !== undefined) {
        overrides.endpoint = { port: /^-?\d+$/.test(o.port.trim()) ? Number(o.port) : o.port };
        overrideSources['endpoint.port'] = `--port ${o.port}`;
      }
      if (o.node !== undefined) {
        overrides.nats = { node: o.node };
        overrideSources['nats.node'] = `--node ${o.node}`;
      }
      const config = loadConfig({ file: g.config, overrides, overrideSources });
      const log = createCliLogger(config.log.level, { file: config.log.file, format: config.log.format as LogFormat });
      const runInfo = { data_dir: config.data_dir, started_at: new Date().toISOString(), config_file: configOrigin(config).file, env: snapshotEnv(config) };
      const svc = await rt.waiting!.on('the service to start', startService(config, { log, runInfo }));
      const unannounce = announce(config.data_dir);
      const st = await svc.sys.status();
      process.stdout.write(
        `rustyclaw ready in ${Math.round(svc.readyMs)} ms: ${st.actors.length} actors on ${st.threads} threads (${config.kernel.placement}), ` +
          `${svc.url ? `endpoint ${svc.url}` : 'no endpoint'}${svc.httpUrl ? `, gateway ${svc.httpUrl}` : ''}, data ${config.data_dir}, pid ${process.pid}` +
          `${svc.bus ? `, node ${svc.bus.node} in cluster ${svc.bus.cluster} (${svc.bus.url})` : ''}\n`,
      );
      rt.waiting!.interactive();
      const shutdown = async (sig: string) => {
        log.info({ signal: sig }, 'stopping');
        unannounce();
        await svc.stop();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
      svc.sys.onStopRequest = async () => {
        unannounce();
        await svc.stop();
        process.exit(0);
      };
    });

  program
    .command('status')
    .description("every actor: path, thread, state, restarts, mailbox depth, messages handled, and what it can do (embedder model, providers, webhooks)")
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }) => {
      const st = await rt.ask('kernel', 'kernel.status');
      const cluster = await rt.ask('kernel', 'kernel.cluster');
      const remote = await rt.remote();
      const caps = await rt.waiting!.on('the actors to report their capabilities', capabilities((to, type, p, opts) => rt.ask(to, type as keyof BuiltinMessages & string, p as never, opts), st.actors));
      const safety = (caps['system/safety']?.detail as SafetyStats | undefined) ?? null;
      if (o.json) {
        const capability = Object.fromEntries(Object.entries(caps).map(([k, v]) => [k, v.line]));
        const gatewayUrl = remote ? (await rt.service?.())?.http_url : undefined;
        process.stdout.write(JSON.stringify({ ...st, in_process: !remote, capability, cluster, ...(safety ? { safety } : {}), ...(gatewayUrl ? { gateway: { url: gatewayUrl } } : {}) }) + '\n');
        return;
      }
      const head = remote
        ? `pid ${st.pid}, up ${Math.round(st.uptime_ms / 1000)} s, ${st.threads} threads (${st.placement}), rss ${st.rss_mb} MB`
        : `no service running: a tree booted in-process for this command (--in-process), ${st.threads} threads (${st.placement})`;
      process.stdout.write(
        `${head}\n\n` +
          table(
            ['PATH', 'THREAD', 'STATE', 'RESTARTS', 'MAILBOX', 'HANDLED', 'CAPABILITY'],
            st.actors.map((a) => [a.path, a.thread, a.state, a.restarts, a.mailbox, a.handled, caps[a.path]?.line ?? '']),
          ) +
          '\n',
      );
      if (cluster.transport === 'nats') {
        process.stdout.write(
          `\ncluster ${cluster.cluster} over NATS (${cluster.connected ? `connected to ${cluster.server}` : 'NOT CONNECTED: reconnecting'}): ${cluster.nodes.length} processes\n` +
            table(
              ['NODE', 'PID', 'HOST', 'SEEN', 'ACTORS'],
              cluster.nodes.map((n) => [n.self ? `${n.node} (this)` : n.node, n.pid, n.host, n.self ? 'now' : `${(n.last_seen_ms / 1000).toFixed(1)} s ago`, n.actors.join(' ')]),
            ) +
            '\n',
        );
      }
      if (safety) {
        const rows = Object.entries(safety.rules).flatMap(([rule, byAction]) => Object.entries(byAction).map(([action, n]) => [rule, action, n]));
        process.stdout.write(
          `\nsafety: ${Object.values(safety.scans).reduce((a, b) => a + b, 0)} scans, ${Math.round(safety.bytes / 1024)} KB since ${safety.since}\n` +
            (rows.length ? table(['RULE', 'ACTION', 'COUNT'], rows) + '\n' : 'no findings\n'),
        );
      }
    });

  program
    .command('stop')
    .description('stop the running service gracefully')
    .action(async () => {
      const cfg = rt.config();
      const found = findService(cfg.data_dir, configOrigin(cfg).dataDirExplicit);
      if (!found) throw new NoServiceError(cfg.data_dir);
      const { info } = found;
      const c = await rt.waiting!.on(`the service at ${info.url} (pid ${info.pid})`, connect({ url: info.url, token: info.token }));
      await rt.waiting!.on(`the service (pid ${info.pid}) to accept kernel.stop`, c.ask('kernel', 'kernel.stop', {}));
      await c.close();
      await rt.waiting!.on(`the service (pid ${info.pid}) to exit`, async () => {
        while (pidAlive(info.pid)) await new Promise((r) => setTimeout(r, 50));
      });
      process.stdout.write(`stopped (pid ${info.pid})\n`);
    });
}
