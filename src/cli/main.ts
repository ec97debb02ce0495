#!/usr/bin/env node
/** The `rustyclaw` command line. Each command group lives in `./commands/<name>.js`. */
import { readdirSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { createRuntime } from './runtime.js';
import { ConfigError } from '../config/load.js';
import { ActorError } from '../kernel/actor.js';

const program = new Command('rustyclaw')
  .description('RustyClaw: an actor-model agent runtime on worker threads')
  .version('0.1.0')
  .option('-c, --config <file>', 'config file (default: ./rustyclaw.yaml if present, else built-in defaults)')
  .option('-d, --data-dir <dir>', 'data directory (overrides data_dir and RUSTYCLAW_DATA_DIR)')
  .option('--log-level <level>', 'log level (fatal|error|warn|info|debug|trace|silent)')
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

try {
  await program.parseAsync(process.argv);
} catch (err) {
  await rt.close().catch(() => {});
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof ConfigError) process.stderr.write(`rustyclaw: ${err.message}\n`);
  else if (err instanceof ActorError) process.stderr.write(`rustyclaw: ${err.code}: ${err.message}\n`);
  else process.stderr.write(`rustyclaw: ${(err as Error).message}\n`);
  process.exit(1);
}
