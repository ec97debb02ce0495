/**
 * The data dir when nothing names one: `$XDG_DATA_HOME/rustyclaw` when that variable is set, else
 * `~/.rustyclaw` — the same place from every working directory, so the CLI and the client find the
 * service from anywhere. (A tiny module: the client uses it without loading the config machinery.)
 */
import os from 'node:os';
import path from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)) return path.join(env.XDG_DATA_HOME, 'rustyclaw');
  return path.join(env.HOME || os.homedir(), '.rustyclaw');
}
