/** Each thread's V8 young generation as the default tree lays it out (kernel.actors.<name>.young_generation_mb). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTree, type TreeNode, type WorkerNode } from '../../src/kernel/tree.js';
import { validateConfig, ConfigError } from '../../src/config/load.js';

function workers(n: TreeNode, out: WorkerNode[] = []): WorkerNode[] {
  if (n.kind === 'worker') out.push(n);
  else for (const c of n.children) workers(c, out);
  return out;
}
const hostOf = (tree: TreeNode, path: string) => workers(tree).find((w) => w.actors.some((a) => a.path === path))!;
const tree = (kernel: Record<string, unknown> = {}) => defaultTree(validateConfig({ data_dir: '/tmp/rc-young', kernel }));

test('the safety thread gets its larger built-in young generation; other threads the kernel default', () => {
  const t = tree();
  assert.equal(hostOf(t, 'system/safety').youngGenerationMb, 16);
  assert.equal(hostOf(t, 'system/memory').youngGenerationMb, undefined, 'unset: kernel.young_generation_mb applies');
  assert.equal(hostOf(t, 'agents/default').youngGenerationMb, undefined);
});

test('a shared thread takes the largest of its actors; a per-actor override wins over the built-in', () => {
  const shared = tree({ placement: 'shared' });
  assert.equal(hostOf(shared, 'system/memory'), hostOf(shared, 'system/safety'));
  assert.equal(hostOf(shared, 'system/safety').youngGenerationMb, 16);
  const own = tree({ placement: 'shared', actors: { safety: { young_generation_mb: 2 }, memory: { young_generation_mb: 8 } } });
  assert.equal(hostOf(own, 'system/safety').youngGenerationMb, 8);
  const agents = tree({ actors: { agent: { young_generation_mb: 12 } } });
  assert.equal(hostOf(agents, 'agents/default').youngGenerationMb, 12);
});

test('kernel.young_generation_mb set by the user applies to the safety thread too', () => {
  assert.equal(hostOf(tree({ young_generation_mb: 2 }), 'system/safety').youngGenerationMb, undefined);
  assert.equal(hostOf(tree({ young_generation_mb: 2, actors: { safety: { young_generation_mb: 32 } } }), 'system/safety').youngGenerationMb, 32);
});

test('an out-of-range per-actor young generation is refused, naming the option', () => {
  assert.throws(() => validateConfig({ data_dir: '/tmp/rc-young', kernel: { actors: { safety: { young_generation_mb: 0 } } } }), (e: Error) => e instanceof ConfigError && /kernel\.actors\.safety\.young_generation_mb/.test(e.message));
});
