/** `rustyclaw start | status | stop`: run the service and look at it. */
import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';
import { startService, runningService, pidAlive } from '../../service.js';
import { createLogger } from '../../kernel/log.js';
import { connect } from '../../client/index.js';
import { table } from '../table.js';
import { loadConfig } from '../../config/load.js';

export function register(program: Command, rt: CliRuntime): void {
  program
    .command('start')
    .description('start the service in the foreground (Ctrl-C or `rustyclaw stop` to stop)')
    .option('--placement <profile>', 'dedicated (a thread per actor) or shared (light actors share threads)')
    .option('--port <port>', 'endpoint port (0 = any free port)')
    .action(async (o: { placement?: string; port?: string }) => {
      const g = program.opts<{ config?: string; dataDir?: string; logLevel?: string }>();
      const overrides: Record<string, any> = {};
      if (g.dataDir) overrides.data_dir = g.dataDir;
      if (g.logLevel) overrides.log = { level: g.logLevel };
      if (o.placement) overrides.kernel = { placement: o.placement };
      if (o.port !== undefined) overrides.endpoint = { port: Number(o.port) };
      const config = loadConfig({ file: g.config, overrides });
      const log = createLogger(config.log.level, config.log.file);
      const svc = await startService(config, { log });
      const st = await svc.sys.status();
      process.stdout.write(
        `rustyclaw ready in ${Math.round(svc.readyMs)} ms: ${st.actors.length} actors on ${st.threads} threads (${config.kernel.placement}), ` +
          `${svc.url ? `endpoint ${svc.url}` : 'no endpoint'}, data ${config.data_dir}, pid ${process.pid}\n`,
      );
      const shutdown = async (sig: string) => {
        log.info({ signal: sig }, 'stopping');
        await svc.stop();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
      svc.sys.onStopRequest = async () => {
        await svc.stop();
        process.exit(0);
      };
    });

  program
    .command('status')
    .description('list every actor: path, thread, state, restarts, mailbox depth, messages handled')
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }) => {
      const st = await rt.ask('kernel', 'kernel.status');
      // Safety decisions are counted by the safety actor; show them when it runs.
      const safety = st.actors.some((a) => a.path === 'system/safety' && a.state === 'running')
        ? await rt.ask('system/safety', 'safety.stats', {}, { timeoutMs: 5000 }).catch(() => null)
        : null;
      await rt.close();
      if (o.json) {
        process.stdout.write(JSON.stringify(safety ? { ...st, safety } : st) + '\n');
        return;
      }
      process.stdout.write(
        `pid ${st.pid}, up ${Math.round(st.uptime_ms / 1000)} s, ${st.threads} threads (${st.placement}), rss ${st.rss_mb} MB\n\n` +
          table(
            ['PATH', 'THREAD', 'STATE', 'RESTARTS', 'MAILBOX', 'HANDLED'],
            st.actors.map((a) => [a.path, a.thread, a.state, a.restarts, a.mailbox, a.handled]),
          ) +
          '\n',
      );
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
      const info = runningService(rt.config().data_dir);
      if (!info) {
        process.stderr.write(`no running service for data dir ${rt.config().data_dir}\n`);
        process.exitCode = 1;
        return;
      }
      const c = await connect({ url: info.url, token: info.token });
      await c.ask('kernel', 'kernel.stop', {});
      await c.close();
      const t0 = Date.now();
      while (pidAlive(info.pid) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 50));
      process.stdout.write(pidAlive(info.pid) ? `service (pid ${info.pid}) is still stopping\n` : `stopped (pid ${info.pid})\n`);
    });
}
