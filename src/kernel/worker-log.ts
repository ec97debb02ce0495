/**
 * Logging inside worker threads. Loading pino in every thread costs ~15 ms of start-up and memory
 * per actor (measured, docs/decisions.md), so a worker's logger has pino's calling convention but
 * forwards each record over the control port to the main thread's pino, which formats, redacts and
 * writes it. Records below the configured level are dropped in the worker, at no cost.
 */
import { format } from 'node:util';
import type { Logger } from 'pino';

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export interface LogRecord {
  level: number;
  obj: Record<string, unknown>;
  msg?: string;
}

function plainError(e: Error & { code?: unknown }): Record<string, unknown> {
  return { type: e.name, message: e.message, stack: e.stack, ...(typeof e.code === 'string' ? { code: e.code } : {}) };
}

function toPlain(obj: unknown): Record<string, unknown> {
  if (obj instanceof Error) return { err: plainError(obj) };
  if (typeof obj !== 'object' || obj === null) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? plainError(v) : v;
  return out;
}

export function forwardingLogger(level: string, bindings: Record<string, unknown>, post: (rec: LogRecord) => void): Logger {
  const threshold = LEVELS[level] ?? 30;
  const make = (b: Record<string, unknown>): Logger => {
    const emit = (lvl: number) =>
      function (this: unknown, first?: unknown, ...rest: unknown[]) {
        if (lvl < threshold) return;
        let obj: Record<string, unknown>;
        let msg: string | undefined;
        if (typeof first === 'string') {
          obj = { ...b };
          msg = rest.length ? format(first, ...rest) : first;
        } else {
          obj = { ...b, ...toPlain(first) };
          const [m, ...args] = rest;
          if (typeof m === 'string') msg = args.length ? format(m, ...args) : m;
          else if (first instanceof Error) msg = first.message;
        }
        const rec: LogRecord = { level: lvl, obj, msg };
        try {
          post(rec);
        } catch {
          // Something in the record cannot be cloned: send what JSON can carry.
          post({ level: lvl, obj: JSON.parse(JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) ?? '{}'), msg });
        }
      };
    const logger = {
      level,
      trace: emit(10),
      debug: emit(20),
      info: emit(30),
      warn: emit(40),
      error: emit(50),
      fatal: emit(60),
      silent: () => {},
      child: (more: Record<string, unknown>) => make({ ...b, ...more }),
      isLevelEnabled: (l: string) => (LEVELS[l] ?? 0) >= threshold,
      flush: (cb?: (err?: Error) => void) => cb?.(),
      bindings: () => ({ ...b }),
    };
    return logger as unknown as Logger;
  };
  return make(bindings);
}

export const levelName = (n: number): 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' =>
  n >= 60 ? 'fatal' : n >= 50 ? 'error' : n >= 40 ? 'warn' : n >= 30 ? 'info' : n >= 20 ? 'debug' : 'trace';
