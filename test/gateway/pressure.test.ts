/**
 * The gateway under pressure, through the running service: a CPU hog beside it, the service paused
 * (SIGSTOP/SIGCONT) mid-stream, hostile input (binary bodies, one endless token, garbage and floods
 * over WebSocket, readers that never read), and the service killed with -9 mid-stream then started
 * again on the same data dir: nothing hangs, every failure is a clear error, nothing stored is lost.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import OpenAI from 'openai';
import WebSocket from 'ws';
import { startLlmServer, type LlmServer } from '../support/llm-servers.js';
import { noCrash, startService } from '../acceptance/helpers.js';
import { call, startGatewayService, type GatewayWorld } from './helpers.js';

let llm: LlmServer;
let g: GatewayWorld;
let client: OpenAI;

before(async () => {
  llm = await startLlmServer('openai');
  g = await startGatewayService('', { OPENAI_BASE_URL: llm.url });
  client = new OpenAI({ baseURL: `${g.http}/v1`, apiKey: g.token, maxRetries: 0, timeout: 60_000 });
});
after(async () => {
  await g?.stop();
  await llm?.close();
});

test('a CPU hog beside it and the service paused mid-stream: the stream completes, whole', async () => {
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    const text = Array.from({ length: 30 }, (_, i) => `w${i} `).join('');
    llm.script.push({ kind: 'reply', reply: { text, chunk_size: 4, chunk_delay_ms: 30 } });
    const stream = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'pause me' }], stream: true });
    let got = '';
    let paused = false;
    for await (const c of stream) {
      got += c.choices[0]?.delta?.content ?? '';
      if (!paused && got.length > 8) {
        paused = true;
        process.kill(g.svc.pid, 'SIGSTOP');
        setTimeout(() => process.kill(g.svc.pid, 'SIGCONT'), 1500);
      }
    }
    assert.ok(paused);
    assert.equal(got, text, 'every token arrived, in order');
  } finally {
    hog.kill('SIGKILL');
  }
  assert.ok(noCrash(g.svc.stderr()), g.svc.stderr());
});

test('hostile input: binary body, one endless token, WebSocket garbage and floods, readers that never read', async () => {
  const bin = await call(g, '/v1/chat/completions', { method: 'POST', body: new Uint8Array([0xff, 0xfe, 0x00, 0x81, 0x7b]), headers: { 'content-type': 'application/json' } });
  assert.equal(bin.status, 400);
  assert.match(((await bin.json()) as { error: { message: string } }).error.message, /not valid JSON/);
  const octet = await call(g, '/api/memory/search', { method: 'POST', body: new Uint8Array([1, 2, 3]), headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(octet.status, 415);

  const endless = 'A'.repeat(300_000);
  const r = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: endless }] });
  assert.match(r.choices[0]!.message.content ?? '', /^echo: A+/);

  // Garbage frames, binary frames, an oversized frame and a flood of asks on several sockets.
  const sockets = await Promise.all(Array.from({ length: 8 }, () => new Promise<WebSocket>((res, rej) => {
    const ws = new WebSocket(g.ws);
    ws.once('open', () => res(ws));
    ws.once('error', rej);
  })));
  for (const ws of sockets) {
    ws.on('error', () => {});
    ws.send('{not json');
    ws.send(Buffer.from([0, 1, 2]), { binary: true });
    for (let i = 0; i < 500; i++) ws.send(JSON.stringify({ v: 1, op: 'ask', id: i, to: 'kernel', type: 'kernel.ping', payload: {} }));
  }
  sockets[0]!.send('x'.repeat(2 * 1048576));
  // Readers that never read: raw sockets asking for SSE streams and then ignoring them.
  const { port } = new URL(g.http);
  const idle = Array.from({ length: 5 }, () => {
    const s = net.connect(Number(port), '127.0.0.1');
    s.on('error', () => {});
    s.write(`GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${g.token}\r\n\r\n`);
    s.pause();
    return s;
  });
  try {
    const ok = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'others are served' }] });
    assert.equal(ok.choices[0]!.message.content, 'echo: others are served');
    assert.equal((await call(g, '/api/status')).status, 200);
  } finally {
    for (const ws of sockets) ws.terminate();
    for (const s of idle) s.destroy();
  }
  assert.ok(noCrash(g.svc.stderr()), g.svc.stderr());
});

test('killed with -9 mid-stream: the client gets an error at once; restarted, the stored session is still there', async () => {
  const h = { headers: { 'x-rustyclaw-session': 'survivor' } };
  await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'remember me' }] }, h);
  llm.script.push({ kind: 'reply', reply: { text: 'z '.repeat(300), chunk_size: 2, chunk_delay_ms: 30 } });
  const stream = await client.chat.completions.create({ model: 'rustyclaw:default', messages: [{ role: 'user', content: 'long' }], stream: true });
  const t0 = Date.now();
  let n = 0;
  await assert.rejects(async () => {
    for await (const c of stream) {
      if (c.choices[0]?.delta?.content && ++n === 3) process.kill(g.svc.pid, 'SIGKILL');
    }
  }, (e: Error) => e instanceof Error);
  assert.ok(Date.now() - t0 < 30_000, 'no hang');
  await g.svc.exited;
  // The same world (HOME, data dir) started again.
  const again = await startService(g.w, [], { OPENAI_BASE_URL: llm.url });
  g.svc = again;
  const { readFileSync } = await import('node:fs');
  const path = await import('node:path');
  const info = JSON.parse(readFileSync(path.join(g.w.home, '.rustyclaw', 'run', 'endpoint.json'), 'utf8')) as { http_url: string; token: string };
  g.http = info.http_url;
  g.token = info.token;
  const s = (await (await call(g, '/api/agents/default/sessions/survivor')).json()) as { exists: boolean; recent: Array<{ content: string }> };
  assert.equal(s.exists, true);
  assert.ok(s.recent.some((m) => m.content === 'remember me'), 'the stored session survived the kill');
});
