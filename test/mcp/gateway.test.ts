/**
 * Black-box: the gateway's `POST /mcp` on the running service, driven by the SDK's own client over
 * Streamable HTTP (both protocol eras: 2026-07-28 negotiated, and the 2025 `initialize` handshake).
 * The same tools as `mcp serve` (ask_<agent> answering through a loopback LLM, memory_search);
 * without the gateway's bearer token nothing is served; malformed bodies are refused cleanly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startLlmServer, type LlmServer } from '../support/llm-servers.js';
import { call, startGatewayService, type GatewayWorld } from '../gateway/helpers.js';

let llm: LlmServer;
let g: GatewayWorld;

before(async () => {
  llm = await startLlmServer('openai');
  g = await startGatewayService('', { OPENAI_BASE_URL: llm.url });
});
after(async () => {
  await g?.stop();
  await llm?.close();
});

async function client(mode: 'auto' | 'legacy', token: string | null = g.token): Promise<Client> {
  const c = new Client({ name: 'gateway-test', version: '1.0.0' }, { versionNegotiation: { mode } });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  await c.connect(new StreamableHTTPClientTransport(new URL(`${g.http}/mcp`), { requestInit: { headers } }), { timeout: 30_000 });
  return c;
}

for (const mode of ['auto', 'legacy'] as const) {
  test(`POST /mcp with the SDK client (${mode}): tools listed, ask_default answers through the agent`, async () => {
    const c = await client(mode);
    try {
      const version = c.getNegotiatedProtocolVersion();
      if (mode === 'legacy') assert.ok(version && version < '2026-07-28', `legacy era, got ${version}`);
      else assert.equal(version, '2026-07-28');
      const names = (await c.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(names, ['ask_default', 'memory_search']);
      const r = await c.callTool({ name: 'ask_default', arguments: { message: `hello over ${mode}`, session: `gw-${mode}` } }, { timeout: 120_000 });
      assert.ok(!r.isError, JSON.stringify(r.content));
      assert.deepEqual(r.content, [{ type: 'text', text: `echo: hello over ${mode}` }]);
      const bad = await c.callTool({ name: 'ask_default', arguments: { nope: 1 } });
      assert.equal(bad.isError, true, 'arguments checked against the schema');
    } finally {
      await c.close();
    }
  });
}

test('POST /mcp needs the gateway bearer token; malformed JSON is a 400, the service stays up', async () => {
  const noAuth = await call(g, '/mcp', { token: null, json: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
  assert.equal(noAuth.status, 401);
  await assert.rejects(client('legacy', null));
  await assert.rejects(client('legacy', 'wrong-token'));
  const garbage = await call(g, '/mcp', { method: 'POST', body: '{"jsonrpc": "2.0", "id": 1, "meth', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } });
  assert.equal(garbage.status, 400);
  const health = await fetch(`${g.http}/health`);
  assert.equal(health.status, 200);
  const c = await client('legacy');
  assert.equal((await c.listTools()).tools.length, 2);
  await c.close();
});
