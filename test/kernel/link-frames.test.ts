/** How a Link cuts its traffic into postMessage frames: asks and replies smaller than tells. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { Link } from '../../src/kernel/link.js';
import { Kind, type Frame, type WireMessage } from '../../protocol/wire.js';

function pair(askBatchMax: number) {
  const { port1, port2 } = new MessageChannel();
  const started = new Int32Array(new SharedArrayBuffer(8));
  const frames: number[][] = [];
  const opts = { window: 4096, batchMax: 256, askBatchMax };
  const a = new Link('b', opts, () => {});
  const b = new Link('a', opts, (_l, f: Frame) => frames.push((f.m ?? []).map((x) => x.k)));
  a.attach(port1, started, 0);
  b.attach(port2, started, 1);
  const close = () => {
    port1.close();
    port2.close();
  };
  return { a, frames, close };
}

const msg = (k: Kind.Tell | Kind.Ask, i: number): WireMessage => ({ k, s: 0, ...(k === Kind.Ask ? { id: i } : {}), to: 'x', from: 'y', ty: 't', p: { i } });
const settle = (frames: number[][], n: number) =>
  new Promise<void>((resolve, reject) => {
    const t0 = Date.now();
    const check = () => (frames.flat().length >= n ? resolve() : Date.now() - t0 > 5000 ? reject(new Error(`only ${frames.flat().length} of ${n} items arrived`)) : setTimeout(check, 5));
    check();
  });

test('asks sent in one turn go out in frames of ask_batch_max, in order', async () => {
  const { a, frames, close } = pair(32);
  for (let i = 0; i < 256; i++) a.send(msg(Kind.Ask, i));
  await settle(frames, 256);
  assert.deepEqual(frames.map((f) => f.length), Array(8).fill(32));
  close();
});

test('tells sent in one turn fill a frame up to batch_max', async () => {
  const { a, frames, close } = pair(32);
  for (let i = 0; i < 300; i++) a.send(msg(Kind.Tell, i));
  await settle(frames, 300);
  assert.deepEqual(frames.map((f) => f.length), [256, 44]);
  close();
});

test('a mixed turn: the frame is cut when it holds ask_batch_max asks', async () => {
  const { a, frames, close } = pair(4);
  for (let i = 0; i < 10; i++) a.send(msg(i % 2 ? Kind.Ask : Kind.Tell, i));
  await settle(frames, 10);
  assert.deepEqual(frames, [[0, 1, 0, 1, 0, 1, 0, 1], [0, 1]]);
  close();
});
