/**
 * Black-box: `rustyclaw chat` / `rustyclaw providers` as a user runs them, against the running
 * service and in one-shot mode (no service), with a loopback provider sending real wire bytes
 * (sources in wire.test.ts): refusal and truncation notices on stderr with exit codes 3 and 4,
 * `--show-reasoning`, a quota error failing over with its reason shown by `providers`, and a
 * Retry-After cooldown remembered from one one-shot run to the next.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../kernel/helpers.js';
import { startLlmServer, type Behaviour, type LlmServer } from '../support/llm-servers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const exec = promisify(execFile);
const servers: LlmServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

interface Run { code: number; stdout: string; stderr: string }
async function cli(args: string[], cwd: string): Promise<Run> {
  try {
    const r = await exec(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'error' }, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof x.code !== 'number') throw e;
    return { code: x.code, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const oai = (delta: Record<string, unknown>, finish: string | null = null) =>
  sse({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });
const raw = (body: string[], extra: Record<string, unknown> = {}): Behaviour => ({ kind: 'raw', body, split_bytes: 9, ...extra }) as Behaviour;
const DONE = 'data: [DONE]\n\n';

function lastUserText(body: any): string {
  const m = [...(body?.messages ?? [])].reverse().find((x: any) => x.role === 'user');
  return String(m?.content ?? '');
}

/** One loopback OpenAI-compatible server whose answer depends on the message. */
async function provider(): Promise<LlmServer> {
  const s = await startLlmServer('openai', {
    fallback: (req) => {
      const t = lastUserText(req.body);
      if (/refuse/.test(t)) return raw([oai({ role: 'assistant', content: null, refusal: '' }), oai({ refusal: "I can't help with that." }), oai({}, 'stop'), DONE]);
      if (/long/.test(t)) return raw([oai({ content: 'First part of a long ans' }), oai({}, 'length'), DONE]);
      if (/think/.test(t)) return raw([oai({ reasoning_content: 'Secret chain of thought.' }), oai({ content: 'Plain answer.' }), oai({}, 'stop'), DONE]);
      return { kind: 'reply', reply: { text: `echo: ${t}` } };
    },
  });
  servers.push(s);
  return s;
}

function config(dir: string, providers: string, chain: string): string {
  const file = path.join(dir, 'rustyclaw.yaml');
  writeFileSync(file, `data_dir: ${dir}/data
kernel:
  system_actors: [provider-router]
  liveness:
    deadline_ms: 30000
endpoint:
  port: 0
providers:
${providers}
models:
  default:
    chain: [${chain}]
agents:
  - id: default
    memory_k: 0
`);
  return file;
}

const entry = (id: string, s: LlmServer) => `  ${id}:\n    type: openai\n    enabled: true\n    base_url: ${s.url}\n    api_key: k-${id}\n    model: ${id}-model\n`;

test('chat against the running service: refusal exits 3, truncation exits 4, each with a notice naming provider/model; --show-reasoning', async () => {
  const s = await provider();
  const quota = await startLlmServer('openai', {
    fallback: () => raw([JSON.stringify({ error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } })], { status: 429, content_type: 'application/json' }),
  });
  servers.push(quota);
  const dir = tempDir('rc-finish-');
  const cfg = config(dir, entry('broke', quota) + entry('p', s), 'broke, p');
  const cwd = tempDir('rc-cwd-');
  const child = spawn(process.execPath, [CLI, '--config', cfg, 'start'], { cwd, env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'error' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  let errOut = '';
  child.stderr.on('data', (d) => (errOut += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const t0 = Date.now();
    while (!out.includes('ready in')) {
      if (Date.now() - t0 > 90_000) throw new Error(`no ready line: ${out} ${errOut}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ok = await cli(['--config', cfg, 'chat', 'hello'], cwd);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'echo: hello\n');
    assert.equal(quota.requests.length, 1, 'the quota error was not retried');

    const refused = await cli(['--config', cfg, 'chat', '--session', 'r', 'please refuse'], cwd);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /notice: p\/p-model refused to answer: I can't help with that\./);

    const cut = await cli(['--config', cfg, 'chat', '--session', 'l', 'write something long'], cwd);
    assert.equal(cut.code, 4, cut.stderr);
    assert.equal(cut.stdout, 'First part of a long ans\n');
    assert.match(cut.stderr, /notice: the answer from p\/p-model was cut off by the output token limit/);

    const quiet = await cli(['--config', cfg, 'chat', '--session', 't', 'think first'], cwd);
    assert.equal(quiet.code, 0);
    assert.equal(quiet.stdout, 'Plain answer.\n');
    assert.doesNotMatch(quiet.stderr + quiet.stdout, /Secret chain/, 'reasoning is not shown unless asked');
    const shown = await cli(['--config', cfg, 'chat', '--session', 't2', '--show-reasoning', 'think first'], cwd);
    assert.equal(shown.code, 0);
    assert.equal(shown.stdout, 'Plain answer.\n');
    assert.match(shown.stderr, /--- reasoning \(p\/p-model\) ---\nSecret chain of thought\.\n--- end of reasoning ---/);

    const json = await cli(['--config', cfg, 'chat', '--json', '--session', 'j', 'please refuse'], cwd);
    assert.equal(json.code, 3);
    assert.equal(JSON.parse(json.stdout).finish_reason, 'refusal');

    const st = await cli(['--config', cfg, 'providers'], cwd);
    assert.equal(st.code, 0);
    assert.match(st.stdout, /broke\/broke-model\s+cooldown\s+1\s+\d+ s\s+quota\s+HTTP 429: You exceeded your current quota/);
    const sj = JSON.parse((await cli(['--config', cfg, 'providers', '--json'], cwd)).stdout);
    const broke = sj.providers.find((x: any) => x.provider === 'broke');
    assert.equal(broke.kind, 'quota');
    assert.ok(broke.cooldown_until - Date.now() > 50 * 60_000);
  } finally {
    await cli(['--config', cfg, 'stop'], cwd).catch(() => undefined);
    const ended = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    if (ended === 'timeout') child.kill('SIGKILL');
  }
});

test('one-shot runs without a service remember a Retry-After cooldown from one run to the next', async () => {
  const s = await provider();
  const limited = await startLlmServer('openai', { script: [{ kind: 'status', status: 429, retry_after: '60', message: 'Rate limit reached for requests' }] });
  servers.push(limited);
  const dir = tempDir('rc-oneshot-');
  const cfg = config(dir, entry('rl', limited) + entry('p', s), 'rl, p');
  const cwd = tempDir('rc-cwd-');
  const first = await cli(['--config', cfg, '--in-process', 'chat', 'one'], cwd);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, 'echo: one\n');
  const second = await cli(['--config', cfg, '--in-process', 'chat', 'two'], cwd);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, 'echo: two\n');
  assert.equal(limited.requests.length, 1, 'the second run did not go back to the rate-limited provider');
  const st = await cli(['--config', cfg, '--in-process', 'providers'], cwd);
  assert.match(st.stdout, /rl\/rl-model\s+cooldown\s+1\s+\d+ s\s+rate_limited\s+HTTP 429: Rate limit reached/);
});
