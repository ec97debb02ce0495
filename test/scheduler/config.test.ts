import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { resolveSchedulerConfig } from '../../actors/scheduler/config.js';

const YAML = fileURLToPath(new URL('../../../rustyclaw.yaml', import.meta.url));

test('the scheduler section of rustyclaw.yaml is valid and documents exactly the defaults', () => {
  const doc = parse(readFileSync(YAML, 'utf8')) as { scheduler: unknown };
  assert.deepEqual(resolveSchedulerConfig(doc.scheduler), resolveSchedulerConfig({}));
  // Every option is spelled out in the file.
  assert.deepEqual(Object.keys(doc.scheduler as object).sort(), Object.keys(resolveSchedulerConfig({})).sort());
});

test('bad scheduler config names the field', () => {
  assert.throws(() => resolveSchedulerConfig({ max_parallel: 0 }), /scheduler config\.max_parallel: /);
  assert.throws(() => resolveSchedulerConfig({ webhook: { body_limit: 'x' } }), /scheduler config\.webhook\.body_limit: /);
  assert.throws(() => resolveSchedulerConfig({ heartbeat: { intervall_ms: 5 } }), /scheduler config\.heartbeat\.intervall_ms: /);
});
