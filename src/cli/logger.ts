/**
 * The CLI's logger: readable lines (pino-pretty) when stderr is a terminal, pino's JSON when it is
 * piped or `--log-format json` asks for it, so logs stay machine-readable wherever they are collected.
 * A log file, when configured, always gets JSON.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';
import { REDACT_PATHS } from '../kernel/log.js';

export type LogFormat = 'auto' | 'json' | 'pretty';

export function wantsPretty(format: LogFormat, stream: { isTTY?: boolean } = process.stderr): boolean {
  return format === 'pretty' || (format === 'auto' && stream.isTTY === true);
}

export function createCliLogger(level: string, opts: { file?: string; format?: LogFormat } = {}): Logger {
  const base = { level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  const err: DestinationStream = wantsPretty(opts.format ?? 'auto')
    ? pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : pino.destination({ fd: 2, sync: false });
  if (!opts.file) return pino(base, err);
  return pino(base, pino.multistream([{ stream: err }, { stream: pino.destination({ dest: opts.file, mkdir: true, sync: false }) }]));
}
