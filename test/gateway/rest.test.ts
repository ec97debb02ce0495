/**
 * REST, webhooks and /openapi.json through the running service: the CLI's operations as HTTP routes
 * with the actors' typed errors mapped to statuses; webhook routines received on the gateway port
 * (good, bad, replayed, oversized, unknown), the URL printed by the CLI pointing there.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { signWebhook } from '../../actors/scheduler/webhook.js';
import { startLlmServer, type LlmServer } from '../support/llm-servers.js';
import { runCli } from '../acceptance/helpers.js';
import { call, startGatewayService, until, type GatewayWorld } from './helpers.js';

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

const json = async <T = Record<string, unknown>>(r: Response): Promise<T> => (await r.json()) as T;

test('status, agents, a message, its session, usage and providers over REST', async () => {
  const st = await json<{ actors: Array<{ path: string; state: string }> }>(await call(g, '/api/status'));
  assert.ok(st.actors.some((a) => a.path === 'agents/default' && a.state === 'running'));
  const ag = await json<{ agents: Array<{ id: string; running: boolean }> }>(await call(g, '/api/agents'));
  assert.deepEqual(ag.agents.map((a) => [a.id, a.running]), [['default', true]]);
  const sent = await call(g, '/api/agents/default/messages', { json: { text: 'hello rest', session: 'rest-1' } });
  assert.equal(sent.status, 200);
  assert.equal((await json<{ text: string }>(sent)).text, 'echo: hello rest');
  const sess = await json<{ exists: boolean; turns: number; recent: Array<{ role: string }> }>(await call(g, '/api/agents/default/sessions/rest-1?last=5'));
  assert.equal(sess.exists, true);
  assert.equal(sess.turns, 1);
  const list = await json<{ sessions: Array<{ session: string }> }>(await call(g, '/api/agents/default/sessions'));
  assert.ok(list.sessions.some((s) => s.session === 'rest-1'));
  assert.equal((await call(g, '/api/agents/default/sessions/rest-1', { method: 'DELETE' })).status, 200);
  assert.equal((await call(g, '/api/usage')).status, 200);
  assert.equal((await call(g, '/api/providers')).status, 200);
});

test('typed errors map to statuses: unknown agent 404, bad payload 400 naming the field, bad query 400, unknown route 404', async () => {
  const unknown = await call(g, '/api/agents/nobody/messages', { json: { text: 'x' } });
  assert.equal(unknown.status, 404);
  assert.equal((await json<{ error: { code: string } }>(unknown)).error.code, 'not_found');
  const bad = await call(g, '/api/agents/default/messages', { json: { text: 42 } });
  assert.equal(bad.status, 400);
  assert.match((await json<{ error: { message: string } }>(bad)).error.message, /text/);
  const q = await call(g, '/api/jobs?limit=lots');
  assert.equal(q.status, 400);
  assert.match((await json<{ error: { message: string } }>(q)).error.message, /querystring\.limit/);
  const job = await call(g, '/api/jobs/no-such-job');
  assert.equal(job.status, 404);
  const route = await call(g, '/api/nothing-here');
  assert.equal(route.status, 404);
  assert.match((await json<{ error: { message: string } }>(route)).error.message, /openapi\.json/);
});

test('memory add and search over REST', async () => {
  const add = await call(g, '/api/memory/add', { json: { text: 'the grey heron nests by the quiet lake', source: 'rest-note' } });
  assert.equal(add.status, 201, await add.clone().text());
  await until(async () => {
    const r = await json<{ hits: Array<{ text: string }> }>(await call(g, '/api/memory/search', { json: { query: 'heron lake', mode: 'bm25' } }));
    return r.hits.some((h) => /heron/.test(h.text));
  }, 'the note to be searchable');
});

test('webhooks on the gateway port: good 202 (the job runs), replay 409, bad 401, oversized 413, unknown 404; the CLI prints that URL', async () => {
  const created = await call(g, '/api/routines', { json: { id: 'gw-hook', kind: 'noop', trigger: { type: 'webhook' } } });
  assert.equal(created.status, 201);
  const c = await json<{ webhook: { url: string; secret: string; signature_header: string; timestamp_header: string } }>(created);
  assert.equal(c.webhook.url, `${g.http}/hooks/gw-hook`, 'the webhook URL is on the gateway port');
  const body = JSON.stringify({ ref: 'main', n: 1 });
  const ts = Math.floor(Date.now() / 1000);
  const headers = { 'content-type': 'application/json', [c.webhook.timestamp_header]: String(ts), [c.webhook.signature_header]: signWebhook(c.webhook.secret, ts, body) };
  const ok = await fetch(c.webhook.url, { method: 'POST', body, headers });
  assert.equal(ok.status, 202);
  const { job_id } = await json<{ job_id: string }>(ok);
  await until(async () => (await json<{ state: string }>(await call(g, `/api/jobs/${job_id}`))).state === 'completed', 'the webhook job');
  const replay = await fetch(c.webhook.url, { method: 'POST', body, headers });
  assert.equal(replay.status, 409);
  assert.equal((await json<{ error: { code: string } }>(replay)).error.code, 'webhook_replayed');
  const tampered = await fetch(c.webhook.url, { method: 'POST', body: body.replace('main', 'prod'), headers });
  assert.equal(tampered.status, 401);
  const unsigned = await fetch(c.webhook.url, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  assert.equal(unsigned.status, 401);
  const big = 'x'.repeat(70_000);
  const tooBig = await fetch(c.webhook.url, { method: 'POST', body: big, headers: { [c.webhook.timestamp_header]: String(ts), [c.webhook.signature_header]: signWebhook(c.webhook.secret, ts, big) } });
  assert.equal(tooBig.status, 413);
  const unknown = await fetch(`${g.http}/hooks/nope`, { method: 'POST', body });
  assert.equal(unknown.status, 404);
  const cli = await runCli(g.w, ['routine', 'create', 'cli-hook', '--webhook', '--kind', 'noop'], { stdin: 'open' });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(`POST ${g.http.replace(/[.]/g, '\\.')}/hooks/cli-hook`));
});

test('/openapi.json describes every route with the schemas the routes validate with', async () => {
  const doc = await json<{ openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }>> }>(await call(g, '/openapi.json'));
  assert.equal(doc.openapi, '3.1.0');
  for (const p of ['/v1/chat/completions', '/v1/responses', '/v1/models', '/api/status', '/api/agents/{agent}/messages', '/hooks/{id}', '/api/memory/search']) assert.ok(doc.paths[p], p);
  const send = doc.paths['/api/agents/{agent}/messages']!.post!.requestBody!.content['application/json']!.schema;
  assert.ok(send.properties?.text, 'agent.send request schema from protocol/');
});
