/** The service's pino logger; each actor gets a child bound to `{actor: path}`. */
import { pino, type Logger } from 'pino';

/** Paths that may carry credentials: never written to a log line. */
export const REDACT_PATHS = ['*.api_key', '*.apiKey', '*.authorization', '*.token', '*.password', 'headers.authorization', 'headers["x-api-key"]'];

export function createLogger(level: string, file?: string): Logger {
  const opts = { level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (!file) return pino(opts, pino.destination({ fd: 2, sync: false }));
  return pino(opts, pino.multistream([{ stream: pino.destination({ fd: 2, sync: false }) }, { stream: pino.destination({ dest: file, mkdir: true, sync: false }) }]));
}
