import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startLlmServer, type Responder } from '../support/llm-servers.js';
import { closeHttpPools } from '../../actors/provider-router/http.js';
import { messageTokens } from '../../actors/agent/tokens.js';
import { planCut, clipToFit } from '../../actors/agent/compaction.js';
import type { Entry } from '../../actors/agent/sessions.js';
import { makeHarness } from './helpers.js';

after(() => closeHttpPools());

const WINDOW = 1000;
const words = (n: number, tag: string) => `${tag} ${'lorem ipsum dolor sit amet '.repeat(Math.ceil(n / 5))}`.trim();

/** Prompt tokens of a request as our counter sees them (system + messages). */
function promptTokens(body: any): number {
  return 3 + (body.messages as any[]).reduce((n, m) => n + messageTokens({ role: m.role, content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? ''), ...(m.tool_calls ? { tool_calls: m.tool_calls.map((c: any) => ({ id: c.id, name: c.function?.name ?? '', arguments: c.function?.arguments ?? '' })) } : {}) }), 0);
}

const isSummaryRequest = (body: any) => /You compress conversations/.test(`${body?.system ?? ''} ${body?.messages?.[0]?.content ?? ''}`);

function config(strategy: 'summarize' | 'truncate' | 'move_to_workspace', extra: Record<string, unknown> = {}) {
  return { tools: [] as string[], compaction: { strategy, threshold: 0.75, target: 0.5, keep_last_turns: 3, summary_model: '', ...extra } };
}

test('planCut keeps whole turns, at most N, fewer when over budget, always the last one', () => {
  const mk = (role: any, t: number, seq: number): Entry => ({ seq, t, m: { role, content: 'x' } });
  const e = [mk('user', 10, 0), mk('assistant', 10, 1), mk('user', 10, 2), mk('assistant', 50, 3), mk('tool', 10, 4), mk('user', 10, 5), mk('assistant', 10, 6)];
  assert.equal(planCut(e, 1000, 2), 2);
  assert.equal(planCut(e, 1000, 10), 0);
  assert.equal(planCut(e, 50, 3), 5);
  assert.equal(planCut(e, 1, 3), 5, 'the last turn is kept even over budget');
  const big: Entry[] = [{ seq: 0, t: messageTokens({ role: 'user', content: words(3000, 'big') }), m: { role: 'user', content: words(3000, 'big') } }];
  clipToFit(big, 200);
  assert.ok(big[0].t <= 200, `clipped to ${big[0].t}`);
  assert.match(big[0].m.content, /tokens clipped/);
});

test('truncate: oldest turns dropped at the threshold, system prompt and the last turns kept', async () => {
  const s = await startLlmServer('openai', { fallback: () => ({ kind: 'reply', reply: { text: words(40, 'answer') } }) });
  try {
    const h = makeHarness([s], { window: WINDOW, config: config('truncate') });
    for (let i = 0; i < 20; i++) await h.agent.send({ text: words(60, `question-${i}`) });
    for (const r of s.requests) assert.ok(promptTokens(r.body) <= WINDOW * 0.75 + 150, `prompt ${promptTokens(r.body)} tokens`);
    const last = s.requests.at(-1)!.body.messages;
    assert.equal(last[0].role, 'system');
    assert.match(last[1].content, /^question-1[4-9]/, 'only recent turns remain');
    assert.ok(last.length < 1 + 2 * 10, 'old turns are gone');
    assert.match(last.at(-1).content, /^question-19/);
    const c = h.events.filter((e) => e.kind === 'compaction');
    assert.ok(c.length >= 2 && c.every((e) => e.strategy === 'truncate' && e.tokens_after! < e.tokens_before!));
    const info = h.agent.sessionInfo('main');
    assert.equal(info.turns, 20);
    assert.ok(info.tokens <= WINDOW * 0.75);
  } finally {
    await s.close();
  }
});

test('summarize: an LLM summary replaces the old turns and is kept in context', async () => {
  const responder: Responder = (req) => isSummaryRequest(req.body)
    ? { kind: 'reply', reply: { text: 'SUMMARY: the user asked numbered questions about lorem ipsum.' } }
    : { kind: 'reply', reply: { text: words(40, 'answer') } };
  const s = await startLlmServer('anthropic', { fallback: responder });
  try {
    const h = makeHarness([s], { window: WINDOW, config: config('summarize') });
    for (let i = 0; i < 12; i++) await h.agent.send({ text: words(60, `question-${i}`) });
    const summaryReqs = s.requests.filter((r) => isSummaryRequest(r.body));
    assert.ok(summaryReqs.length >= 1, 'a summary was requested');
    assert.match(summaryReqs[0].body.messages[0].content[0].text, /question-0/);
    const info = h.agent.sessionInfo('main');
    assert.match(info.summary ?? '', /^SUMMARY:/);
    const lastChat = s.requests.filter((r) => !/You compress/.test(r.body.system ?? '')).at(-1)!;
    assert.match(lastChat.body.system, /Summary of the earlier conversation\nSUMMARY:/);
    assert.ok(h.events.some((e) => e.kind === 'compaction' && e.strategy === 'summarize' && !e.error));
    const usage = h.router.usage({ group_by: ['purpose'] });
    assert.ok(usage.rows.some((r) => r.key.purpose === 'compaction' && r.requests >= 1), 'summary spend is tracked separately');
  } finally {
    await s.close();
  }
});

test('summarize: a failing summary call falls back to truncation, the turn still succeeds', async () => {
  const s = await startLlmServer('openai', {
    fallback: (req) => isSummaryRequest(req.body) ? { kind: 'status', status: 500, message: 'summary boom' } : { kind: 'reply', reply: { text: words(40, 'answer') } },
  });
  try {
    // The failed summary puts the only provider into a short cooldown: the router waits it out.
    const h = makeHarness([s], { window: WINDOW, config: config('summarize'), router: { max_retry_wait_ms: 1000 } });
    for (let i = 0; i < 12; i++) await h.agent.send({ text: words(60, `question-${i}`) });
    const c = h.events.filter((e) => e.kind === 'compaction');
    assert.ok(c.length >= 1);
    assert.ok(c.every((e) => e.strategy === 'truncate' && /summary failed/.test(e.error ?? '')), JSON.stringify(c[0]));
    assert.equal(h.agent.sessionInfo('main').summary, undefined);
    assert.equal(h.events.filter((e) => e.kind === 'error').length, 0);
  } finally {
    await s.close();
  }
});

test('summarize: a summary too big to get under the threshold falls back to truncation', async () => {
  const s = await startLlmServer('openai', {
    fallback: (req) => isSummaryRequest(req.body) ? { kind: 'reply', reply: { text: words(2000, 'endless summary') } } : { kind: 'reply', reply: { text: words(40, 'answer') } },
  });
  try {
    // keep_last_turns large: the kept turns alone sit near the threshold, so no summary fits.
    const h = makeHarness([s], { window: WINDOW, config: config('summarize', { keep_last_turns: 50, target: 0.74 }) });
    for (let i = 0; i < 10; i++) await h.agent.send({ text: words(60, `question-${i}`) });
    const c = h.events.filter((e) => e.kind === 'compaction');
    assert.ok(c.length >= 1);
    assert.ok(c.some((e) => /did not bring the context under the threshold/.test(e.error ?? '')), JSON.stringify(c));
    for (const r of s.requests) assert.ok(promptTokens(r.body) <= WINDOW, `prompt ${promptTokens(r.body)}`);
  } finally {
    await s.close();
  }
});

test('move_to_workspace: old turns go to memory/YYYY-MM-DD.md, a pointer stays in context', async () => {
  const s = await startLlmServer('ollama', { fallback: () => ({ kind: 'reply', reply: { text: words(40, 'answer') } }) });
  try {
    const h = makeHarness([s], { window: WINDOW, config: config('move_to_workspace') });
    for (let i = 0; i < 12; i++) await h.agent.send({ text: words(60, `question-${i}`) });
    const day = new Date().toISOString().slice(0, 10);
    const file = path.join(h.workspace, 'memory', `${day}.md`);
    assert.ok(existsSync(file));
    const archived = readFileSync(file, 'utf8');
    assert.match(archived, /## Session main — archived/);
    assert.match(archived, /\*\*user\*\*: question-0 /);
    assert.match(archived, /\*\*assistant\*\*: answer /);
    const sys = s.requests.at(-1)!.body.messages[0].content;
    assert.match(sys, new RegExp(`archived to memory/${day}\\.md`));
    assert.ok(h.events.some((e) => e.kind === 'compaction' && e.strategy === 'move_to_workspace'));
  } finally {
    await s.close();
  }
});

test('move_to_workspace: an archive that cannot be written falls back to truncation', async () => {
  const s = await startLlmServer('openai', { fallback: () => ({ kind: 'reply', reply: { text: words(40, 'answer') } }) });
  try {
    const h = makeHarness([s], { window: WINDOW, config: config('move_to_workspace') });
    mkdirSync(h.workspace, { recursive: true });
    writeFileSync(path.join(h.workspace, 'memory'), 'a file where the directory should be');
    for (let i = 0; i < 12; i++) await h.agent.send({ text: words(60, `question-${i}`) });
    const c = h.events.filter((e) => e.kind === 'compaction');
    assert.ok(c.length >= 1 && c.every((e) => e.strategy === 'truncate' && /archive failed/.test(e.error ?? '')));
  } finally {
    await s.close();
  }
});

test('a single message larger than the window is clipped, never sent whole, never loops', async () => {
  const s = await startLlmServer('openai');
  try {
    const h = makeHarness([s], { window: WINDOW, config: config('summarize') });
    const r = await h.agent.send({ text: words(5000, 'huge') });
    assert.match(r.text, /^echo: huge/);
    assert.ok(promptTokens(s.requests.at(-1)!.body) <= WINDOW, `prompt ${promptTokens(s.requests.at(-1)!.body)}`);
    assert.equal(h.events.filter((e) => e.kind === 'compaction').length, 1);
  } finally {
    await s.close();
  }
});

// 5,000 turns with truncate; move_to_workspace does the same bookkeeping plus a file append, 1,000 keep the suite quick.
for (const [strategy, turns] of [['truncate', 5000], ['move_to_workspace', 1000]] as const) {
  test(`a ${turns.toLocaleString('en')}-turn session (${strategy}) never exceeds the window`, async () => {
    let maxSeen = 0;
    const s = await startLlmServer('openai', {
      fallback: (req) => {
        const n = promptTokens(req.body);
        maxSeen = Math.max(maxSeen, n);
        // The server enforces the window like a real provider would.
        return n > WINDOW ? { kind: 'status', status: 400, message: `maximum context length is ${WINDOW} tokens, got ${n}`, code: 'context_length_exceeded' }
          : { kind: 'reply', reply: { text: `ok ${req.body.messages.length}`, chunk_size: 64 } };
      },
    });
    try {
      const h = makeHarness([s], { window: WINDOW, config: config(strategy, { keep_last_turns: 8 }) });
      for (let i = 0; i < turns; i++) {
        await h.agent.send({ text: `turn ${i}: ${'some words '.repeat(i % 7)}` });
        if (s.requests.length > 100) s.requests.length = 0; // keep memory flat
      }
      assert.ok(maxSeen <= WINDOW * 0.75, `largest prompt ${maxSeen} tokens`);
      assert.equal(h.events.filter((e) => e.kind === 'error').length, 0);
      const info = h.agent.sessionInfo('main');
      assert.equal(info.turns, turns);
      assert.ok(info.compactions > 10);
      assert.ok(info.tokens <= WINDOW * 0.75, `context now ${info.tokens} tokens`);
    } finally {
      await s.close();
    }
  });
}
