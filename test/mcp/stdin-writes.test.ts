/** coalesceStdinWrites: a lone request is written at once; the ones after it in the same turn leave corked together. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { coalesceStdinWrites } from '../../actors/mcp/connection.js';

/** A transport whose stdin records what happens to it, in order. */
function fakeTransport() {
  const log: string[] = [];
  let corks = 0;
  const stdin = {
    cork: () => void (corks++, log.push('cork')),
    uncork: () => void (corks--, log.push('uncork')),
    get writableCorked() {
      return corks;
    },
  };
  const transport = {
    _process: { stdin },
    send: (m: { id: number }) => {
      log.push(`${corks > 0 ? 'buffered' : 'written'} ${m.id}`);
      return Promise.resolve();
    },
  };
  return { transport: transport as unknown as StdioClientTransport, log };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

test('a lone request is written at once, uncorked; later requests of a turn are corked and flushed at its end', async () => {
  const { transport, log } = fakeTransport();
  assert.equal(coalesceStdinWrites(transport), true);
  const send = (id: number) => transport.send({ jsonrpc: '2.0', id, method: 'tools/call' } as never);
  await send(1);
  await tick();
  assert.deepEqual(log.splice(0), ['written 1'], 'a lone call is not corked');
  void send(2);
  void send(3);
  void send(4);
  assert.deepEqual(log, ['written 2', 'cork', 'buffered 3', 'buffered 4']);
  await tick();
  assert.deepEqual(log.splice(0), ['written 2', 'cork', 'buffered 3', 'buffered 4', 'uncork'], 'uncorked once the turn is over');
  await send(5);
  await tick();
  assert.deepEqual(log, ['written 5'], 'the next turn starts uncorked again');
});

test('a transport without a child stdin is left as it is', () => {
  const t = { send: () => Promise.resolve() } as unknown as StdioClientTransport;
  const before = t.send;
  assert.equal(coalesceStdinWrites(t), false);
  assert.equal(t.send, before);
});
