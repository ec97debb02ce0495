/** Servers the MCP tests run as child processes: the real reference servers from npm and the hostile fixture. */
import { freePort } from '../support/ports.js';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
export const EVERYTHING = path.join(path.dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist', 'index.js');
export const FILESYSTEM = path.join(path.dirname(require.resolve('@modelcontextprotocol/server-filesystem/package.json')), 'dist', 'index.js');
export const HOSTILE = fileURLToPath(new URL('./fixtures/hostile-server.js', import.meta.url));
export const NODE = process.execPath;

export function stdio(script: string, args: string[] = [], extra: Record<string, unknown> = {}) {
  return { transport: 'stdio' as const, command: NODE, args: [script, ...args], ...extra };
}


export async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export { freePort };
