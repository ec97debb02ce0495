/**
 * `system/mcp`: the Model Context Protocol client (docs/mcp.md). One supervised connection per
 * `mcp.servers.<name>`; a dead or hung server costs a restart of its connection, never this actor
 * or an agent. Thin shell over service.ts. In the tree only when a server is configured.
 */
import { Value } from '@sinclair/typebox/value';
import { defineActor } from '../../src/kernel/actor.js';
import type { Static } from '@sinclair/typebox';
import { MCP_EVENTS_TOPIC, MCP_PROGRESS_TOPIC, McpConfigSchema, McpPromptSchema, McpResourceSchema, mcpMessages, type McpConfig } from '../../protocol/mcp.js';
import { McpFailure } from './failure.js';
import { McpService } from './service.js';
import { contentText } from './content.js';
import { finishLogin, logout, startLogin } from './oauth-login.js';

/** How long a listing waits for servers on their first connect (below the default ask timeout). */
const SETTLE_MS = 10_000;

export default defineActor({
  messages: mcpMessages,
  config: McpConfigSchema,
  onCrash: 'fail',
  setup(ctx) {
    const config = Value.Default(McpConfigSchema, structuredClone(ctx.config ?? {})) as McpConfig;
    const svc = new McpService({
      config, dataDir: ctx.dataDir, log: ctx.log, ask: ctx.ask,
      publishEvent: (e) => ctx.publish(MCP_EVENTS_TOPIC, e),
      publishProgress: (p) => ctx.publish(MCP_PROGRESS_TOPIC, p),
    });
    svc.start();
    ctx.log.info({ servers: Object.keys(config.servers) }, `mcp client ready (${Object.keys(config.servers).length} servers)`);
    const connected = async (name: string) => {
      const c = svc.get(name);
      if (c.state === 'connecting') await c.whenUp(config.connect_timeout_ms);
      if (c.state !== 'connected' || !c.client) throw new McpFailure('server_unavailable', `mcp server '${name}' is ${c.state}${c.lastError ? ` (last error: ${c.lastError})` : ''}`);
      return c.client;
    };
    return {
      handlers: {
        'mcp.list': async () => {
          await svc.settled(SETTLE_MS);
          return { servers: svc.list() };
        },
        'mcp.connect': async (p) => {
          const c = svc.get(p.name);
          await c.start();
          return { server: c.status() };
        },
        'mcp.disconnect': async (p) => {
          const c = svc.get(p.name);
          await c.stop();
          return { server: c.status() };
        },
        'mcp.add_server': async (p) => {
          const c = svc.add(p.name, p.server);
          if (p.server.enabled !== false) await c.whenUp(config.connect_timeout_ms);
          return { server: c.status() };
        },
        'mcp.remove_server': async (p) => ({ removed: await svc.remove(p.name) }),
        'mcp.tools': async (p) => {
          // Agents ask for what is callable now and never wait for a server still starting.
          if (!p.available_only) await svc.settled(SETTLE_MS, p.name);
          return { tools: svc.tools(p.name, p.available_only ?? false) };
        },
        'mcp.call': (p) => svc.call(p),
        'mcp.cancel': (p) => ({ cancelled: svc.cancel(p.call_id) }),
        'mcp.resources': async (p) => {
          const client = await connected(p.name);
          if (!client.getServerCapabilities()?.resources) return { resources: [] as Static<typeof McpResourceSchema>[] };
          const r = await client.listResources(undefined, { timeout: config.call_timeout_ms });
          return { resources: r.resources.map((x) => ({ uri: x.uri, name: x.name, ...(x.mimeType ? { mimeType: x.mimeType } : {}), ...(x.description ? { description: x.description } : {}) })) };
        },
        'mcp.read_resource': async (p) => {
          const client = await connected(p.name);
          const r = await client.readResource({ uri: p.uri }, { timeout: config.call_timeout_ms });
          const contents = [];
          for (const c of r.contents) {
            const text = 'text' in c && typeof c.text === 'string' ? c.text : undefined;
            const base = { uri: c.uri, ...(c.mimeType ? { mimeType: c.mimeType } : {}) };
            if (text === undefined) {
              const blob = 'blob' in c && typeof c.blob === 'string' ? c.blob : '';
              contents.push({ ...base, blob_bytes: Math.floor((blob.length * 3) / 4) });
              continue;
            }
            const checked = await svc.safetyPass(text, undefined, p.agent);
            if (checked.blocked) throw new McpFailure('blocked_by_safety', `${p.name} ${c.uri}: ${checked.blocked}`);
            contents.push({ ...base, text: checked.text });
          }
          return { contents };
        },
        'mcp.login_start': (p) => startLogin(svc, p.name),
        'mcp.login_finish': (p) => finishLogin(svc, p),
        'mcp.logout': (p) => logout(svc, p.name),
        'mcp.prompts': async (p) => {
          const client = await connected(p.name);
          if (!client.getServerCapabilities()?.prompts) return { prompts: [] as Static<typeof McpPromptSchema>[] };
          const r = await client.listPrompts(undefined, { timeout: config.call_timeout_ms });
          return { prompts: r.prompts.map((x) => ({ name: x.name, ...(x.description ? { description: x.description } : {}), arguments: (x.arguments ?? []).map((a) => ({ name: a.name, ...(a.description ? { description: a.description } : {}), ...(a.required !== undefined ? { required: a.required } : {}) })) })) };
        },
        'mcp.get_prompt': async (p) => {
          const client = await connected(p.name);
          const r = await client.getPrompt({ name: p.prompt, arguments: p.args ?? {} }, { timeout: config.call_timeout_ms });
          const messages = [];
          for (const m of r.messages) {
            const checked = await svc.safetyPass(contentText([m.content]), undefined, p.agent);
            if (checked.blocked) throw new McpFailure('blocked_by_safety', `${p.name} prompt ${p.prompt}: ${checked.blocked}`);
            messages.push({ role: m.role, text: checked.text });
          }
          return { messages };
        },
      },
      stop: () => svc.close(),
    };
  },
});
