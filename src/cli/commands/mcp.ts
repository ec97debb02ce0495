/**
 * `rustyclaw mcp list | connect NAME | disconnect NAME | tools [NAME] | call NAME TOOL | remove NAME |
 * search QUERY | add NAME | serve`: MCP servers (system/mcp, docs/mcp.md). Works against the
 * running service or, with --in-process, a tree booted in this command.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { configOrigin } from '../../config/load.js';
import type { CliRuntime } from '../runtime.js';
import { table } from '../table.js';
import { MCP_ACTOR, type McpConfig, type McpToolInfo, type McpServerConfig, type McpServerStatus } from '../../../protocol/mcp.js';
import { entryFromRegistry, RegistryClient, type RegistryServer } from '../mcp-registry.js';
import { serveMcp } from '../mcp-serve.js';
import { login } from '../mcp-login.js';

const LONG = { timeoutMs: 11 * 60_000 };
const out = (s: string) => void process.stdout.write(s);

/** The service runs no system/mcp when no server is configured: say so instead of "unknown actor". */
function noMcp(e: unknown): boolean {
  return (e as { code?: string }).code === 'unknown_actor';
}
const NO_SERVERS = 'no MCP servers are configured (add one under mcp.servers in rustyclaw.yaml, or `rustyclaw mcp add NAME`)';

function statusLine(s: McpServerStatus): string[] {
  return [s.name, s.transport, s.state, s.protocol_version ?? '-', String(s.tools), String(s.restarts), s.last_error ? (s.last_error.length > 80 ? `${s.last_error.slice(0, 79)}…` : s.last_error) : '-'];
}

/** The config file a server entry is written to: -c FILE, else the one loaded, else ./rustyclaw.yaml. */
function configFile(rt: CliRuntime): string {
  return configOrigin(rt.config()).file ?? path.resolve('rustyclaw.yaml');
}

function writeServerEntry(file: string, name: string, entry: McpServerConfig | null): void {
  const doc = parseDocument(existsSync(file) ? readFileSync(file, 'utf8') : '');
  if (entry) doc.setIn(['mcp', 'servers', name], doc.createNode(entry));
  else doc.deleteIn(['mcp', 'servers', name]);
  writeFileSync(file, String(doc));
}

export function register(program: Command, rt: CliRuntime): void {
  const mcp = program.command('mcp').description('MCP servers: list, connect, disconnect, tools, call, search, add, remove, login, logout, serve');

  mcp.command('list')
    .option('--json', 'print {servers: [...]} as JSON')
    .description('configured servers: connection state, protocol version, tool count, restarts, last error')
    .action(async (o: { json?: boolean }) => {
      let servers: McpServerStatus[] = [];
      try {
        servers = (await rt.ask(MCP_ACTOR, 'mcp.list', {})).servers;
      } catch (e) {
        if (!noMcp(e)) throw e;
      }
      if (o.json) out(JSON.stringify({ servers }) + '\n');
      else if (!servers.length) out(`${NO_SERVERS}\n`);
      else out(table(['name', 'transport', 'state', 'protocol', 'tools', 'restarts', 'last error'], servers.map(statusLine)) + '\n');
      await rt.close();
    });

  for (const [verb, type, desc] of [
    ['connect', 'mcp.connect', 'connect a configured server (waits for the handshake; it keeps reconnecting after failures)'],
    ['disconnect', 'mcp.disconnect', "close a server's connection (a stdio server is stopped) until `mcp connect`"],
  ] as const) {
    mcp.command(verb)
      .argument('<name>', 'a server under mcp.servers')
      .option('--json', 'print the server status as JSON')
      .description(desc)
      .action(async (name: string, o: { json?: boolean }) => {
        let r;
        try {
          r = await rt.ask(MCP_ACTOR, type, { name }, LONG);
        } catch (e) {
          if (noMcp(e)) throw new Error(`unknown_server: no MCP server '${name}': ${NO_SERVERS}`, { cause: e });
          throw e;
        }
        const s = r.server;
        if (o.json) out(JSON.stringify(s) + '\n');
        else out(`${s.name}: ${s.state}${s.protocol_version ? ` (protocol ${s.protocol_version}, ${s.tools} tools)` : ''}${s.last_error ? `\n  last error: ${s.last_error}` : ''}\n`);
        if (verb === 'connect' && s.state !== 'connected') process.exitCode = 1;
        await rt.close();
      });
  }

  mcp.command('tools')
    .argument('[name]', 'one server (default: all)')
    .option('--json', 'print {tools: [{name, description, inputSchema}]} (the servers\' own tool names)')
    .description('tools of the connected servers, with the qualified names agents see (<server>__<tool>)')
    .action(async (name: string | undefined, o: { json?: boolean }) => {
      let tools: McpToolInfo[] = [];
      try {
        tools = (await rt.ask(MCP_ACTOR, 'mcp.tools', name ? { name } : {})).tools;
      } catch (e) {
        if (!noMcp(e)) throw e;
        if (name) throw new Error(`unknown_server: no MCP server '${name}': ${NO_SERVERS}`, { cause: e });
      }
      if (o.json) out(JSON.stringify({ tools: tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema, ...(name ? {} : { server: t.server }), ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}) })) }) + '\n');
      else if (!tools.length) out(name ? `${name}: no tools (not connected, or it lists none: see \`rustyclaw mcp list\`)\n` : 'no MCP tools\n');
      else out(table(['qualified name', 'server', 'available', 'description'], tools.map((t) => [t.qualified, t.server, t.available ? 'yes' : 'no', t.description.length > 60 ? `${t.description.slice(0, 59)}…` : t.description])) + '\n');
      await rt.close();
    });

  mcp.command('call')
    .argument('<name>', 'the server')
    .argument('<tool>', "the server's own tool name")
    .option('--args <json>', 'the arguments object as JSON', '{}')
    .option('--timeout-ms <ms>', 'call timeout (default mcp.call_timeout_ms)')
    .option('--json', 'print {ok, content, structuredContent?, code?, message?, ms}')
    .description('call one tool (arguments checked against its schema, output through the safety layer); exit code 1 when it fails')
    .action(async (name: string, tool: string, o: { args: string; json?: boolean; timeoutMs?: string }) => {
      let args: unknown;
      try {
        args = JSON.parse(o.args);
      } catch (e) {
        throw new Error(`--args: not valid JSON: ${(e as Error).message}`, { cause: e });
      }
      const timeout = o.timeoutMs ? Number(o.timeoutMs) : undefined;
      if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) throw new Error(`--timeout-ms: a positive integer, got '${o.timeoutMs}'`);
      let r;
      try {
        r = await rt.ask(MCP_ACTOR, 'mcp.call', { server: name, tool, args, ...(timeout ? { timeout_ms: timeout } : {}) }, { timeoutMs: (timeout ?? 10 * 60_000) + 30_000 });
      } catch (e) {
        if (!noMcp(e)) throw e;
        r = { ok: false, server: name, tool, content: '', code: 'unknown_server', message: `no MCP server '${name}': ${NO_SERVERS}`, ms: 0 };
      }
      if (o.json) {
        const { ok, content, structuredContent, code, message, ms } = r;
        out(JSON.stringify({ ok, content, ...(structuredContent !== undefined ? { structuredContent } : {}), ...(code ? { code } : {}), ...(message ? { message } : {}), ms }) + '\n');
      } else {
        if (r.ok || r.code === 'tool_error') out(r.content.endsWith('\n') ? r.content : `${r.content}\n`);
        if (!r.ok) process.stderr.write(`rustyclaw: ${r.code}: ${r.message}\n`);
      }
      if (!r.ok) process.exitCode = 1;
      await rt.close();
    });

  mcp.command('remove')
    .argument('<name>', 'a server under mcp.servers')
    .description('delete the server entry from the config file (and close its connection in the running service)')
    .action(async (name: string) => {
      const file = configFile(rt);
      const cfg = rt.config().mcp as McpConfig;
      const inFile = !!cfg.servers[name];
      if (inFile) writeServerEntry(file, name, null);
      let live = false;
      if (await rt.remote().catch(() => false)) {
        try {
          live = (await rt.ask(MCP_ACTOR, 'mcp.remove_server', { name })).removed;
        } catch (e) {
          if (!noMcp(e)) throw e;
        }
      }
      if (!inFile && !live) throw new Error(`unknown_server: no MCP server '${name}' in ${file}${live ? '' : ' or the running service'}`);
      out(`removed ${name}${inFile ? ` from ${file}` : ''}${live ? ' (disconnected in the running service)' : ''}\n`);
      await rt.close();
    });

  mcp.command('search')
    .argument('<query>', 'words to look for in server names and descriptions')
    .option('--limit <n>', 'results', '20')
    .option('--registry <url>', 'registry base URL (default mcp.registry.base_url)')
    .option('--json', 'print {servers: [{name, description, version, packages, remotes}]}')
    .description('search the MCP registry (active servers, latest versions)')
    .action(async (query: string, o: { limit: string; registry?: string; json?: boolean }) => {
      const reg = new RegistryClient(o.registry ?? (rt.config().mcp as McpConfig).registry.base_url);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new Error(`--limit: 1..100, got '${o.limit}'`);
      const servers = await rt.waiting!.on(`the registry at ${reg.base}`, reg.search(query, limit));
      if (o.json) out(JSON.stringify({ servers }) + '\n');
      else if (!servers.length) out(`no active servers match '${query}'\n`);
      else out(table(['name', 'version', 'install', 'description'], servers.map((s: RegistryServer) => [s.name, s.version, [...s.packages.map((p) => `${p.registryType}:${p.identifier}`), ...s.remotes.map((r) => r.type)].join(' ') || '-', s.description.length > 60 ? `${s.description.slice(0, 59)}…` : s.description])) + '\n');
    });

  mcp.command('add')
    .argument('<name>', 'a registry server name (io.github.owner/server)')
    .option('--as <local>', 'the local server name (default: the last part of the registry name)')
    .option('--registry <url>', 'registry base URL (default mcp.registry.base_url)')
    .option('--remote', 'prefer the hosted remote over a local package')
    .description('write an mcp.servers entry from a registry entry (npm packages run with npx, remotes by URL)')
    .action(async (name: string, o: { as?: string; registry?: string; remote?: boolean }) => {
      const reg = new RegistryClient(o.registry ?? (rt.config().mcp as McpConfig).registry.base_url);
      const server = await rt.waiting!.on(`the registry at ${reg.base}`, reg.getServer(name));
      const local = o.as ?? name.split('/').pop()!.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 32);
      const npmUrl = (rt.config().mcp as McpConfig).registry.npm_url;
      const entry = await rt.waiting!.on(`the package file of ${server.name}`, entryFromRegistry(server, { preferRemote: !!o.remote, npmUrl }));
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(local)) throw new Error(`--as: a server name is 1-32 of A-Z a-z 0-9 _ -, got '${local}'`);
      if ((rt.config().mcp as McpConfig).servers[local]) throw new Error(`a server '${local}' is already configured (pick another with --as, or \`rustyclaw mcp remove ${local}\`)`);
      const file = configFile(rt);
      writeServerEntry(file, local, entry);
      let live = '';
      if (await rt.remote().catch(() => false)) {
        try {
          const r = await rt.ask(MCP_ACTOR, 'mcp.add_server', { name: local, server: entry }, LONG);
          live = ` and connected in the running service (${r.server.state})`;
        } catch (e) {
          if (!noMcp(e)) throw e;
          live = '; restart the service to connect it';
        }
      }
      out(`added ${local} (${server.name} ${server.version}: ${entry.transport === 'stdio' ? `${entry.command} ${(entry.args ?? []).join(' ')}` : entry.url}) to ${file}${live}\n`);
      await rt.close();
    });

  mcp.command('login')
    .argument('<name>', 'an http server under mcp.servers with oauth: {}')
    .option('--timeout-ms <ms>', 'how long to wait for the browser (default mcp.oauth.login_timeout_ms)')
    .description('OAuth login: prints the authorization URL, listens on the loopback redirect (mcp.oauth.redirect_port), stores the tokens encrypted')
    .action(async (name: string, o: { timeoutMs?: string }) => {
      const t = o.timeoutMs ? Number(o.timeoutMs) : undefined;
      if (t !== undefined && !(Number.isInteger(t) && t > 0)) throw new Error(`--timeout-ms: a positive integer, got '${o.timeoutMs}'`);
      try {
        await login(rt, name, t ? { timeoutMs: t } : {});
      } catch (e) {
        if (noMcp(e)) throw new Error(`unknown_server: no MCP server '${name}': ${NO_SERVERS}`, { cause: e });
        throw e;
      }
      await rt.close();
    });

  mcp.command('logout')
    .argument('<name>', 'an http server under mcp.servers with oauth: {}')
    .description('forget the stored OAuth tokens of a server (it then needs `mcp login` again)')
    .action(async (name: string) => {
      const r = await rt.ask(MCP_ACTOR, 'mcp.logout', { name });
      out(r.removed ? `logged out of ${name} (tokens deleted)\n` : `${name}: no stored login\n`);
      await rt.close();
    });

  mcp.command('serve')
    .description('run RustyClaw as an MCP server on stdio: each agent as ask_<agent>, and memory_search')
    .action(async () => {
      await rt.waiting!.on('the MCP host (stdin)', serveMcp(rt));
      await rt.close();
    });
}
