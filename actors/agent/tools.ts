/**
 * Built-in tools and the registry that validates and runs tool calls. Arguments come from the
 * model as JSON text: they are parsed and checked against the tool's schema before it runs, and
 * every failure becomes a result the model can read (the turn goes on).
 */
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ToolError, type Tool, type ToolContext, type ToolResult } from '../../protocol/tools.js';
import type { ToolSpec } from '../../protocol/provider.js';

const CurrentTimeArgs = Type.Object({
  timezone: Type.Optional(Type.String({ description: 'IANA time zone, e.g. Europe/Paris (default UTC)' })),
}, { additionalProperties: false });

export const currentTimeTool: Tool<{ timezone?: string }> = {
  name: 'current_time',
  description: 'The current date and time (ISO 8601 and a readable form), optionally in a given IANA time zone.',
  parameters: CurrentTimeArgs,
  execute(args) {
    const tz = args.timezone || 'UTC';
    const now = new Date();
    let local: string;
    try {
      local = new Intl.DateTimeFormat('en-GB', { timeZone: tz, dateStyle: 'full', timeStyle: 'long' }).format(now);
    } catch {
      throw new ToolError('invalid_arguments', `unknown time zone '${tz}'`);
    }
    return JSON.stringify({ iso: now.toISOString(), timezone: tz, local, unix_ms: now.getTime() });
  },
};

const ReadFileArgs = Type.Object({
  path: Type.String({ minLength: 1, description: 'Path relative to the workspace, e.g. notes/todo.md' }),
  max_bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Read at most this many bytes (default 65536)' })),
}, { additionalProperties: false });

/** Resolve `rel` inside `root`, refusing anything (incl. symlinks) that leads outside it. */
export async function confinedPath(root: string, rel: string): Promise<string> {
  if (rel.includes('\0')) throw new ToolError('invalid_arguments', 'path contains a NUL byte');
  if (path.isAbsolute(rel)) throw new ToolError('path_escape', `absolute paths are not allowed ('${rel}'); give a path relative to the workspace`);
  const rootReal = await realpath(root);
  const joined = path.resolve(rootReal, rel);
  if (joined !== rootReal && !joined.startsWith(rootReal + path.sep)) throw new ToolError('path_escape', `'${rel}' is outside the workspace`);
  let real: string;
  try {
    real = await realpath(joined);
  } catch {
    throw new ToolError('not_found', `no such file in the workspace: '${rel}'`);
  }
  if (real !== rootReal && !real.startsWith(rootReal + path.sep)) throw new ToolError('path_escape', `'${rel}' links outside the workspace`);
  return real;
}

export const readWorkspaceFileTool: Tool<{ path: string; max_bytes?: number }> = {
  name: 'read_workspace_file',
  description: "Read a text file from the agent's workspace (paths relative to it; directories are listed).",
  parameters: ReadFileArgs,
  async execute(args, ctx) {
    const file = await confinedPath(ctx.workspace, args.path);
    const st = await lstat(file);
    if (st.isDirectory()) {
      const names = (await readdir(file, { withFileTypes: true })).map((d) => (d.isDirectory() ? `${d.name}/` : d.name)).sort();
      return names.length ? names.join('\n') : '(empty directory)';
    }
    if (!st.isFile()) throw new ToolError('invalid_arguments', `'${args.path}' is not a regular file`);
    const max = args.max_bytes ?? 65536;
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(max, st.size));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      const data = buf.subarray(0, bytesRead);
      if (data.includes(0)) throw new ToolError('binary_file', `'${args.path}' is a binary file`);
      const more = st.size > bytesRead ? `\n[… truncated: ${st.size - bytesRead} more bytes; pass max_bytes to read more]` : '';
      return data.toString('utf8') + more;
    } finally {
      await fh.close();
    }
  },
};

export const BUILTIN_TOOLS: Record<string, Tool> = {
  [currentTimeTool.name]: currentTimeTool,
  [readWorkspaceFileTool.name]: readWorkspaceFileTool,
};

function isTypeBox(s: unknown): s is TSchema {
  return typeof s === 'object' && s !== null && Object.getOwnPropertySymbols(s).some((k) => k.description === 'TypeBox.Kind');
}

/** Check args against the tool's schema; returns a readable problem or undefined. */
export function checkArgs(tool: Tool, args: unknown): string | undefined {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return 'arguments must be a JSON object';
  if (isTypeBox(tool.parameters)) {
    const first = Value.Errors(tool.parameters, args).First();
    return first ? `${first.path || '/'}: ${first.message}` : undefined;
  }
  const req = (tool.parameters as { required?: unknown }).required;
  if (Array.isArray(req)) {
    const missing = req.filter((k) => typeof k === 'string' && !(k in (args as object)));
    if (missing.length) return `missing required argument(s): ${missing.join(', ')}`;
  }
  return undefined;
}

/** An agent's `tools` setting: a list of names, or allow/deny lists of names and `prefix*` patterns. */
export type ToolsSetting = string[] | { allow?: string[]; deny?: string[] };

export class ToolPolicy {
  readonly allow: string[];
  readonly deny: string[];
  constructor(setting: ToolsSetting | undefined) {
    if (Array.isArray(setting)) { this.allow = setting; this.deny = []; }
    else { this.allow = setting?.allow ?? ['*']; this.deny = setting?.deny ?? []; }
  }
  /** A name, or a glob: `*` any run of characters, `?` one (`github__*`, `*__delete_*`). */
  private static matches(pattern: string, name: string): boolean {
    if (!/[*?]/.test(pattern)) return pattern === name;
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return re.test(name);
  }
  permits(name: string): boolean {
    return !this.deny.some((p) => ToolPolicy.matches(p, name)) && this.allow.some((p) => ToolPolicy.matches(p, name));
  }
  /** Names in the lists that are neither patterns nor known tools (for a warning). */
  unknown(known: (n: string) => boolean): string[] {
    return [...this.allow, ...this.deny].filter((n) => !/[*?]/.test(n) && !known(n));
  }
}

/** Sandboxed tools behind a message (system/tool-runner); the registry only sees specs and results. */
export interface RemoteTools {
  list(): Promise<ToolSpec[]>;
  run(name: string, args: unknown, ctx: ToolContext, timeoutMs: number): Promise<{ ok: boolean; content: string; code?: string }>;
}

/**
 * Several remote tool sources (sandboxed WASM tools, MCP servers) as one: listed together, each
 * call routed to the source that listed the name. A source that fails to list keeps its last list.
 */
export function joinRemotes(sources: RemoteTools[]): RemoteTools {
  const last: ToolSpec[][] = sources.map(() => []);
  const owner = new Map<string, number>();
  return {
    async list() {
      const got = await Promise.allSettled(sources.map((s) => s.list()));
      got.forEach((g, i) => { if (g.status === 'fulfilled') last[i] = g.value; });
      owner.clear();
      const out: ToolSpec[] = [];
      last.forEach((specs, i) => specs.forEach((t) => { if (!owner.has(t.name)) { owner.set(t.name, i); out.push(t); } }));
      return out;
    },
    run(name, args, ctx, timeoutMs) {
      const i = owner.get(name);
      if (i === undefined) return Promise.resolve({ ok: false, code: 'unknown_tool', content: `error: unknown tool '${name}'` });
      return sources[i].run(name, args, ctx, timeoutMs);
    },
  };
}

export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();
  private remoteSpecs: ToolSpec[] = [];

  constructor(tools: Tool[], private readonly policy: ToolPolicy = new ToolPolicy(tools.map((t) => t.name)), private readonly remote?: RemoteTools) {
    for (const t of tools) this.tools.set(t.name, t);
  }

  /** Built-in tools the setting permits, plus the remote (sandboxed) ones it permits. */
  static builtins(setting: ToolsSetting | undefined, remote?: RemoteTools): { registry: ToolRegistry; unknown: string[] } {
    const policy = new ToolPolicy(setting);
    const unknown = remote ? [] : policy.unknown((n) => !!BUILTIN_TOOLS[n]);
    const tools = Object.values(BUILTIN_TOOLS).filter((t) => policy.permits(t.name));
    return { registry: new ToolRegistry(tools, policy, remote), unknown };
  }

  /** Fetch the current sandboxed tools (kept from the last success when the runner does not answer). */
  async refresh(): Promise<void> {
    if (!this.remote) return;
    try {
      this.remoteSpecs = (await this.remote.list()).filter((t) => !this.tools.has(t.name) && this.policy.permits(t.name));
    } catch {
      // runner restarting or absent: keep the last list
    }
  }

  specs(): ToolSpec[] {
    const local = [...this.tools.values()].map((t) => ({ name: t.name, description: t.description, parameters: JSON.parse(JSON.stringify(t.parameters)) as Record<string, unknown> }));
    return [...local, ...this.remoteSpecs];
  }

  has(name: string): boolean {
    return this.tools.has(name) || this.remoteSpecs.some((t) => t.name === name);
  }

  /** Parse, validate and run one call. Never throws: failures are results with `ok: false`. */
  async run(name: string, rawArgs: string, ctx: ToolContext, timeoutMs: number): Promise<ToolResult & { args?: unknown }> {
    const started = performance.now();
    const done = (r: Omit<ToolResult, 'ms'> & { args?: unknown }) => ({ ...r, ms: performance.now() - started });
    // Enforced here, not only by what the prompt lists: a model naming a denied tool gets nothing.
    if (!this.policy.permits(name)) return done({ ok: false, code: 'tool_denied', content: `error: tool '${name}' is not allowed for this agent. Available tools: ${this.specs().map((t) => t.name).join(', ') || 'none'}` });
    const tool = this.tools.get(name);
    const remote = !tool && this.remote && this.remoteSpecs.some((t) => t.name === name);
    if (!tool && !remote) return done({ ok: false, code: 'unknown_tool', content: `error: unknown tool '${name}'. Available tools: ${this.specs().map((t) => t.name).join(', ') || 'none'}` });
    let args: unknown;
    try {
      args = rawArgs.trim() ? JSON.parse(rawArgs) : {};
    } catch (e) {
      return done({ ok: false, code: 'invalid_arguments', content: `error: the arguments for ${name} are not valid JSON (${(e as Error).message}): ${rawArgs.slice(0, 200)}` });
    }
    if (!tool) {
      // Sandboxed: the runner checks the arguments against the manifest and enforces its limits.
      ctx.progress({ message: `running ${name} in the sandbox` });
      try {
        const r = await this.remote!.run(name, args, ctx, timeoutMs);
        return done({ ok: r.ok, args, content: r.content, ...(r.code ? { code: r.code } : {}) });
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'tool_error';
        return done({ ok: false, code: code === 'timeout' ? 'timeout' : code, args, content: `error: ${name}: ${(e as Error).message}` });
      }
    }
    const problem = checkArgs(tool, args);
    if (problem) return done({ ok: false, code: 'invalid_arguments', args, content: `error: invalid arguments for ${name}: ${problem}` });
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          ac.abort();
          reject(new ToolError('timeout', `${name} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      });
      const cancelled = new Promise<never>((_, reject) => {
        if (ctx.signal.aborted) reject(new ToolError('cancelled', 'cancelled'));
        ctx.signal.addEventListener('abort', () => reject(new ToolError('cancelled', 'cancelled')), { once: true });
      });
      // Losing racers must not surface later as unhandled rejections.
      timeout.catch(() => undefined);
      cancelled.catch(() => undefined);
      const content = await Promise.race([Promise.resolve(tool.execute(args, { ...ctx, signal: ac.signal })), timeout, cancelled]);
      return done({ ok: true, args, content: String(content) });
    } catch (e) {
      const code = e instanceof ToolError ? e.code : 'tool_error';
      return done({ ok: false, code, args, content: `error: ${(e as Error).message}` });
    } finally {
      if (timer) clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }
}
