/**
 * Bench scenario `provider`: the cost of the router actor on a streamed chat, failover switch time
 * and token counting, against loopback OpenAI-compatible servers running in their own worker
 * thread (so neither the direct client nor the router competes with the server for a thread).
 *
 * Reported (ms, medians):
 *   router     — `provider.chat` asked of system/provider-router in its worker, chunks published
 *                back on `provider/stream/<id>`: request_ms_p50 (send → final reply), first_token_ms_p50
 *   direct     — the same request from the main thread with the same HTTP/SSE code, no actor hop
 *   inproc     — the whole ProviderRouter (chain, accounting) in the main thread, no actor hop:
 *                inproc − direct is the router's own code, router − inproc the thread hops
 *   hop        — ask_rtt_ms_p50: a `provider.cancel` ask round trip (main → router thread → main);
 *                raw_worker_rtt_ms_p50: a bare worker's postMessage round trip, interleaved the same
 *                way; ratios.first_token_floor_ratio = (direct first token + that) / direct
 *   direct, inproc and router samples are interleaved (one of each per round) so machine load
 *   drifting during the run hits all three alike.
 *   failover   — switch_ms_p50: first provider's 503 written → request arriving at the second
 *                (excludes Retry-After and provider latency; each sample uses a fresh alias so
 *                last-good-first does not skip the failing provider)
 *   tokenizer  — count_100k_ms: counting a ~100k-token history from scratch; incremental_turn_ms:
 *                adding one turn with per-message counts cached (what the agent does each turn)
 *   paced      — the same three with the server writing one chunk per ms (a fast hosted model)
 *                instead of back to back: paced_router_overhead_ms, paced_first_token_ratio
 *   set: n=N requests per mode (default 300, quick 60), chunks=N text pieces per answer (default 50)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSystem } from '../../src/kernel/index.js';
import { OpenAiAdapter } from '../../actors/provider-router/adapters/openai.js';
import { resolveSettings } from '../../actors/provider-router/config.js';
import { closeHttpPools } from '../../actors/provider-router/http.js';
import { ProviderRouter } from '../../actors/provider-router/router.js';
import pino from 'pino';
import { messageTokens } from '../../actors/agent/tokens.js';
import { Worker } from 'node:worker_threads';
import type { ChatMessage } from '../../protocol/provider.js';
import { percentile, round } from '../lib/stats.js';
import { rawCaller } from '../baselines/clients.js';

const now = () => performance.timeOrigin + performance.now();

/**
 * A synthetic chat history of about `targetChars` characters (~4.7 chars per token) with varied
 * numbers so the tokenizer's per-word cache does not make it trivially cheap. Not counted while
 * being built: the measured pass is the first count of this text.
 */
function history(targetChars: number, seed: number): ChatMessage[] {
  const words = 'the agent reads a config file then sends a message to the router actor which streams tokens back quickly while the supervisor restarts crashed workers and lmdb keeps sessions'.split(' ');
  const msgs: ChatMessage[] = [];
  let n = 0;
  for (let i = 0; n < targetChars; i++) {
    const len = 120 + (i % 7) * 20;
    const text = Array.from({ length: len }, (_, k) => words[(i * 31 + k * 7 + seed) % words.length] + (k % 9 === 0 ? ` ${(i * 7919 + k * 104729 + seed) % 100000}` : '')).join(' ');
    msgs.push({ role: i % 2 ? 'assistant' : 'user', content: text });
    n += text.length;
  }
  return msgs;
}

/** The loopback servers live in a worker: `answer` (the streamed reply), `down` (503) and `up`. */
async function startServers(text: string): Promise<{ urls: Record<string, string>; switches(): Promise<number[]>; close(): Promise<void> }> {
  const mod = new URL('../../test/support/llm-servers.js', import.meta.url).href;
  const code = `
    const { parentPort } = await import('node:worker_threads');
    const { startLlmServer } = await import(${JSON.stringify(mod)});
    const text = ${JSON.stringify(text)};
    const answer = await startLlmServer('openai', { fallback: () => ({ kind: 'reply', reply: { text, chunk_size: 4 } }) });
    // Paced like a fast hosted model (a chunk per ms): the loopback server no longer competes with
    // the router's thread for the two cores while it writes.
    const paced = await startLlmServer('openai', { fallback: () => ({ kind: 'reply', reply: { text, chunk_size: 4, chunk_delay_ms: 1 } }) });
    const down = await startLlmServer('openai', { fallback: () => ({ kind: 'status', status: 503, message: 'overloaded' }) });
    const switches = [];
    const up = await startLlmServer('openai', { fallback: (req) => { switches.push(req.at - down.lastFailureAt); return { kind: 'reply' }; } });
    parentPort.on('message', async (m) => {
      if (m === 'switches') parentPort.postMessage({ switches });
      if (m === 'close') { await Promise.all([answer.close(), paced.close(), down.close(), up.close()]); parentPort.postMessage({ closed: true }); }
    });
    parentPort.postMessage({ urls: { answer: answer.url, paced: paced.url, down: down.url, up: up.url } });
  `;
  const w = new Worker(code, { eval: true, type: 'module' } as any);
  const next = () => new Promise<any>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  const { urls } = await next();
  return {
    urls,
    async switches() {
      w.postMessage('switches');
      return (await next()).switches;
    },
    async close() {
      w.postMessage('close');
      await next();
      await w.terminate();
    },
  };
}

const entry = (url: string) => ({ type: 'openai', enabled: true, base_url: url, api_key: 'bench-key', model: 'bench-model' });

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const n = Number(opts.set.n ?? (opts.quick ? 60 : 300));
  const chunks = Number(opts.set.chunks ?? 50);
  const text = 'abcd'.repeat(chunks);
  const servers = await startServers(text);
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-bench-provider-'));
  const notes: string[] = [];
  const messages: ChatMessage[] = [{ role: 'user', content: 'say something' }];
  const aliases: Record<string, unknown> = { default: { chain: ['local'] }, paced: { chain: ['paced'] } };
  for (let i = 0; i < n; i++) aliases[`f${i}`] = { chain: ['down', 'up'] };
  const config = {
    data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false },
    kernel: { system_actors: ['provider-router'] },
    providers: { local: entry(servers.urls.answer), paced: entry(servers.urls.paced), down: entry(servers.urls.down), up: entry(servers.urls.up) },
    models: aliases,
    // Cooldown 0: every sample meets the failing provider again (fresh alias → no last-good shortcut).
    provider_router: { cooldown_base_ms: 0 },
    agents: [],
  };
  try {
    const settings = resolveSettings(config, {});
    const adapter = new OpenAiAdapter(settings.providers.get('local')!, { connect_timeout_ms: 5000, first_token_timeout_ms: 5000, idle_timeout_ms: 5000, request_timeout_ms: 30000 });
    const inproc = new ProviderRouter({ rootConfig: config, env: {}, log: pino({ level: 'silent' }) });
    const sys = await startSystem({ config });
    await sys.waitUp('system/provider-router');
    // The main thread is no actor the worker can tell: chunks come back on the stream topic.
    let firstAt = 0;
    sys.subscribe('provider/stream/*', () => {
      if (!firstAt) firstAt = now();
    });
    await new Promise((res) => setTimeout(res, 50)); // the subscription reaches the router's thread
    const pacedAdapter = new OpenAiAdapter(settings.providers.get('paced')!, { connect_timeout_ms: 5000, first_token_timeout_ms: 5000, idle_timeout_ms: 5000, request_timeout_ms: 30000 });
    type Series = { req: number[]; first: number[] };
    const hop: number[] = [];
    const rawHop: number[] = [];
    const raw = await rawCaller();
    /** `count` rounds of direct, inproc and router requests (interleaved), after `warm` unkept ones. */
    const measure = async (alias: string, direct: OpenAiAdapter, count: number, warm: number) => {
      const out = { direct: { req: [], first: [] } as Series, inproc: { req: [], first: [] } as Series, router: { req: [], first: [] } as Series };
      for (let i = 0; i < count + warm; i++) {
        const keep = i >= warm;
        // direct: the same adapter code in the main thread
        let t0 = now();
        let first = 0;
        const d = await direct.chat({ model: 'm', messages }, { onText() { if (!first) first = now(); } }, new AbortController().signal);
        if (d.text !== text) throw new Error('direct: wrong answer');
        if (keep) { out.direct.req.push(now() - t0); out.direct.first.push(first - t0); }
        // inproc: the router's code without its thread
        t0 = now();
        first = 0;
        const l = await inproc.chat({ model: alias, messages, agent: 'bench' }, () => { if (!first) first = now(); });
        if (l.text !== text) throw new Error('inproc: wrong answer');
        if (keep) { out.inproc.req.push(now() - t0); out.inproc.first.push(first - t0); }
        // router: through the actor in its worker
        firstAt = 0;
        t0 = now();
        const r = await sys.ask('system/provider-router', 'provider.chat', { model: alias, messages, request_id: `${alias}${i}`, stream_topic: true, agent: 'bench' });
        const t1 = now();
        if (r.text !== text) throw new Error('router: wrong answer');
        while (!firstAt) await new Promise((res) => setImmediate(res));
        if (keep) { out.router.req.push(t1 - t0); out.router.first.push(firstAt - t0); }
        if (alias !== 'default') continue;
        const h0 = now();
        // A trivial message: `provider.status` walks every alias (this run configures n + 1 of them).
        await sys.ask('system/provider-router', 'provider.cancel', { request_id: 'none' });
        if (keep) hop.push(now() - h0);
        // A bare worker's postMessage round trip: what any actor hop costs at least.
        const r0 = now();
        await raw.call({ request_id: 'none' });
        if (keep) rawHop.push(now() - r0);
      }
      return out;
    };
    const burst = await measure('default', adapter, n, 20);
    const { direct, inproc: local, router } = burst;
    const paced = await measure('paced', pacedAdapter, Math.max(20, Math.round(n / 3)), 5);

    // ---- failover: 503 from `down` → request at `up` ----
    for (let i = 0; i < n; i++) {
      const r = await sys.ask<{ usage: { provider: string } }>('system/provider-router', 'provider.chat', { model: `f${i}`, messages, agent: 'bench' });
      if (r.usage.provider !== 'up') throw new Error('failover: wrong provider');
    }
    const switches = await servers.switches();
    await sys.stop();
    await raw.close();

    // ---- tokenizer ----
    // Warm the tokenizer's code on other text first (a running service has), then count fresh text.
    for (const m of history(40_000, 3)) messageTokens({ ...m, content: m.content.toUpperCase() });
    const hist = history(470_000, 1);
    const t0 = performance.now();
    let total = 0;
    for (const m of hist) total += messageTokens(m);
    const count100k = performance.now() - t0;
    const extra: ChatMessage = { role: 'user', content: 'one more question about the router actor and its failover chain' };
    const t1 = performance.now();
    const inc = total + messageTokens(extra);
    const incremental = performance.now() - t1;
    notes.push(`history: ${hist.length} messages, ${total} tokens (${inc} after one more turn)`);
    notes.push(`burst: the loopback server writes ${chunks} chunks back to back (it then competes with the router's thread for the cores); paced: one chunk per ms, like a fast hosted model, ${paced.router.req.length} requests per mode`);

    const p50 = (a: number[]) => round(percentile(a, 50), 3);
    const results = {
      router: { request_ms_p50: p50(router.req), first_token_ms_p50: p50(router.first) },
      direct: { request_ms_p50: p50(direct.req), first_token_ms_p50: p50(direct.first) },
      inproc: { request_ms_p50: p50(local.req), first_token_ms_p50: p50(local.first) },
      hop: { ask_rtt_ms_p50: p50(hop), raw_worker_rtt_ms_p50: p50(rawHop) },
      paced: {
        router: { request_ms_p50: p50(paced.router.req), first_token_ms_p50: p50(paced.router.first) },
        direct: { request_ms_p50: p50(paced.direct.req), first_token_ms_p50: p50(paced.direct.first) },
        inproc: { request_ms_p50: p50(paced.inproc.req), first_token_ms_p50: p50(paced.inproc.first) },
      },
      failover: { switch_ms_p50: p50(switches) },
      tokenizer: { count_100k_ms: round(count100k, 2), incremental_turn_ms: round(incremental, 3) },
    };
    const ratios = {
      router_overhead_ms: round(results.router.request_ms_p50 - results.direct.request_ms_p50, 3),
      first_token_ratio: round(results.router.first_token_ms_p50 / results.direct.first_token_ms_p50, 3),
      // Where the first-token time goes: the router's code vs the thread hops.
      first_token_router_code_ms: round(results.inproc.first_token_ms_p50 - results.direct.first_token_ms_p50, 3),
      first_token_hops_ms: round(results.router.first_token_ms_p50 - results.inproc.first_token_ms_p50, 3),
      // The floor of a router on its own thread: direct plus one bare round trip (request there, first token back).
      first_token_floor_ratio: round((results.direct.first_token_ms_p50 + results.hop.raw_worker_rtt_ms_p50) / results.direct.first_token_ms_p50, 3),
      paced_router_overhead_ms: round(results.paced.router.request_ms_p50 - results.paced.direct.request_ms_p50, 3),
      paced_first_token_ratio: round(results.paced.router.first_token_ms_p50 / results.paced.direct.first_token_ms_p50, 3),
    };
    return { results, ratios, notes };
  } finally {
    await servers.close();
    await closeHttpPools();
    rmSync(dir, { recursive: true, force: true });
  }
}
