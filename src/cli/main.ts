#!/usr/bin/env node
/** The `rustyclaw` command line. Each command group lives in `./commands/<name>.js`. */
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { createRuntime, type GlobalOptions } from './runtime.js';
import { ConfigError } from '../config/load.js';
import { ActorError } from '../kernel/actor.js';
import { defaultDeadline, formatMs, parseDuration, TIMEOUT_EXIT_CODE } from './deadline.js';

// `rustyclaw status | head -3`: a reader that goes away ends the command quietly, as for any Unix tool.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(141);
    throw err;
  });
}

const program = new Command('rustyclaw')
  .description('RustyClaw: an actor-model agent runtime on worker threads')
  .version('0.1.0')
  .option('-c, --config <file>', 'config file (default: ./rustyclaw.yaml if present, else built-in defaults)')
  .option('-d, --data-dir <dir>', 'data directory (overrides data_dir and RUSTYCLAW_DATA_DIR; default ~/.rustyclaw or $XDG_DATA_HOME/rustyclaw)')
  .option('--log-level <level>', 'log level (fatal|error|warn|info|debug|trace|silent)')
  .option('--log-format <format>', 'log format on stderr: auto (readable on a terminal, JSON when piped), json, pretty')
  .option('--in-process', 'when no service runs, boot the tree inside this command for its duration')
  .option('--timeout <duration>', 'overall deadline of the command, e.g. 30s, 5m (0 = none; default 60s, chat 15m, start 2m until ready, job watch none)')
  .showHelpAfterError()
  .exitOverride();

const rt = createRuntime(program);
const dir = new URL('./commands/', import.meta.url);
for (const f of readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
  try {
    const mod = (await import(new URL(f, dir).href)) as { register?: (p: Command, r: typeof rt) => void };
    mod.register?.(program, rt);
  } catch (err) {
    // One broken command group must not take the others (start, stop, status) down with it.
    process.stderr.write(`rustyclaw: commands in ${f} are unavailable: ${(err as Error).message}
`);
  }
}

/** `job watch` for a subcommand, `status` for a top-level one. */
function commandKey(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x && x !== program; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

let command = '';
let deadline: NodeJS.Timeout | undefined;
program.hook('preAction', (_root, action) => {
  command = commandKey(action);
  // A one-shot command's WebAssembly (undici's HTTP parser, in the provider router) stays on V8's
  // baseline compiler: its background optimising compile jobs outlive the command, and Node's exit
  // waits for them (140-300 ms measured after a one-shot chat's answer). The service (`start`) and
  // the sandboxed tools' own commands (`tool ...`) keep the optimising tier.
  if (command !== 'start' && !command.startsWith('tool')) setFlagsFromString('--liftoff-only');
  const given = program.opts<GlobalOptions>().timeout;
  const ms = given !== undefined ? parseDuration(given) : defaultDeadline(command);
  if (ms > 0) {
    deadline = setTimeout(() => {
      process.stderr.write(`rustyclaw: ${command} timed out after ${formatMs(ms)} waiting for ${rt.waiting!.current()} (--timeout to change)\n`);
      process.exit(TIMEOUT_EXIT_CODE);
    }, ms);
  }
  if (given === undefined) rt.waiting!.onInteractive = () => clearTimeout(deadline);
});

try {
  await program.parseAsync(process.argv);
  // The service keeps running after its ready line; every other command is done when its action is.
  if (command !== 'start') {
    await rt.close().catch(() => {});
    process.exit(process.exitCode ?? 0);
  }
} catch (err) {
  clearTimeout(deadline);
  await rt.close().catch(() => {});
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof ConfigError) process.stderr.write(`rustyclaw: ${err.message}\n`);
  else if (err instanceof ActorError) process.stderr.write(`rustyclaw: ${err.code}: ${err.message}\n`);
  else process.stderr.write(`rustyclaw: ${(err as Error).message}\n`);
  process.exit(1);
}
