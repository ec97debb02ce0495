/** `rustyclaw chat` / `rustyclaw usage` command modules against a real in-process system. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { startSystem } from '../../src/kernel/index.js';
import { register as registerChat } from '../../src/cli/commands/chat.js';
import { register as registerUsage } from '../../src/cli/commands/usage.js';
import { startLlmServer, providerEntry, type LlmServer } from '../support/llm-servers.js';

const servers: LlmServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function setup() {
  const s = await startLlmServer('openai', {
    fallback: (req) => {
      const last = req.body.messages.at(-1);
      if (last.role === 'tool') return { kind: 'reply', reply: { text: 'The time is known.', chunk_delay_ms: 2 } };
      if (/time/.test(last.content)) return { kind: 'reply', reply: { text: 'Let me check. ', tool_calls: [{ name: 'current_time', arguments: '{}' }] } };
      if (/fail/.test(last.content)) return { kind: 'status', status: 400, message: 'bad things' };
      return { kind: 'reply', reply: { text: `echo: ${last.content}`, chunk_delay_ms: 2 } };
    },
  });
  servers.push(s);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-cli-'));
  const sys = await startSystem({
    config: {
      data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false }, kernel: { system_actors: ['provider-router'] },
      providers: { local: providerEntry(s) }, models: { default: { chain: ['local'] } }, agents: [{ id: 'default' }],
    },
  });
  await sys.waitUp('agents/default');
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (x: string) => void out.push(x), err: (x: string) => void err.push(x) };
  const rt = {
    ask: sys.ask.bind(sys),
    subscribe: async (topic: string, fn: (p: any, t: string) => void) => sys.subscribe(topic, fn),
    close: async () => {},
  };
  const program = new Command('rustyclaw').exitOverride();
  registerChat(program, rt, io);
  registerUsage(program, rt, io);
  return {
    out, err, program,
    run: (...args: string[]) => program.parseAsync(['node', 'rustyclaw', ...args]),
    close: async () => { await sys.stop(); rmSync(dir, { recursive: true, force: true }); },
  };
}

test('chat one-shot streams the answer to stdout, tool calls to stderr; usage reports it', async () => {
  const t = await setup();
  try {
    await t.run('chat', 'hello', 'world');
    assert.equal(t.out.join(''), 'echo: hello world\n');
    assert.ok(t.out.length > 1, 'streamed in pieces (deltas may coalesce on a loaded machine)');
    t.out.length = 0;
    await t.run('chat', '--session', 'tools', 'what', 'time');
    assert.equal(t.out.join(''), 'Let me check. \nThe time is known.\n');
    assert.match(t.err.join(''), /⚙ current_time \{\}\n✓ current_time → /);
    t.out.length = 0;
    await t.run('usage');
    const table = t.out.join('');
    assert.match(table, /^provider\s+model\s+agent\s+purpose\s+requests/);
    assert.match(table, /local\s+openai-test-model\s+default\s+chat\s+3/);
    t.out.length = 0;
    await t.run('usage', '--json', '--by', 'agent');
    assert.equal(JSON.parse(t.out.join('')).total.requests, 3);
    t.out.length = 0;
    await t.run('providers');
    assert.match(t.out.join(''), /local\/openai-test-model\s+ok\s+0/);
    assert.match(t.out.join(''), /default: local\/openai-test-model/);
  } finally {
    await t.close();
  }
});

test('chat fails with the error (non-zero exit in main.ts) and bad usage flags are named', async () => {
  const t = await setup();
  try {
    await assert.rejects(t.run('chat', 'please fail'), (e: any) => e.code === 'bad_request' && /local: HTTP 400: bad things/.test(e.message));
    await assert.rejects(t.run('usage', '--by', 'colour'), /--by: unknown key\(s\) colour/);
  } finally {
    await t.close();
  }
});
