/** The native heap trim (glibc malloc_trim through koffi): available exactly where glibc runs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { nativeHeapTrimAvailable, trimNativeHeap } from '../../src/lib/native-heap.js';

const glibc = process.platform === 'linux' && Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);

test('trimming is available on Linux with glibc and a no-op that says so elsewhere', () => {
  assert.equal(nativeHeapTrimAvailable(), glibc);
  const r = trimNativeHeap();
  assert.equal(typeof r, 'boolean');
  if (!glibc) assert.equal(r, false);
});

test('a worker thread can trim too (the embedder trims from its own thread)', async () => {
  const mod = new URL('../../src/lib/native-heap.js', import.meta.url).href;
  const w = new Worker(`import(${JSON.stringify(mod)}).then((m) => require('node:worker_threads').parentPort.postMessage([m.nativeHeapTrimAvailable(), typeof m.trimNativeHeap()]))`, { eval: true });
  const [available, kind] = await new Promise<[boolean, string]>((res, rej) => { w.once('message', res); w.once('error', rej); });
  await w.terminate();
  assert.deepEqual([available, kind], [glibc, 'boolean']);
});
