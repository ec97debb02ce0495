/**
 * The names agents see for MCP tools: `<server>__<tool>`, sanitised to the provider-safe
 * `^[A-Za-z0-9_-]{1,64}$`. A call is routed by the lookup table built here, never by splitting the
 * name (server and tool names may themselves contain `_` or `__`).
 */
import { createHash } from 'node:crypto';

export const SERVER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const MAX = 64;

function clean(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** `<server>__<tool>`; too long or colliding names get a short hash suffix so each stays unique. */
export function qualifiedName(server: string, tool: string, taken: (n: string) => boolean = () => false): string {
  let name = `${clean(server)}__${clean(tool)}`;
  const hashed = () => {
    const h = createHash('sha256').update(`${server}\0${tool}`).digest('hex').slice(0, 8);
    return `${name.slice(0, MAX - 9)}_${h}`;
  };
  if (name.length > MAX || taken(name)) name = hashed();
  return name;
}

export interface Route {
  server: string;
  tool: string;
}

/** qualified name → (server, tool); rebuilt per server when its tool list changes. */
export class ToolTable {
  private readonly routes = new Map<string, Route>();
  private readonly byServer = new Map<string, Map<string, string>>();

  /** Replace `server`'s tools; returns tool name → qualified name. */
  set(server: string, tools: string[]): Map<string, string> {
    this.drop(server);
    const mine = new Map<string, string>();
    for (const tool of tools) {
      const q = qualifiedName(server, tool, (n) => this.routes.has(n));
      this.routes.set(q, { server, tool });
      mine.set(tool, q);
    }
    this.byServer.set(server, mine);
    return mine;
  }

  drop(server: string): void {
    const mine = this.byServer.get(server);
    if (!mine) return;
    for (const q of mine.values()) this.routes.delete(q);
    this.byServer.delete(server);
  }

  route(qualified: string): Route | undefined {
    return this.routes.get(qualified);
  }

  qualified(server: string, tool: string): string | undefined {
    return this.byServer.get(server)?.get(tool);
  }
}
