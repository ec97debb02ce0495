/**
 * Black box: the real service started with `kernel.placement: edge` (request-only system actors on
 * demand, small young generation) and driven by the CLI from another directory, stdin an open pipe.
 * The on-demand actors start on the first command that needs them; a memory that was never used
 * is never loaded; the service stays up and logs no stuck kill. The LLM is a loopback OpenAI server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { startLlmServer, type LlmServer } from '../support/llm-servers.js';
import { makeWorld, noCrash, runCli, startService, type RunningService, type World } from '../acceptance/helpers.js';

let llm: LlmServer;
let w: World;
let svc: RunningService;

before(async () => {
  llm = await startLlmServer('openai');
  w = makeWorld('', { OPENAI_BASE_URL: llm.url });
  writeFileSync(w.config, readFileSync(w.config, 'utf8').replace('kernel:\n', 'kernel:\n  placement: edge\n'));
  svc = await startService(w, [], { RUSTYCLAW_LOG_LEVEL: 'debug' });
});

after(async () => {
  if (svc && svc.child.exitCode === null) svc.child.kill('SIGKILL');
  await llm?.close();
});

const cli = (args: string[], o: Parameters<typeof runCli>[2] = {}) => runCli(w, args, { stdin: 'open', ...o });
const setUp = () => [...svc.stderr().matchAll(/"actor":"((?:system|agents)\/[a-z-]+)"[^\n]*on-demand actor set up on its first message/g)].map((m) => m[1]);

test('edge: the ready line names the profile; no on-demand actor is set up at boot, nor by status', async () => {
  assert.match(svc.ready, /ready in \d+ ms: \d+ actors on \d+ threads \(edge\)/);
  assert.deepEqual(setUp(), []);
  // `status` does not wake what nothing has used yet: it reports it as on demand.
  const r = await cli(['status']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /agents\/default .*on_demand/);
  for (const p of ['system/memory', 'system/embedder', 'system/provider-router']) {
    assert.match(r.stdout, new RegExp(`${p} .*on_demand .*not set up yet: starts on its first message`));
  }
  assert.deepEqual(setUp(), [], 'status set up an on-demand actor');
});

test('edge: chat answers through safety and the provider router, which start on that first turn', async () => {
  const r = await cli(['chat', 'hello', 'edge']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'echo: hello edge\n');
  assert.ok(noCrash(r.stderr), r.stderr);
  const up = setUp();
  assert.ok(up.includes('system/provider-router') && up.includes('agents/default'), up.join(', '));
  const again = await cli(['chat', 'again']);
  assert.equal(again.stdout, 'echo: again\n');
  // Set up once, not per message.
  assert.equal(setUp().filter((p) => p === 'system/provider-router').length, 1);
});

test('edge: a routine run as a job completes (the job threads start on that first job)', async () => {
  const j = async (args: string[]) => {
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  assert.match(await j(['routine', 'create', 'ping', '--manual', '--prompt', 'ping from a job']), /ping/);
  const id = /started job (\S+)/.exec(await j(['routine', 'run', 'ping']))![1];
  let st = '';
  for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    st = JSON.parse(await j(['job', 'status', id, '--json'])).state;
    if (['completed', 'failed', 'cancelled'].includes(st)) break;
  }
  assert.equal(st, 'completed');
});

test('edge: a command for an actor not yet set up is answered (safety check-url)', async () => {
  const r = await cli(['safety', 'check-url', 'http://127.0.0.1:9/admin']);
  assert.notEqual(r.code, null);
  assert.match(r.stdout + r.stderr, /block|loopback|private|denied/i);
  assert.ok(setUp().includes('system/safety'));
});

test('edge: no thread was killed as stuck and the service is still up', async () => {
  const r = await cli(['status']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /system\/safety .*running/);
  assert.doesNotMatch(svc.stderr(), /missed its liveness deadline|ended as stuck|thread is stuck/);
  assert.equal(svc.child.exitCode, null);
});
