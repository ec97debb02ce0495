/**
 * `rustyclaw mcp serve`: RustyClaw as an MCP server on stdio, so MCP hosts (desktop assistants,
 * IDEs) can use its agents; the tools are src/mcp-server.ts (the same the gateway's POST /mcp
 * serves). The calls go to the running service (or the --in-process tree). stdout carries only JSON-RPC.
 */
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { rustyclawMcpServer } from '../mcp-server.js';
import type { CliRuntime } from './runtime.js';

export async function serveMcp(rt: CliRuntime): Promise<void> {
  const server = rustyclawMcpServer(rt.ask, rt.config(), 'mcp');
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close().catch(() => undefined);
}
