/**
 * Every command has an overall deadline (`--timeout`), so nothing the CLI waits for — the service,
 * a reply, stdin, a model download — can hang a shell or a script. When it passes, the command exits
 * with code 124 (as timeout(1) does) naming what it was waiting for.
 */

export const TIMEOUT_EXIT_CODE = 124;

/** Defaults per command (ms; 0 = none). Commands not listed get DEFAULT_DEADLINE_MS. */
export const DEFAULT_DEADLINE_MS = 60_000;
const COMMAND_DEADLINES: Record<string, number> = {
  // Until the ready line; the service then runs until stopped.
  start: 120_000,
  // A whole agent turn with tools (the agent enforces its own turn_timeout_ms).
  chat: 15 * 60_000,
  // Follows events until Ctrl-C.
  'job watch': 0,
  // Serves an MCP host until it closes stdin.
  'mcp serve': 0,
  // First use may download the embedding model and index a whole tree.
  'memory add': 60 * 60_000,
  'memory reindex': 60 * 60_000,
};

export function defaultDeadline(command: string): number {
  return COMMAND_DEADLINES[command] ?? DEFAULT_DEADLINE_MS;
}

/** `30s`, `5m`, `1h`, `1500ms`, a bare number = seconds; `0` = no deadline. */
export function parseDuration(text: string, what = '--timeout'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new Error(`${what}: '${text}' is not a duration (use e.g. 30s, 5m, 1h, 1500ms; 0 = no deadline)`);
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  if (!Number.isFinite(n) || n > 2 ** 31 - 1) throw new Error(`${what}: '${text}' is too long (at most 596h)`);
  return Math.round(n);
}

export function formatMs(ms: number): string {
  return ms % 60_000 === 0 && ms >= 60_000 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** What the command is waiting for now; the deadline message names the innermost. */
export class Waiting {
  private readonly stack: string[] = [];
  /** Set by main: drops the default deadline (an explicit --timeout still holds). */
  onInteractive: () => void = () => {};
  /** A REPL, a watch or a running service: no default deadline from here on. */
  interactive(): void {
    this.onInteractive();
  }
  async on<T>(what: string, p: Promise<T> | (() => Promise<T>)): Promise<T> {
    this.stack.push(what);
    try {
      return await (p instanceof Promise ? p : p());
    } finally {
      const i = this.stack.lastIndexOf(what);
      if (i >= 0) this.stack.splice(i, 1);
    }
  }
  current(): string {
    return this.stack[this.stack.length - 1] ?? 'the command to finish';
  }
}
