/**
 * First-use download of model files from a hub-layout server (`{base}/{repo}/resolve/{revision}/{file}`):
 * streamed to `<file>.partial`, resumed with an HTTP Range request after a dropped connection,
 * verified by sha256, and downloaded again from scratch when the hash is wrong. Files already
 * present and verified are not fetched again (a `.sha256` stamp beside each file avoids rehashing
 * 90 MB at every start).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelFile } from './model-files.js';
import { EmbedderError } from './types.js';

export interface DownloadProgress {
  file: string;
  received: number;
  total: number | null;
  /** Bytes of all files together (null while a size is unknown). */
  overallReceived: number;
  overallTotal: number | null;
}

/** The public hub (the default `embedder.local.base_url`). */
export const DEFAULT_HUB = 'https://huggingface.co';

export interface DownloadOptions {
  baseUrl: string;
  repo: string;
  revision: string;
  files: ModelFile[];
  destDir: string;
  /** Further attempts per file after the first (resume or clean retry). */
  retries?: number;
  /** Abort a request when no byte arrives for this long. */
  idleTimeoutMs?: number;
  /** Pause between attempts (ms), doubled each time. */
  backoffMs?: number;
  onProgress?: (p: DownloadProgress) => void;
  log?: (msg: string) => void;
  /**
   * The built-in pins are the project's own build; the public hub serves its own build of the same
   * model and declares each LFS file's sha256 (over TLS). With this set (default hub, no pins of the
   * user's), a declared hash that differs from the built-in pin becomes the expected hash, so a fresh
   * install still gets a verified download. Pins from config are never overridden.
   */
  trustDeclared?: boolean;
}

export function fileUrl(baseUrl: string, repo: string, revision: string, file: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** True when `file` exists and matches its expected hash (trusting a fresh stamp). */
async function alreadyValid(file: string, f: ModelFile): Promise<boolean> {
  if (!fs.existsSync(file)) return false;
  if (!f.sha256) return true;
  const st = fs.statSync(file);
  const stamp = `${file}.sha256`;
  try {
    const s = JSON.parse(fs.readFileSync(stamp, 'utf8'));
    if (s.sha256 === f.sha256 && s.size === st.size && s.mtimeMs === st.mtimeMs) return true;
  } catch {
    /* no stamp */
  }
  const actual = await sha256File(file);
  if (actual !== f.sha256) return false;
  fs.writeFileSync(stamp, JSON.stringify({ sha256: actual, size: st.size, mtimeMs: st.mtimeMs }));
  return true;
}

export async function downloadModel(opts: DownloadOptions): Promise<string> {
  fs.mkdirSync(opts.destDir, { recursive: true });
  const retries = opts.retries ?? 3;
  const knownTotal = opts.files.every((f) => f.size) ? opts.files.reduce((a, f) => a + (f.size ?? 0), 0) : null;
  let overallDone = 0;
  for (const file of opts.files) {
    const f: ModelFile = { ...file };
    const dest = path.join(opts.destDir, f.name);
    if (await alreadyValid(dest, f)) {
      overallDone += fs.statSync(dest).size;
      continue;
    }
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const url = fileUrl(opts.baseUrl, opts.repo, opts.revision, f.name);
    const partial = `${dest}.partial`;
    let lastError: EmbedderError | null = null;
    let lastWrong = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 500) * 2 ** (attempt - 1)));
      try {
        await fetchInto(url, partial, f, opts, (received, total) =>
          opts.onProgress?.({ file: f.name, received, total, overallReceived: overallDone + received, overallTotal: knownTotal }),
        );
      } catch (e) {
        lastError = e instanceof EmbedderError ? e : new EmbedderError('model_download_failed', `downloading ${url}: ${(e as Error).message}`, dest);
        // A 404 or a server that declares another build won't fix itself.
        if (lastError.code === 'model_not_found' || lastError.code === 'model_checksum_mismatch') break;
        opts.log?.(`model download of ${f.name} interrupted (${lastError.message}); ${attempt < retries ? 'resuming' : 'giving up'}`);
        continue;
      }
      if (f.sha256) {
        const actual = await sha256File(partial);
        if (actual !== f.sha256) {
          // A corrupted download can't be resumed: start over — unless the same wrong bytes came
          // twice, which is a different build on the server, not a transfer error.
          fs.rmSync(partial, { force: true });
          const repeated = actual === lastWrong;
          lastWrong = actual;
          lastError = new EmbedderError('model_checksum_mismatch', `downloaded ${f.name} from ${url} has sha256 ${actual}, expected ${f.sha256} (${repeated ? 'twice: the server has a different build' : 'corrupted download or a different build on the server'})`, dest);
          opts.log?.(`${lastError.message}; ${attempt < retries && !repeated ? 'downloading it again' : 'giving up'}`);
          if (repeated) break;
          continue;
        }
      }
      fs.renameSync(partial, dest);
      if (f.sha256) {
        const st = fs.statSync(dest);
        fs.writeFileSync(`${dest}.sha256`, JSON.stringify({ sha256: f.sha256, size: st.size, mtimeMs: st.mtimeMs }));
      }
      lastError = null;
      break;
    }
    if (lastError) throw lastError;
    overallDone += fs.statSync(dest).size;
  }
  return opts.destDir;
}

/** One request: resume from the partial file's size when it exists. */
async function fetchInto(url: string, partial: string, f: ModelFile, opts: DownloadOptions, progress: (received: number, total: number | null) => void): Promise<void> {
  let have = fs.existsSync(partial) ? fs.statSync(partial).size : 0;
  if (f.size && have > f.size) {
    fs.rmSync(partial, { force: true });
    have = 0;
  }
  const ctrl = new AbortController();
  const idle = opts.idleTimeoutMs ?? 60_000;
  let timer = setTimeout(() => ctrl.abort(new Error(`no data for ${idle} ms`)), idle);
  const bump = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctrl.abort(new Error(`no data for ${idle} ms`)), idle);
  };
  try {
    const res = await fetch(url, { headers: have ? { range: `bytes=${have}-` } : {}, signal: ctrl.signal, redirect: 'follow' });
    if (res.status === 404) throw new EmbedderError('model_not_found', `model file not found: ${url} (HTTP 404); check embedder.local.base_url/repo/revision`);
    if (res.status === 416 && f.size && have === f.size) return; // already complete
    if (res.status !== 200 && res.status !== 206) throw new Error(`HTTP ${res.status} for ${url}`);
    if (res.status === 200 && have) have = 0; // server ignored the range: start over
    // The hub declares an LFS file's sha256 in its ETag: a different build is known before 90 MB flow.
    const declared = (res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
    if (f.sha256 && /^[0-9a-f]{64}$/.test(declared) && declared !== f.sha256 && opts.trustDeclared) {
      opts.log?.(`${f.name}: the server's build (sha256 ${declared}) differs from the built-in pin; verifying against the server's declared hash`);
      f.sha256 = declared;
      delete f.size;
    }
    if (f.sha256 && /^[0-9a-f]{64}$/.test(declared) && declared !== f.sha256) {
      await res.body?.cancel().catch(() => undefined);
      throw new EmbedderError('model_checksum_mismatch', `${url} declares sha256 ${declared} for ${f.name}, expected ${f.sha256}: the server has a different build of the model (set embedder.local.sha256 to trust it, or use a mirror of this build)`, f.name);
    }
    const lenHeader = Number(res.headers.get('content-length'));
    const total = f.size ?? (Number.isFinite(lenHeader) && lenHeader > 0 ? lenHeader + have : null);
    const out = fs.createWriteStream(partial, { flags: have ? 'a' : 'w' });
    let received = have;
    progress(received, total);
    try {
      if (!res.body) throw new Error('empty response body');
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bump();
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        received += chunk.byteLength;
        progress(received, total);
      }
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
    if (total !== null && received < total) throw new Error(`connection closed after ${received} of ${total} bytes`);
  } finally {
    clearTimeout(timer);
  }
}
