/** The router's opt-in stream trace (RUSTYCLAW_TRACE_STREAMS), read by the gateway bench. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

test('stream trace: one JSON line per request once it ends, receive times in epoch ms, in order', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-trace-'));
  const file = path.join(dir, 'streams.jsonl');
  process.env.RUSTYCLAW_TRACE_STREAMS = file;
  try {
    const { streamTrace } = await import('../../actors/provider-router/stream-trace.js');
    const before = Date.now();
    const t = streamTrace('r1:1');
    t.note('hel');
    t.note('lo');
    assert.throws(() => readFileSync(file), /ENOENT/, 'nothing is written while the stream runs');
    t.end();
    let text = '';
    for (let i = 0; i < 100 && !text; i++) {
      await new Promise((r) => setTimeout(r, 10));
      try { text = readFileSync(file, 'utf8'); } catch { /* not yet */ }
    }
    const line = JSON.parse(text.trim()) as { request_id: string; received: Array<[number, string]> };
    assert.equal(line.request_id, 'r1:1');
    assert.deepEqual(line.received.map(([, s]) => s), ['hel', 'lo']);
    const [a, b] = line.received.map(([at]) => at);
    assert.ok(a! >= before - 1 && a! <= Date.now() + 1 && b! >= a!, `epoch ms in order: ${a}, ${b}`);
  } finally {
    delete process.env.RUSTYCLAW_TRACE_STREAMS;
    rmSync(dir, { recursive: true, force: true });
  }
});
