import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadModel } from '../../actors/embedder/model-download.js';
import { filesFor } from '../../actors/embedder/model-files.js';
import { OnnxEmbedder } from '../../actors/embedder/onnx-embedder.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MODEL = path.resolve(repoRoot, '../shared/models/all-MiniLM-L6-v2');
const PREFIX = '/Xenova/all-MiniLM-L6-v2/resolve/main/';

interface Behaviour {
  /** Serve these files with a flipped byte, this many times. */
  corrupt?: Map<string, number>;
  /** Close the connection after this many bytes, once per file. */
  drop?: Map<string, number>;
  /** Declare this sha256 in `x-linked-etag`, as the hub does for LFS files. */
  etag?: Map<string, string>;
}

/** A loopback server speaking the hub's URL layout with HTTP Range support. */
async function hub(b: Behaviour = {}) {
  const log: Array<{ file: string; range: string | undefined; status: number }> = [];
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? '');
    if (!url.startsWith(PREFIX)) return void res.writeHead(404).end();
    const file = url.slice(PREFIX.length);
    const abs = path.join(MODEL, file);
    if (!fs.existsSync(abs)) {
      log.push({ file, range: req.headers.range, status: 404 });
      return void res.writeHead(404).end('not found');
    }
    let data = fs.readFileSync(abs);
    const c = b.corrupt?.get(file) ?? 0;
    if (c > 0) {
      b.corrupt!.set(file, c - 1);
      data = Buffer.from(data);
      data[Math.floor(data.length / 2)] ^= 0xff;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) start = Number(m[1]);
    const status = m ? 206 : 200;
    log.push({ file, range: req.headers.range, status });
    const body = data.subarray(start);
    res.writeHead(status, {
      'content-length': String(body.length),
      ...(m ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}),
      ...(b.etag?.has(file) ? { 'x-linked-etag': `"${b.etag.get(file)}"` } : {}),
    });
    const dropAt = b.drop?.get(file);
    if (dropAt !== undefined) {
      b.drop!.delete(file);
      res.write(body.subarray(0, dropAt), () => req.socket.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { base: `http://127.0.0.1:${port}`, log, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rc-dl-'));
}

test('downloads the q8 model in hub layout, verifies it, reports progress, and it embeds', async () => {
  const h = await hub();
  const dest = tmp();
  const seen: number[] = [];
  try {
    await downloadModel({ baseUrl: h.base, repo: 'Xenova/all-MiniLM-L6-v2', revision: 'main', files: filesFor('q8'), destDir: dest, onProgress: (p) => seen.push(p.overallReceived) });
    assert.deepEqual(h.log.map((l) => l.file).sort(), ['config.json', 'onnx/model_quantized.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    assert.ok(seen.length > 3);
    assert.equal(Math.max(...seen), 23_400_085 + 466_247 + 426 + 612);
    const emb = await OnnxEmbedder.load({ dir: dest, precision: 'q8' });
    // The README's q8 figures come from this two-sentence batch (dynamic int8 quantizes activations per batch).
    const v = await emb.embed(['This is an example sentence', 'Each sentence is converted']);
    assert.ok(Math.abs(v[0] - 0.061456) < 1e-4, `got ${v[0]}`);
    await emb.close();
    // second run: nothing fetched again
    h.log.length = 0;
    await downloadModel({ baseUrl: h.base, repo: 'Xenova/all-MiniLM-L6-v2', revision: 'main', files: filesFor('q8'), destDir: dest });
    assert.equal(h.log.length, 0);
  } finally {
    await h.close();
    fs.rmSync(dest, { recursive: true, force: true });
  }
});

test('a dropped connection mid-file resumes with a Range request', async () => {
  const h = await hub({ drop: new Map([['onnx/model_quantized.onnx', 5_000_000]]) });
  const dest = tmp();
  const logs: string[] = [];
  try {
    await downloadModel({ baseUrl: h.base, repo: 'Xenova/all-MiniLM-L6-v2', revision: 'main', files: filesFor('q8'), destDir: dest, backoffMs: 10, log: (m) => logs.push(m) });
    const reqs = h.log.filter((l) => l.file === 'onnx/model_quantized.onnx');
    assert.equal(reqs.length, 2);
    assert.equal(reqs[1].status, 206);
    assert.match(reqs[1].range!, /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(reqs[1].range!)![0]) >= 1_000_000, 'resumed from what it had');
    assert.ok(logs.some((l) => /interrupted.*resuming/.test(l)));
    assert.equal(fs.statSync(path.join(dest, 'onnx/model_quantized.onnx')).size, 23_400_085);
  } finally {
    await h.close();
    fs.rmSync(dest, { recursive: true, force: true });
  }
});

test('a corrupted file fails its sha256, is fetched again cleanly, and persistent corruption is a clear error', async () => {
  const h = await hub({ corrupt: new Map([['tokenizer.json', 1]]) });
  const dest = tmp();
  try {
    await downloadModel({ baseUrl: h.base, repo: 'Xenova/all-MiniLM-L6-v2', revision: 'main', files: filesFor('q8').filter((f) => f.name === 'tokenizer.json'), destDir: dest, backoffMs: 10 });
    const reqs = h.log.filter((l) => l.file === 'tokenizer.json');
    assert.equal(reqs.length, 2);
    assert.equal(reqs[1].range, undefined, 'clean retry, not a resume');
  } finally {
    await h.close();
  }
  const bad = await hub({ corrupt: new Map([['config.json', 99]]) });
  try {
    await assert.rejects(
      () => downloadModel({ baseUrl: bad.base, repo: 'Xenova/all-MiniLM-L6-v2', revision: 'main', files: filesFor('q8').filter((f) => f.name === 'config.json'), destDir: dest, retries: 2, backoffMs: 5 }),
      (e: any) => e.code === 'model_checksum_mismatch' && e.message.includes('config.json') && e.message.includes('953f9c0d') && /different build/.test(e.message),
    );
    assert.equal(bad.log.length, 2, 'the same wrong bytes twice: a different build, no more retries');
    assert.ok(!fs.existsSync(path.join(dest, 'config.json')), 'a bad file never lands in place');
    await assert.rejects(
      () => downloadModel({ baseUrl: bad.base, repo: 'nobody/nothing', revision: 'main', files: [{ name: 'model.onnx' }], destDir: dest, backoffMs: 5 }),
      (e: any) => e.code === 'model_not_found' && /404/.test(e.message),
    );
  } finally {
    await bad.close();
    fs.rmSync(dest, { recursive: true, force: true });
  }
});

test('a server declaring another sha256 (hub ETag) is refused before the body is downloaded', async () => {
  const other = 'ab'.repeat(32);
  const h = await hub({ etag: new Map([['onnx/model_quantized.onnx', other]]) });
  const dest = tmp();
  try {
    await assert.rejects(
      () => downloadModel({ baseUrl: h.base, repo: 'Xenova/all-MiniLM-L6-v2', revision: 'main', files: filesFor('q8').filter((f) => f.name.endsWith('.onnx')), destDir: dest, backoffMs: 5 }),
      (e: any) => e.code === 'model_checksum_mismatch' && e.message.includes(other) && /different build/.test(e.message),
    );
    assert.equal(h.log.length, 1, 'no retries');
    // Pinning that build's hash in config (embedder.local.sha256) replaces the built-in pin.
    const pinned = filesFor('q8', { 'onnx/model_quantized.onnx': other }).find((f) => f.name.endsWith('.onnx'))!;
    assert.equal(pinned.sha256, other);
    assert.equal(pinned.size, undefined);
    const partial = path.join(dest, 'onnx', 'model_quantized.onnx.partial');
    assert.ok(!fs.existsSync(partial) || fs.statSync(partial).size < 23_400_085);
    // A declared hash equal to the pin is fine.
    const h2 = await hub({ etag: new Map([['tokenizer.json', 'be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037']]) });
    await downloadModel({ baseUrl: h2.base, repo: 'Xenova/all-MiniLM-L6-v2', revision: 'main', files: filesFor('q8').filter((f) => f.name === 'tokenizer.json'), destDir: dest });
    await h2.close();
  } finally {
    await h.close();
    fs.rmSync(dest, { recursive: true, force: true });
  }
});

test('from the default hub, a build that differs from the built-in pin is verified against the hash the hub declares', async () => {
  const real = fs.readFileSync(path.join(MODEL, 'onnx', 'model_quantized.onnx'));
  const realSha = createHash('sha256').update(real).digest('hex');
  // Pretend the built-in pin is some other build: only the hub's declaration can vouch for these bytes.
  const files = filesFor('q8').filter((f) => f.name.endsWith('.onnx')).map((f) => ({ ...f, sha256: 'cd'.repeat(32) }));
  const h = await hub({ etag: new Map([['onnx/model_quantized.onnx', realSha]]) });
  const dest = tmp();
  const lines: string[] = [];
  try {
    await downloadModel({ baseUrl: h.base, repo: 'Xenova/all-MiniLM-L6-v2', revision: 'main', files, destDir: dest, trustDeclared: true, log: (m) => lines.push(m) });
    assert.equal(createHash('sha256').update(fs.readFileSync(path.join(dest, 'onnx', 'model_quantized.onnx'))).digest('hex'), realSha);
    assert.ok(lines.some((l) => /differs from the built-in pin/.test(l)), 'the switch is logged');
    // Bytes that do not match the declared hash are still refused.
    const h2 = await hub({ etag: new Map([['onnx/model_quantized.onnx', realSha]]), corrupt: new Map([['onnx/model_quantized.onnx', 9]]) });
    const dest2 = tmp();
    await assert.rejects(
      () => downloadModel({ baseUrl: h2.base, repo: 'Xenova/all-MiniLM-L6-v2', revision: 'main', files, destDir: dest2, trustDeclared: true, retries: 1, backoffMs: 5 }),
      (e: any) => e.code === 'model_checksum_mismatch',
    );
    await h2.close();
    fs.rmSync(dest2, { recursive: true, force: true });
  } finally {
    await h.close();
    fs.rmSync(dest, { recursive: true, force: true });
  }
});

test('the embedder service downloads the model on first use into the data dir, then works offline', async () => {
  const { Value } = await import('@sinclair/typebox/value');
  const { EmbedderConfigSchema } = await import('../../protocol/embedder.js');
  const { EmbedderService, modelCacheDir } = await import('../../actors/embedder/service.js');
  const h = await hub({ drop: new Map([['onnx/model_quantized.onnx', 3_000_000]]) });
  const dataDir = tmp();
  const progress: number[] = [];
  const lines: string[] = [];
  const log = { info: () => undefined, warn: (_o: unknown, m?: string) => void lines.push(m ?? '') };
  const cfg = Value.Default(EmbedderConfigSchema, { threads: 1, local: { precision: 'q8', base_url: h.base } }) as any;
  try {
    const svc = new EmbedderService(cfg, { dataDir, log, onDownloadProgress: (p) => progress.push(p.overallReceived), env: {} });
    await svc.start();
    assert.equal(svc.info().provider, 'local', JSON.stringify(svc.info().failed));
    assert.ok(fs.existsSync(path.join(modelCacheDir(dataDir, 'Xenova/all-MiniLM-L6-v2', 'main'), 'onnx', 'model_quantized.onnx')));
    assert.ok(progress.length > 2);
    const r = await svc.embed(['This is an example sentence', 'Each sentence is converted']);
    assert.ok(Math.abs(r.vectors[0][0] - 0.061456) < 1e-4);
    await svc.close();
    // Second start: served from the data dir, the server is not asked again.
    await h.close();
    const again = new EmbedderService(cfg, { dataDir, log, env: {} });
    await again.start();
    assert.equal(again.info().provider, 'local');
    await again.close();
  } finally {
    await h.close().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
