import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knobsInEffect, renderHtml, renderTable } from '../../bench/lib/report.js';

const row = {
  set: { batch: '16' },
  out: {
    knobs: { batch: 16, mailbox: 1024, window: 256 },
    results: { rustyclaw: { calls_per_s: 120000, rtt_p50_us: 38.1 }, raw: { calls_per_s: 70000, rtt_p50_us: 27.7 } },
    ratios: { calls_vs_raw: 1.71 },
    notes: ['3 runs, medians'],
  },
};

test('bench table: knobs in effect (those from --set marked), baselines as rows, metrics as columns, ratios', () => {
  const t = renderTable('ask', [row]);
  assert.match(t, /^ask {2}knobs: batch=16\* {2}mailbox=1024 {2}window=256 {3}\(\* set with --set\)/);
  assert.match(t, /implementation\s+calls_per_s\s+rtt_p50_us\n-+/);
  assert.match(t, /rustyclaw\s+120,000\s+38\.1\n/);
  assert.match(t, /raw \(baseline\)\s+70,000\s+27\.7/);
  assert.match(t, /calls_vs_raw\s+1\.71/);
  assert.match(t, /note: 3 runs, medians/);
  assert.deepEqual(knobsInEffect(row), { batch: '16', mailbox: 1024, window: 256 });
});

test('bench table: a scenario without knobs says its defaults apply', () => {
  const t = renderTable('memory', [{ set: {}, out: { results: { rustyclaw: { qps: 5 } } } }]);
  assert.match(t, /^memory {2}knobs: scenario defaults/);
});

test('bench HTML: the table and one chart per metric, escaped', () => {
  const h = renderHtml('a<b', [row], { date: '2026-12-01' });
  assert.match(h, /<title>rustyclaw bench: a&lt;b<\/title>/);
  assert.equal((h.match(/<svg /g) ?? []).length, 2);
  assert.match(h, /batch=16\*/);
});
