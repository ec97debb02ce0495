import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxEmbedder } from '../../actors/embedder/onnx-embedder.js';
import { LocalProvider } from '../../actors/embedder/providers/local.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MODEL = path.resolve(repoRoot, '../shared/models/all-MiniLM-L6-v2');

function cos(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

test('fp32 embedding matches the published reference values', async () => {
  const emb = await OnnxEmbedder.load({ dir: MODEL, precision: 'fp32' });
  assert.equal(emb.dim, 384);
  const v = await emb.embed(['This is an example sentence', 'Each sentence is converted']);
  const s1 = v.subarray(0, 384);
  const s2 = v.subarray(384, 768);
  const ref = [0.067655, 0.063557, 0.048735, 0.079413, 0.037445];
  ref.forEach((r, i) => assert.ok(Math.abs(s1[i] - r) < 1e-4, `value ${i}: ${s1[i]} vs ${r}`));
  assert.ok(Math.abs(cos(s1, s1) - 1) < 1e-5, 'L2-normalised');
  assert.ok(Math.abs(cos(s1, s2) - 0.404622) < 1e-4, `cosine ${cos(s1, s2)}`);
  await emb.close();
});

// Dynamic int8 quantization scales activations per batch tensor, so q8 vectors depend slightly on
// what else is in the batch; the README's figures are for this exact two-sentence batch.
test('q8 embedding matches the README values for the quantized model', async () => {
  const emb = await OnnxEmbedder.load({ dir: MODEL, precision: 'q8' });
  const v = await emb.embed(['This is an example sentence', 'Each sentence is converted']);
  const ref = [0.061456, 0.057803, 0.042433, 0.075571, 0.029898];
  ref.forEach((r, i) => assert.ok(Math.abs(v[i] - r) < 1e-3, `value ${i}: ${v[i]} vs ${r}`));
  assert.ok(Math.abs(cos(v.subarray(0, 384), v.subarray(384)) - 0.428965) < 2e-3);
  await emb.close();
});

test('inputs longer than 256 word pieces are truncated, batching does not change results', async () => {
  const emb = await OnnxEmbedder.load({ dir: MODEL, precision: 'fp32' });
  assert.equal(emb.tokenizer.encode('word '.repeat(1000)).length, 256);
  const long = 'alpha beta gamma '.repeat(200);
  const alone = await emb.embed([long]);
  const batched = await emb.embed(['short text', long]);
  assert.ok(cos(alone, batched.subarray(384)) > 0.9999, 'padding must not change a vector');
  await emb.close();
});

test('LocalProvider embeds through the pool, keeps order, reports model and dim', async () => {
  const p = await LocalProvider.create({ dir: MODEL, name: 'all-MiniLM-L6-v2', precision: 'fp32', threads: 2, intraOpThreads: 1, batchSize: 2, maxTokens: 256, expectedDim: 384 });
  try {
    assert.equal(p.model, 'all-MiniLM-L6-v2@fp32');
    assert.equal(p.dim, 384);
    const texts = ['This is an example sentence', 'a much longer sentence about cats sitting on warm mats in the sun', 'x', 'Each sentence is converted'];
    const v = await p.embed(texts);
    assert.equal(v.length, 4);
    assert.ok(Math.abs(v[0][0] - 0.067655) < 1e-4);
    assert.ok(Math.abs(cos(v[0], v[3]) - 0.404622) < 1e-4);
  } finally {
    await p.close();
  }
});

test('a truncated model file gives an error naming the file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-model-'));
  fs.mkdirSync(path.join(dir, 'onnx'));
  fs.copyFileSync(path.join(MODEL, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  const fd = fs.openSync(path.join(MODEL, 'onnx/model_quantized.onnx'), 'r');
  const buf = Buffer.alloc(1_000_000);
  fs.readSync(fd, buf, 0, buf.length, 0);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(dir, 'onnx/model_quantized.onnx'), buf);
  await assert.rejects(
    () => LocalProvider.create({ dir, name: 'broken', precision: 'q8', threads: 1, intraOpThreads: 1, batchSize: 8, maxTokens: 256 }),
    (e: any) => e.code === 'model_file_invalid' && e.message.includes('model_quantized.onnx'),
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a model of another dimension is refused when the config expects 384: at start with preload, else on first use', async () => {
  const opts = { dir: MODEL, name: 'all-MiniLM-L6-v2', precision: 'q8' as const, threads: 1, intraOpThreads: 1, batchSize: 8, maxTokens: 256, expectedDim: 768 };
  const refused = (e: any) => e.code === 'model_dim_mismatch' && /384/.test(e.message) && /768/.test(e.message);
  await assert.rejects(() => LocalProvider.create({ ...opts, preload: true }), refused);
  const lazy = await LocalProvider.create(opts);
  try {
    assert.equal(lazy.loaded, false, 'nothing loaded before the first text');
    await assert.rejects(() => lazy.embed(['hello']), refused);
  } finally {
    await lazy.close();
  }
});
