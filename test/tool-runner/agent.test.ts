/**
 * An agent calling a sandboxed tool through the real kernel (agent, router, tool runner and safety
 * on their own threads) against a loopback LLM server; allow/deny enforced at call time.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startSystem } from '../../src/kernel/index.js';
import { startLlmServer, providerEntry, type LlmServer, type RecordedRequest } from '../support/llm-servers.js';
import type { AgentEvent } from '../../protocol/agent.js';
import { tmp } from './helpers.js';

const servers: LlmServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

/** Replies with one tool call per new user message, then a final answer quoting the tool result. */
function scripted(tool: string, args: unknown) {
  return (req: RecordedRequest) => {
    const msgs = req.body.messages as Array<{ role: string; content: string }>;
    const last = msgs[msgs.length - 1];
    if (last.role === 'tool') return { kind: 'reply' as const, reply: { text: `tool said: ${last.content}` } };
    return { kind: 'reply' as const, reply: { text: '', tool_calls: [{ name: tool, arguments: JSON.stringify(args) }] } };
  };
}

async function boot(s: LlmServer, agentTools: unknown) {
  const dir = tmp('rc-tool-agent-');
  const workspace = path.join(dir, 'ws');
  mkdirSync(path.join(workspace, 'notes'), { recursive: true });
  writeFileSync(path.join(workspace, 'notes', 'plan.md'), 'buy milk\nfix the sandbox\n');
  const config = {
    data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false },
    kernel: { system_actors: ['safety', 'provider-router', 'tool-runner'], liveness: { deadline_ms: 10_000 } },
    providers: { local: providerEntry(s) }, models: { default: { chain: ['local'], context_window: 8000 } },
    agents: [{ id: 'default', workspace, tools: agentTools, memory_k: 0 }],
    tools: { pool_size: 1 },
  };
  const sys = await startSystem({ config });
  await sys.waitUp('system/tool-runner');
  await sys.waitUp('agents/default');
  const events: AgentEvent[] = [];
  sys.subscribe('agents/default/events', (e) => events.push(e));
  return { sys, events };
}

test('the agent sees sandboxed tools beside the built-ins and calls one; events stream', async () => {
  const s = await startLlmServer('openai', { fallback: scripted('grep', { pattern: 'sandbox' }) });
  servers.push(s);
  const { sys, events } = await boot(s, { allow: ['*'], deny: ['http_fetch'] });
  try {
    const r = await sys.ask('agents/default', 'agent.send', { text: 'what is in my plan?', session: 't1' }, { timeoutMs: 60_000 });
    assert.match(r.text, /notes\/plan\.md:2: fix the sandbox/);
    const offered = (s.requests[0].body.tools as Array<{ function: { name: string } }>).map((t) => t.function.name);
    for (const n of ['current_time', 'read_workspace_file', 'grep', 'json', 'files']) assert.ok(offered.includes(n), offered.join(','));
    assert.ok(!offered.includes('http_fetch'), 'denied tools are not offered');
    const toolMsg = (s.requests[1].body.messages as Array<{ role: string; content: string }>).find((m) => m.role === 'tool')!;
    assert.match(toolMsg.content, /fix the sandbox/);
    const start = events.find((e) => e.kind === 'tool_start' && e.tool === 'grep');
    const end = events.find((e) => e.kind === 'tool_end' && e.tool === 'grep');
    assert.ok(start && end, JSON.stringify(events.map((e) => e.kind)));
    assert.equal(end.ok, true);
    assert.ok(events.some((e) => e.kind === 'tool_progress' && e.tool === 'grep'));
  } finally {
    await sys.stop();
  }
});

test('a denied tool called anyway is refused at call time; a failing sandboxed call is a readable error for the model', async () => {
  const s = await startLlmServer('openai', { fallback: scripted('http_fetch', { url: 'http://example.com/' }) });
  servers.push(s);
  const { sys, events } = await boot(s, { allow: ['*'], deny: ['http_*'] });
  try {
    const r = await sys.ask('agents/default', 'agent.send', { text: 'fetch it', session: 't2' }, { timeoutMs: 60_000 });
    assert.match(r.text, /not allowed for this agent/);
    const end = events.find((e) => e.kind === 'tool_end' && e.tool === 'http_fetch')!;
    assert.equal(end.ok, false);
    assert.equal(end.code, 'tool_denied');
  } finally {
    await sys.stop();
  }
  const s2 = await startLlmServer('openai', { fallback: scripted('files', { op: 'read', path: '../../../../etc/passwd' }) });
  servers.push(s2);
  const b = await boot(s2, ['files']);
  try {
    const r = await b.sys.ask('agents/default', 'agent.send', { text: 'read it', session: 't3' }, { timeoutMs: 60_000 });
    assert.match(r.text, /tool_failed: .*notcapable/);
    assert.ok(!/root:/.test(r.text));
    const offered = (s2.requests[0].body.tools as Array<{ function: { name: string } }>).map((t) => t.function.name);
    assert.deepEqual(offered, ['files'], 'a list of names allows exactly those');
  } finally {
    await b.sys.stop();
  }
});
