/**
 * The gateway as its users reach it: the real service started with `rustyclaw start` (child
 * process, temp HOME, free port), its URL and token read from the run file a client would read.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { makeWorld, startService, type RunningService, type World } from '../acceptance/helpers.js';

export interface GatewayWorld {
  w: World;
  svc: RunningService;
  /** http://127.0.0.1:<port> */
  http: string;
  ws: string;
  token: string;
  stop(): Promise<void>;
}

export async function startGatewayService(extraYaml = '', env: NodeJS.ProcessEnv = {}): Promise<GatewayWorld> {
  const w = makeWorld(extraYaml, env);
  const svc = await startService(w);
  const info = JSON.parse(readFileSync(path.join(w.home, '.rustyclaw', 'run', 'endpoint.json'), 'utf8')) as { url: string; http_url: string; token: string };
  const world: GatewayWorld = {
    w, svc, http: info.http_url, ws: info.url, token: info.token,
    async stop() {
      // The service running now: a test may have replaced it (killed and started again).
      const svc = world.svc;
      if (svc.child.exitCode === null) {
        svc.child.kill('SIGTERM');
        const t = setTimeout(() => svc.child.kill('SIGKILL'), 15_000);
        await svc.exited;
        clearTimeout(t);
      }
    },
  };
  return world;
}

/** fetch with the bearer token (unless `token: null`). */
export function call(g: GatewayWorld, p: string, init: RequestInit & { token?: string | null; json?: unknown } = {}): Promise<Response> {
  const { token, json, ...rest } = init;
  const headers = new Headers(rest.headers);
  const t = token === undefined ? g.token : token;
  if (t !== null) headers.set('authorization', `Bearer ${t}`);
  if (json !== undefined) headers.set('content-type', 'application/json');
  return fetch(g.http + p, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json), method: rest.method ?? 'POST' } : {}) });
}

export async function until(fn: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
