/**
 * `rustyclaw mcp login NAME`: listen on the loopback redirect (`http://127.0.0.1:<mcp.oauth.redirect_port>/callback`)
 * before anything else, ask system/mcp for the authorization URL, print it, wait for the browser's
 * redirect, hand code + state + iss to system/mcp (which exchanges and stores the tokens). The port
 * is fixed so the client registration made on the first login stays valid for later ones.
 */
import { createServer, type Server } from 'node:http';
import { MCP_ACTOR, type McpConfig } from '../../protocol/mcp.js';
import type { CliRuntime } from './runtime.js';

export interface Callback {
  code?: string;
  state?: string;
  iss?: string;
  error?: string;
  error_description?: string;
}

const page = (title: string, body: string) => `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif"><h1>${title}</h1><p>${body}</p></body>`;
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The loopback redirect listener; `next()` resolves with the first /callback request's parameters. */
export async function listenForRedirect(port: number): Promise<{ server: Server; next: Promise<{ params: Callback; answer(ok: boolean, text: string): void }> }> {
  let deliver!: (v: { params: Callback; answer(ok: boolean, text: string): void }) => void;
  const next = new Promise<{ params: Callback; answer(ok: boolean, text: string): void }>((r) => (deliver = r));
  let taken = false;
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (req.method !== 'GET' || u.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (taken) {
      res.writeHead(409, { 'content-type': 'text/html; charset=utf-8' }).end(page('Already handled', 'This login already received its redirect.'));
      return;
    }
    taken = true;
    const q = u.searchParams;
    const params: Callback = {};
    for (const k of ['code', 'state', 'iss', 'error', 'error_description'] as const) {
      const v = q.get(k);
      if (v !== null) params[k] = v.slice(0, 4096);
    }
    deliver({
      params,
      answer: (ok, text) => void res.writeHead(ok ? 200 : 400, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page(ok ? 'Logged in' : 'Login failed', esc(text))),
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'EADDRINUSE'
        ? `mcp login: the redirect port 127.0.0.1:${port} is in use (another login, or another program); free it or set mcp.oauth.redirect_port (the registered redirect URI changes with it)`
        : `mcp login: cannot listen on 127.0.0.1:${port}: ${e.message}`)));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, next };
}

export async function login(rt: CliRuntime, name: string, o: { timeoutMs?: number }): Promise<void> {
  const timeout = o.timeoutMs ?? (rt.config().mcp as McpConfig).oauth.login_timeout_ms;
  // The service's config decides the redirect URI (it registered it); the listener is up before the URL is printed.
  const start = await rt.ask(MCP_ACTOR, 'mcp.login_start', { name }, { timeoutMs: 60_000 });
  const port = Number(new URL(start.redirect_uri).port);
  const { server, next } = await listenForRedirect(port);
  try {
    process.stdout.write(`Open this URL in a browser to log in to ${name}:\n\n  ${start.authorization_url}\n\nWaiting for the redirect to ${start.redirect_uri} …\n`);
    // A user with a browser: no default command deadline; our own login timeout holds.
    rt.waiting!.interactive();
    let timer: NodeJS.Timeout | undefined;
    const cb = await rt.waiting!.on(`the browser's redirect to ${start.redirect_uri}`, Promise.race([
      next,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`mcp login ${name}: no redirect to ${start.redirect_uri} within ${Math.round(timeout / 1000)} s (mcp.oauth.login_timeout_ms)`)), timeout))),
    ])).finally(() => clearTimeout(timer));
    const p = cb.params;
    if (p.error) {
      const why = `the authorization server refused the login: ${p.error}${p.error_description ? ` (${p.error_description})` : ''}`;
      cb.answer(false, why);
      throw Object.assign(new Error(`login_failed: mcp login ${name}: ${why}`), { code: 'login_failed' });
    }
    if (!p.code || !p.state) {
      cb.answer(false, 'the redirect carries no code or state');
      throw Object.assign(new Error(`login_failed: mcp login ${name}: the redirect carries no code or state`), { code: 'login_failed' });
    }
    let done;
    try {
      done = await rt.ask(MCP_ACTOR, 'mcp.login_finish', { name, code: p.code, state: p.state, ...(p.iss ? { iss: p.iss } : {}) }, { timeoutMs: 120_000 });
    } catch (e) {
      cb.answer(false, (e as Error).message);
      throw e;
    }
    cb.answer(true, `RustyClaw is logged in to ${name}. You can close this window.`);
    const s = done.server;
    process.stdout.write(`logged in to ${name}${done.issuer ? ` (issuer ${done.issuer})` : ''}: ${s.state}${s.protocol_version ? ` (protocol ${s.protocol_version}, ${s.tools} tools)` : ''}${s.last_error ? `\n  last error: ${s.last_error}` : ''}\n`);
    if (s.state !== 'connected') process.exitCode = 1;
  } finally {
    server.closeAllConnections?.();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
