/**
 * RustyClaw as an MCP server: the tools MCP hosts see, defined once for both faces —
 * `rustyclaw mcp serve` (stdio, src/cli/mcp-serve.ts) and the gateway's `POST /mcp` (Streamable
 * HTTP, src/gateway/mcp.ts). Each configured agent is a tool `ask_<agent>` (one agent turn; the
 * answer as text) and, when `mcp.serve.memory` is on, `memory_search`. Calls are actor asks.
 */
import { McpServer, fromJsonSchema } from '@modelcontextprotocol/server';
import { configuredAgents } from './kernel/tree.js';
import type { RootConfig } from './config/load.js';
import type { BuiltinMessages, TypedAsk } from '../protocol/index.js';
import type { McpConfig } from '../protocol/mcp.js';

const TURN_TIMEOUT_MS = 15 * 60_000;

function failure(e: unknown) {
  const code = (e as { code?: string }).code ?? 'error';
  return { isError: true, content: [{ type: 'text' as const, text: `${code}: ${(e as Error).message}` }] };
}

export function toolNameForAgent(id: string): string {
  return `ask_${id.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

export function rustyclawMcpServer(ask: TypedAsk<BuiltinMessages>, cfg: RootConfig, channel: string): McpServer {
  const serve = (cfg.mcp as McpConfig).serve;
  const agents = configuredAgents(cfg).filter((a) => serve.agents.length === 0 || serve.agents.includes(a.id));
  const server = new McpServer({ name: 'rustyclaw', version: '0.1.0' });
  const askSchema = fromJsonSchema<{ message: string; session?: string }>({
    type: 'object',
    properties: {
      message: { type: 'string', minLength: 1, description: 'what to ask the agent' },
      session: { type: 'string', minLength: 1, maxLength: 200, description: 'conversation to continue (default: mcp)' },
    },
    required: ['message'],
    additionalProperties: false,
  });
  for (const a of agents) {
    server.registerTool(toolNameForAgent(a.id), {
      description: `Ask the RustyClaw agent '${a.id}' (one turn with its tools and memory); returns its answer.`,
      inputSchema: askSchema,
    }, async (args) => {
      try {
        const r = await ask(`agents/${a.id}`, 'agent.send', { text: args.message, session: args.session ?? 'mcp', channel }, { timeoutMs: TURN_TIMEOUT_MS });
        return { content: [{ type: 'text' as const, text: r.text }] };
      } catch (e) {
        return failure(e);
      }
    });
  }
  if (serve.memory) {
    const searchSchema = fromJsonSchema<{ query: string; k?: number }>({
      type: 'object',
      properties: { query: { type: 'string', minLength: 1 }, k: { type: 'integer', minimum: 1, maximum: 50 } },
      required: ['query'],
      additionalProperties: false,
    });
    server.registerTool('memory_search', { description: "Search RustyClaw's memory (hybrid BM25 + vector); returns the best passages with their sources.", inputSchema: searchSchema }, async (args) => {
      try {
        const r = await ask('system/memory', 'memory.search', { query: args.query, ...(args.k ? { k: args.k } : {}) });
        const text = r.hits.map((h, i) => `[${i + 1}] ${h.source}${h.location.path ? ` ${h.location.path}:${h.location.start_line}` : ''} (score ${h.score.toFixed(3)})\n${h.text}`).join('\n\n');
        return { content: [{ type: 'text' as const, text: text || 'no matches' }], structuredContent: { hits: r.hits.map((h) => ({ source: h.source, path: h.location.path, line: h.location.start_line, score: h.score, text: h.text })) } };
      } catch (e) {
        return failure(e);
      }
    });
  }
  return server;
}
