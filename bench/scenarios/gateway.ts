/**
 * `gateway`: the HTTP gateway of the real service (`rustyclaw start` in a child process, rate limits
 * off) against a bare fastify hello-world (another child process), same run, autocannon as the load
 * generator in this process. A loopback LLM (OpenAI wire format) serves the agent.
 *
 *  - rps: `GET /v1/models` (auth, gate, JSON) vs fastify's `GET /` → {hello: 'world'};
 *  - chat_overhead_ms_p50: sequential non-streaming `POST /v1/chat/completions` minus the same
 *    stateless turn asked through `rustyclaw/client` (`agent.complete` over the WebSocket), medians;
 *  - sse_token_ms_p99: from the provider router receiving a token to the SSE client reading the
 *    delta. The router's receive times come from its opt-in stream trace
 *    (`RUSTYCLAW_TRACE_STREAMS`, actors/provider-router/stream-trace.ts: epoch ms noted as each
 *    delta is parsed, written when the request ends); the client's from its socket reads here.
 *    sse_from_llm_write_ms_p99: from the LLM's socket write instead (the router's own wake-up
 *    included, an upper bound); llm_to_router_ms_*: that wake-up alone.
 *    direct_stream: the same scripted streams read straight from the LLM by a plain HTTP client
 *    in this process; worker_relay: through the least a worker-thread service can do
 *    (bench/lib/sse-relay-child.ts: a worker reads the LLM, posts each delta to the main thread,
 *    which writes it to the client), timed from the worker's receive — the floor of the same two
 *    hops. The three alternate stream by stream. ratios.sse_added_ms_*: gateway minus direct.
 *  The loopback LLM runs in a child process of its own (bench/lib/llm-child.ts), as a real provider
 *  does: reading in this process then never waits for the server's own writing.
 *
 * `--json`: {"results": {"rustyclaw": {rps, chat_overhead_ms_p50, sse_token_ms_p99, sse_from_llm_write_ms_p99}, "fastify_hello": {rps}}}
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { connect } from '../../src/client/index.js';
import { startLlmProcess } from '../lib/llm-child.js';
import { median, percentile, round } from '../lib/stats.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const RELAY = fileURLToPath(new URL('../lib/sse-relay-child.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const now = () => performance.timeOrigin + performance.now();

function waitLine(child: ChildProcess, re: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = re.exec(out);
      if (m) resolve(m[0]);
    });
    child.once('exit', (c) => reject(new Error(`${what} exited ${c}: ${out}`)));
  });
}

async function fastifyHello(): Promise<{ child: ChildProcess; url: string }> {
  const src = "import Fastify from 'fastify'; const app = Fastify({ logger: false }); app.get('/', async () => ({ hello: 'world' })); await app.listen({ host: '127.0.0.1', port: 0 }); console.log('listening ' + app.server.address().port);";
  const child = spawn(process.execPath, ['--input-type=module', '-e', src], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await waitLine(child, /listening (\d+)/, 'fastify hello');
  return { child, url: `http://127.0.0.1:${/\d+/.exec(line)![0]}/` };
}

async function service(llmUrl: string): Promise<{ child: ChildProcess; http: string; ws: string; token: string; dir: string; trace: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-bench-gw-'));
  const trace = path.join(dir, 'streams.jsonl');
  const cfg = path.join(dir, 'rustyclaw.yaml');
  writeFileSync(cfg, `data_dir: ${dir}/data
endpoint:
  port: 0
gateway:
  rate_limit:
    enabled: false
kernel:
  liveness:
    deadline_ms: 20000
embedder:
  embedding_provider: none
scheduler:
  heartbeat:
    enabled: false
agents:
  - id: default
    memory_k: 0
`);
  const child = spawn(process.execPath, [CLI, '--config', cfg, 'start'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH, HOME: dir, OPENAI_BASE_URL: llmUrl, RUSTYCLAW_LOG_LEVEL: 'error', RUSTYCLAW_TRACE_STREAMS: trace },
  });
  await waitLine(child, /ready in \d+ ms[^\n]*\n/, 'rustyclaw start');
  const info = JSON.parse(readFileSync(path.join(dir, 'data', 'run', 'endpoint.json'), 'utf8')) as { url: string; http_url: string; token: string };
  return { child, http: info.http_url, ws: info.url, token: info.token, dir, trace };
}

async function load(url: string, seconds: number, headers: Record<string, string> = {}): Promise<number> {
  const r = await autocannon({ url, connections: 16, pipelining: 1, duration: seconds, headers });
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx answers, ${r.errors} errors under load`);
  return r.requests.average;
}

function postJson(url: string, token: string, body: unknown, onData?: (chunk: string, at: number) => void): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        onData?.(c, now());
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** When each token (by its `tNNN` index) was complete in a receive trace `[[at, text], …]`; -1: no tokens. */
function tokenTimes(received: Array<[number, string]>, tokenRe: RegExp): { stream: number; times: Map<number, number> } {
  let acc = '';
  let stream = -1;
  const times = new Map<number, number>();
  for (const [at, t] of received) {
    acc += t;
    for (const m of acc.matchAll(tokenRe)) {
      stream = Number(m[1]);
      if (!times.has(Number(m[2]))) times.set(Number(m[2]), at);
    }
  }
  return { stream, times };
}

/** Per gateway stream (by the `sNN` its tokens carry): the provider router's receive times, from its stream trace. */
async function routerReceiveTimes(file: string, streams: number, tokenRe: RegExp): Promise<Map<number, Map<number, number>>> {
  const out = new Map<number, Map<number, number>>();
  // The trace lines are appended asynchronously as each request ends: wait for the last stream's.
  for (let waited = 0; ; waited += 20) {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { /* not written yet */ }
    out.clear();
    for (const line of text.split('\n')) {
      if (!line) continue;
      const { stream, times } = tokenTimes((JSON.parse(line) as { received: Array<[number, string]> }).received, tokenRe);
      if (stream >= 0) out.set(stream, times);
    }
    if (out.size >= streams) return out;
    if (waited > 5000) throw new Error(`router stream trace ${file}: ${out.size} of ${streams} streams after 5 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function workerRelay(llmUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [RELAY, llmUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await waitLine(child, /listening (\d+)/, 'sse relay');
  return { child, url: `http://127.0.0.1:${/\d+/.exec(line)![0]}/` };
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const seconds = opts.quick ? 2 : 4;
  const rounds = opts.quick ? 2 : 3;
  const turns = opts.quick ? 20 : 60;
  const streams = opts.quick ? 5 : 30;
  const llm = await startLlmProcess('openai');
  const hello = await fastifyHello();
  const svc = await service(llm.url);
  const relay = await workerRelay(llm.url);
  const rc = await connect({ url: svc.ws, token: svc.token });
  try {
    // Warm-up: JIT, connections, the first provider request.
    await load(hello.url, 1);
    await load(`${svc.http}/v1/models`, 1, { authorization: `Bearer ${svc.token}` });
    // Alternating rounds, medians: a shared machine's load drifts between two back-to-back runs.
    const helloRuns: number[] = [];
    const gwRuns: number[] = [];
    for (let i = 0; i < rounds; i++) {
      helloRuns.push(await load(hello.url, seconds));
      gwRuns.push(await load(`${svc.http}/v1/models`, seconds, { authorization: `Bearer ${svc.token}` }));
    }
    const helloRps = median(helloRuns);
    const gwRps = median(gwRuns);

    const chatUrl = `${svc.http}/v1/chat/completions`;
    const messages = (i: number) => [{ role: 'user' as const, content: `bench turn ${i}` }];
    const viaHttp: number[] = [];
    const viaClient: number[] = [];
    for (let i = 0; i < turns + 5; i++) {
      // Interleaved so both see the same machine state.
      let t0 = performance.now();
      const r = await postJson(chatUrl, svc.token, { model: 'rustyclaw:default', messages: messages(i) });
      const tHttp = performance.now() - t0;
      if (r.status !== 200) throw new Error(`chat.completions answered ${r.status}: ${r.text}`);
      t0 = performance.now();
      await rc.ask('agents/default', 'agent.complete', { messages: messages(i), channel: 'bench' });
      const tClient = performance.now() - t0;
      if (i >= 5) {
        viaHttp.push(tHttp);
        viaClient.push(tClient);
      }
    }

    // Streaming: the same scripted stream through the gateway and, as the baseline, read straight
    // from the LLM by a plain HTTP client in this process (the socket hop every client pays),
    // alternating stream by stream. Tokens name their stream (`s07t013 `) so the router's trace
    // lines can be matched to the gateway's streams.
    const pieces = 20;
    const tokenRe = /s(\d{2})t(\d{3}) /g;
    const stream = async (s: number, url: string, token: string, body: unknown) => {
      const text = Array.from({ length: pieces }, (_, i) => `s${String(s).padStart(2, '0')}t${String(i).padStart(3, '0')} `).join('');
      llm.push({ kind: 'reply', reply: { text, chunk_size: 8, chunk_delay_ms: 15 } });
      const seen = new Map<number, number>();
      let buf = '';
      await postJson(url, token, body, (chunk, at) => {
        buf += chunk;
        for (const m of buf.matchAll(tokenRe)) if (!seen.has(Number(m[2]))) seen.set(Number(m[2]), at);
      });
      return { seen, sent: await llm.lastPieces(), text: buf };
    };
    const viaGateway: Array<{ seen: Map<number, number>; sent: number[] }> = [];
    const lat: number[] = [];
    const direct: number[] = [];
    const relayed: number[] = [];
    for (let s = 0; s < streams; s++) {
      const g = await stream(s, chatUrl, svc.token, { model: 'rustyclaw:default', messages: messages(1000 + s), stream: true });
      viaGateway.push(g);
      for (const [i, at] of g.seen) if (g.sent[i] !== undefined) lat.push(at - g.sent[i]!);
      const d = await stream(s, `${llm.url}/chat/completions`, 'test-key', { model: 'm', messages: messages(2000 + s), stream: true });
      for (const [i, at] of d.seen) if (d.sent[i] !== undefined) direct.push(at - d.sent[i]!);
      const w = await stream(s, relay.url, '', { model: 'm', messages: messages(3000 + s), stream: true });
      const trace = /^event: trace\ndata: (.*)$/m.exec(w.text);
      if (!trace) throw new Error(`worker relay stream ${s}: no trace event in ${JSON.stringify(w.text.slice(-200))}`);
      const workerAt = tokenTimes(JSON.parse(trace[1]!) as Array<[number, string]>, tokenRe).times;
      for (const [i, at] of w.seen) relayed.push(at - workerAt.get(i)!);
    }
    const routerAt = await routerReceiveTimes(svc.trace, streams, tokenRe);
    const fromRouter: number[] = [];
    const llmToRouter: number[] = [];
    viaGateway.forEach((g, s) => {
      for (const [i, at] of g.seen) {
        const r = routerAt.get(s)?.get(i);
        if (r === undefined) throw new Error(`stream ${s} token ${i}: not in the router's stream trace`);
        fromRouter.push(at - r);
        if (g.sent[i] !== undefined) llmToRouter.push(r - g.sent[i]!);
      }
    });

    const overhead = median(viaHttp) - median(viaClient);
    return {
      results: {
        rustyclaw: {
          rps: round(gwRps), chat_overhead_ms_p50: round(overhead, 3),
          sse_token_ms_p50: round(median(fromRouter), 3), sse_token_ms_p99: round(percentile(fromRouter, 99), 3),
          sse_from_llm_write_ms_p99: round(percentile(lat, 99), 3),
          llm_to_router_ms_p50: round(median(llmToRouter), 3), llm_to_router_ms_p99: round(percentile(llmToRouter, 99), 3),
        },
        fastify_hello: { rps: round(helloRps) },
        direct_stream: { sse_token_ms_p50: round(median(direct), 3), sse_token_ms_p99: round(percentile(direct, 99), 3) },
        worker_relay: { sse_token_ms_p50: round(median(relayed), 3), sse_token_ms_p99: round(percentile(relayed, 99), 3) },
      },
      ratios: {
        rps_vs_fastify_hello: round(gwRps / helloRps, 3),
        // What RustyClaw adds to a token beyond the socket hop a direct client pays as well.
        sse_added_ms_p50: round(median(lat) - median(direct), 3),
        sse_added_ms_p99: round(percentile(lat, 99) - percentile(direct, 99), 3),
        // Router receive → client against the bare two-hop floor (worker receive → client).
        sse_token_p50_vs_worker_relay: round(median(fromRouter) / median(relayed), 2),
        sse_token_p99_vs_worker_relay: round(percentile(fromRouter, 99) / percentile(relayed, 99), 2),
      },
      notes: [
        `rps: GET /v1/models with a bearer token vs a bare fastify GET /, autocannon 16 connections, ${rounds} alternating rounds of ${seconds} s, medians (rustyclaw ${gwRuns.map((x) => round(x)).join(', ')}; fastify ${helloRuns.map((x) => round(x)).join(', ')}), both servers in child processes`,
        `chat: ${turns} sequential non-streaming turns each way (HTTP p50 ${round(median(viaHttp), 3)} ms, rustyclaw/client agent.complete p50 ${round(median(viaClient), 3)} ms)`,
        `sse: ${fromRouter.length} tokens over ${streams} streams of ${pieces}, router receive (its stream trace) → SSE client read; from the LLM write: p50 ${round(median(lat), 3)} / p99 ${round(percentile(lat, 99), 3)} ms; direct_stream: the same streams read straight from the LLM process (${direct.length} tokens)`,
      ],
    };
  } finally {
    await rc.close();
    svc.child.kill('SIGTERM');
    hello.child.kill('SIGTERM');
    relay.child.kill('SIGTERM');
    await new Promise((r) => (svc.child.exitCode !== null ? r(null) : svc.child.once('exit', r)));
    await llm.close();
    rmSync(svc.dir, { recursive: true, force: true });
  }
}
