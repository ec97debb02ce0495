import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { EmbedderConfigSchema, type EmbedderConfig } from '../../protocol/embedder.js';
import { OpenAIProvider } from '../../actors/embedder/providers/openai.js';
import { EmbedderService } from '../../actors/embedder/service.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MODEL = path.resolve(repoRoot, '../shared/models/all-MiniLM-L6-v2');

/** Loopback server speaking OpenAI's /v1/embeddings wire format; vectors derive from the text. */
async function fakeOpenAI(opts: { failFirst?: number; key?: string } = {}) {
  const calls: any[] = [];
  let fails = opts.failFirst ?? 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url !== '/v1/embeddings' || req.method !== 'POST') return void res.writeHead(404).end();
      if (opts.key && req.headers.authorization !== `Bearer ${opts.key}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }));
      }
      if (fails > 0) {
        fails--;
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
        return void res.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }));
      }
      const j = JSON.parse(body);
      calls.push(j);
      const data = (j.input as string[]).map((t, index) => ({ object: 'embedding', index, embedding: [t.length, 1, 2, 3, 4, 5, 6, 7] }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: data.reverse(), model: j.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
  return { base, calls, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function cfg(over: any): EmbedderConfig {
  return Value.Default(EmbedderConfigSchema, over) as EmbedderConfig;
}

function logger() {
  const lines: Array<{ level: string; msg: string }> = [];
  return {
    lines,
    log: { info: (_o: unknown, msg?: string) => lines.push({ level: 'info', msg: msg ?? '' }), warn: (_o: unknown, msg?: string) => lines.push({ level: 'warn', msg: msg ?? '' }) },
  };
}

test('openai provider: auth header, order by index, L2-normalised, retries 429', async () => {
  const s = await fakeOpenAI({ failFirst: 1, key: 'sk-test' });
  try {
    const p = await OpenAIProvider.create({ baseUrl: s.base, apiKey: 'sk-test', model: 'text-embedding-3-small', dimensions: 0, batchSize: 2, timeoutMs: 5000, maxTokens: 8191 });
    assert.equal(p.dim, 8);
    assert.equal(p.model, 'openai:text-embedding-3-small');
    const v = await p.embed(['a', 'bbb', 'cc']);
    assert.equal(v.length, 3);
    const norm = Math.hypot(...v[1]);
    assert.ok(Math.abs(norm - 1) < 1e-6);
    assert.ok(v[1][0] > v[0][0], 'kept input order although the server reversed data');
    assert.equal(s.calls.length, 3, 'probe + 2 batches of 2');
    await assert.rejects(
      () => OpenAIProvider.create({ baseUrl: s.base, apiKey: 'wrong', model: 'm', dimensions: 0, batchSize: 2, timeoutMs: 5000, maxTokens: 10 }),
      (e: any) => e.code === 'provider_unauthorized' && /Incorrect API key/.test(e.message),
    );
  } finally {
    await s.close();
  }
});

/** A model folder with the real tokenizer and a model file that is not ONNX. */
function brokenModelDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-broken-'));
  fs.mkdirSync(path.join(dir, 'onnx'));
  fs.copyFileSync(path.join(MODEL, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), 'not an onnx file');
  return dir;
}

test('local model that cannot load falls back to openai with one log line (preload: at start)', async () => {
  const s = await fakeOpenAI();
  const broken = brokenModelDir();
  const { lines, log } = logger();
  const svc = new EmbedderService(cfg({ preload: true, fallback: ['openai'], local: { model_path: broken, precision: 'fp32' }, openai: { base_url: s.base } }), { dataDir: broken, log, env: {} });
  try {
    await svc.start();
    assert.equal(svc.info().provider, 'openai');
    const warn = lines.filter((l) => l.level === 'warn');
    assert.equal(warn.length, 1);
    assert.match(warn[0].msg, /local provider unavailable .*model\.onnx.*falling back to openai/);
    const r = await svc.embed(['hello']);
    assert.equal(r.model, 'openai:text-embedding-3-small');
    assert.equal(r.vectors[0].length, 8);
    assert.equal(svc.info().failed[0].code, 'model_file_invalid');
  } finally {
    await svc.close();
    await s.close();
    fs.rmSync(broken, { recursive: true, force: true });
  }
});

test('local model that cannot load falls back to openai on first use with one log line (the default: loaded on first use)', async () => {
  const s = await fakeOpenAI();
  const broken = brokenModelDir();
  const { lines, log } = logger();
  const svc = new EmbedderService(cfg({ fallback: ['openai'], local: { model_path: broken, precision: 'fp32' }, openai: { base_url: s.base } }), { dataDir: broken, log, env: {} });
  try {
    await svc.start();
    assert.equal(svc.info().provider, 'local');
    assert.equal(svc.info().loaded, false);
    const r = await svc.embed(['hello']);
    assert.equal(svc.info().provider, 'openai');
    const warn = lines.filter((l) => l.level === 'warn');
    assert.equal(warn.length, 1);
    assert.match(warn[0].msg, /local provider unavailable .*model\.onnx.*falling back to openai/);
    assert.equal(r.model, 'openai:text-embedding-3-small');
    assert.equal(r.vectors[0].length, 8);
    assert.equal(svc.info().failed[0].code, 'model_file_invalid');
  } finally {
    await svc.close();
    await s.close();
    fs.rmSync(broken, { recursive: true, force: true });
  }
});

test('no provider at all: embed fails with a clear error naming each failure; the queue is bounded', async () => {
  const { log } = logger();
  const svc = new EmbedderService(cfg({ fallback: ['openai'], local: { model_path: '/nonexistent/model' }, openai: { base_url: '', api_key_env: 'RC_TEST_NO_KEY' } }), { dataDir: os.tmpdir(), log, env: {} });
  await svc.start();
  await assert.rejects(() => svc.embed(['x']), (e: any) => e.code === 'embedder_unavailable' && /local: .*nonexistent/.test(e.message) && /openai: .*API key/.test(e.message));
  const small = new EmbedderService(cfg({ max_queue: 3, local: { model_path: MODEL, precision: 'q8' } }), { dataDir: os.tmpdir(), log, env: {} });
  await small.start();
  try {
    await assert.rejects(() => small.embed(['a', 'b', 'c', 'd']), (e: any) => e.code === 'queue_full' && /max_queue = 3/.test(e.message));
    const ok = await small.embed(['a', 'b']);
    assert.equal(ok.vectors.length, 2);
    assert.equal(small.queuedTexts, 0);
  } finally {
    await small.close();
  }
});

test('a provider that stops working mid-run fails over to the next with one log line', async () => {
  const s = await fakeOpenAI();
  const { lines, log } = logger();
  const svc = new EmbedderService(cfg({ embedding_provider: 'openai', fallback: ['local'], local: { model_path: MODEL, precision: 'q8' }, openai: { base_url: s.base, timeout_ms: 500 } }), { dataDir: os.tmpdir(), log, env: {} });
  try {
    await svc.start();
    assert.equal(svc.info().provider, 'openai');
    await s.close(); // the endpoint goes away
    const r = await svc.embed(['This is an example sentence', 'Each sentence is converted']);
    assert.equal(r.model, 'all-MiniLM-L6-v2@q8');
    assert.equal(r.vectors[0].length, 384);
    const warns = lines.filter((l) => l.level === 'warn');
    assert.equal(warns.length, 1);
    assert.match(warns[0].msg, /openai provider unavailable.*unreachable.*falling back to local/);
    assert.equal(svc.info().provider, 'local');
  } finally {
    await svc.close();
  }
});
