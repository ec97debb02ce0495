/**
 * Child process for the `endpoint` scenario: `rustyclaw` serves the real WebSocket endpoint in front
 * of one bench echo actor; `bare` is a bare `ws` server answering each JSON request with its payload.
 * Prints `{url, token}` once listening, runs until killed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';

const mode = process.argv[2];
if (mode === 'bare') {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (ws) => {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { id: number; payload: unknown };
      ws.send(JSON.stringify({ v: 1, op: 'reply', id: m.id, ok: true, payload: m.payload }));
    });
  });
  server.once('listening', () => {
    const a = server.address() as { port: number };
    process.stdout.write(JSON.stringify({ url: `ws://127.0.0.1:${a.port}`, token: '' }) + '\n');
  });
} else {
  const { bootBench, benchTree, knobs } = await import('./kernel-fixture.js');
  const { WebSocketTransport } = await import('../../src/transport/websocket.js');
  const pino = (await import('pino')).default;
  const b = await bootBench(benchTree(1, 'dedicated'), knobs({}));
  const t = new WebSocketTransport({ host: '127.0.0.1', port: 0, maxPayloadBytes: 1 << 24, log: pino({ level: 'silent' }) });
  const { url } = await t.start(b.sys);
  void mkdtempSync(path.join(tmpdir(), 'rc-ep-'));
  process.stdout.write(JSON.stringify({ url, token: t.token }) + '\n');
}
