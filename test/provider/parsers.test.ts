import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SSE_LINE, SseParser } from '../../actors/provider-router/sse.js';
import { NdjsonError, NdjsonParser } from '../../actors/provider-router/ndjson.js';
import { classifyStatus, parseRetryAfter, looksLikeContextLength } from '../../actors/provider-router/errors.js';

test('SSE: events split across arbitrary byte boundaries, CRLF, comments, multi-line data', () => {
  const wire = ': comment\r\nevent: a\r\ndata: {"x":1}\r\n\r\ndata: line1\ndata: line2\n\nevent: b\ndata: [DONE]\n\n';
  const bytes = new TextEncoder().encode(wire);
  for (const step of [1, 2, 3, 7, bytes.length]) {
    const p = new SseParser();
    const evs = [];
    for (let i = 0; i < bytes.length; i += step) evs.push(...p.push(bytes.slice(i, i + step)));
    evs.push(...p.end());
    assert.deepEqual(evs.map((e) => [e.event, e.data]), [['a', '{"x":1}'], ['message', 'line1\nline2'], ['b', '[DONE]']], `step ${step}`);
  }
});

test('SSE: a multi-byte UTF-8 character split between chunks survives', () => {
  const bytes = new TextEncoder().encode('data: héllo ✓\n\n');
  const p = new SseParser();
  const evs = [...p.push(bytes.slice(0, 8)), ...p.push(bytes.slice(8, 15)), ...p.push(bytes.slice(15))];
  assert.equal(evs[0].data, 'héllo ✓');
});

test('SSE: a final event without its blank line is dispatched at end()', () => {
  const p = new SseParser();
  assert.deepEqual(p.push('data: tail'), []);
  assert.equal(p.end()[0].data, 'tail');
});

test('SSE: with a callback, each event is delivered as soon as it is parsed, before the rest of the read', () => {
  // A burst read (a fast server writing flat out) holds many events: the first must not wait for
  // the others to be split. The callback stops the parse by throwing at the first event; the lines
  // after it are still in the parser (not parsed, not lost) and come out of the next push.
  const p = new SseParser();
  const seen: string[] = [];
  const stop = new Error('stop at the first');
  assert.throws(() => p.push('data: one\n\ndata: two\n\ndata: three\n\n', (ev) => {
    seen.push(ev.data);
    if (ev.data === 'one') throw stop;
  }), (e: unknown) => e === stop);
  assert.deepEqual(seen, ['one']);
  assert.deepEqual(p.push('data: four\n\n', (ev) => seen.push(ev.data)), [], 'events go to the callback, none are returned');
  assert.deepEqual(seen, ['one', 'two', 'three', 'four']);
  // An event before a line that is bad (too long) is still delivered before the parser complains.
  const q = new SseParser();
  const got: string[] = [];
  assert.throws(() => q.push(`data: first\n\n${'x'.repeat(MAX_SSE_LINE + 1)}`, (ev) => got.push(ev.data)), /longer than/);
  assert.deepEqual(got, ['first']);
});

test('NDJSON: objects across chunks; a malformed line names its line number', () => {
  const p = new NdjsonParser();
  assert.deepEqual(p.push('{"a":1}\n{"b"'), [{ a: 1 }]);
  assert.deepEqual(p.push(':2}\n\n'), [{ b: 2 }]);
  assert.throws(() => p.push('{"c":\n'), (e: unknown) => e instanceof NdjsonError && /line 4/.test((e as Error).message));
});

test('Retry-After: seconds and HTTP date', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('garbage'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test('status classification', () => {
  assert.equal(classifyStatus('p', 429, 'slow down').kind, 'rate_limited');
  for (const s of [500, 502, 503, 504]) assert.equal(classifyStatus('p', s, '').kind, 'server');
  assert.equal(classifyStatus('p', 529, 'Overloaded').kind, 'overloaded');
  assert.equal(classifyStatus('p', 400, 'bad').kind, 'bad_request');
  assert.equal(classifyStatus('p', 404, 'no model').kind, 'not_found');
  assert.equal(classifyStatus('p', 401, '').kind, 'auth');
  assert.equal(classifyStatus('p', 403, '').kind, 'auth');
  assert.equal(classifyStatus('p', 400, "This model's maximum context length is 8192 tokens").kind, 'context_length');
  assert.equal(classifyStatus('p', 400, 'prompt is too long: 210000 tokens > 200000 maximum').kind, 'context_length');
  assert.ok(looksLikeContextLength('x', 'context_length_exceeded'));
});
