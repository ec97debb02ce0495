/** Where system/mcp runs: on system/safety's thread under `placement: dedicated` unless a thread is named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTree, threadCount, type TreeNode, type WorkerNode } from '../../src/kernel/tree.js';
import { validateConfig } from '../../src/config/load.js';

const SERVERS = { mcp: { servers: { every: { transport: 'stdio', command: 'node', args: ['server.js'] } } } };

function workers(n: TreeNode, out: WorkerNode[] = []): WorkerNode[] {
  if (n.kind === 'worker') out.push(n);
  else for (const c of n.children) workers(c, out);
  return out;
}

/** The worker hosting `path`. */
function hostOf(tree: TreeNode, path: string): WorkerNode {
  const w = workers(tree).find((x) => x.actors.some((a) => a.path === path));
  assert.ok(w, `${path} is in the tree`);
  return w;
}

const cfg = (kernel: Record<string, unknown> = {}) => validateConfig({ data_dir: '/tmp/rc-place', ...SERVERS, kernel: { actors: { agent: { enabled: false } }, ...kernel } });

test('under placement dedicated, mcp shares safety\'s worker (the guard ask is in-thread), and threadCount agrees', () => {
  const c = cfg();
  const tree = defaultTree(c);
  const w = hostOf(tree, 'system/mcp');
  assert.equal(w, hostOf(tree, 'system/safety'));
  assert.deepEqual(w.actors.map((a) => a.path), ['system/safety', 'system/mcp'], 'safety is set up first');
  const listed = cfg({ system_actors: ['mcp', 'safety'], actors: { agent: { enabled: false } } });
  const lt = defaultTree(listed);
  assert.equal(hostOf(lt, 'system/mcp'), hostOf(lt, 'system/safety'), 'mcp listed before safety still joins it');
  assert.equal(threadCount(listed), workers(defaultTree(listed)).length);
});

test('a named thread, another placement, or no safety actor keeps mcp off safety\'s worker', () => {
  const own = defaultTree(cfg({ actors: { agent: { enabled: false }, mcp: { thread: 'mcp' } } }));
  assert.equal(hostOf(own, 'system/mcp').id, 'thread/mcp');
  assert.equal(hostOf(own, 'system/safety').id, 'system/safety');
  const safetyNamed = defaultTree(cfg({ actors: { agent: { enabled: false }, safety: { thread: 'guard' } } }));
  assert.equal(hostOf(safetyNamed, 'system/mcp').id, 'system/mcp');
  const shared = defaultTree(cfg({ placement: 'shared' }));
  assert.equal(hostOf(shared, 'system/mcp').id, 'thread/system');
  const noSafety = defaultTree(cfg({ actors: { agent: { enabled: false }, safety: { enabled: false }, mcp: { liveness_deadline_ms: 9_000 } } }));
  const alone = hostOf(noSafety, 'system/mcp');
  assert.deepEqual([alone.id, alone.actors.length, alone.livenessDeadlineMs], ['system/mcp', 1, 9_000]);
  const withMcp = cfg({ system_actors: ['safety', 'mcp'], actors: { agent: { enabled: false }, mcp: { thread: 'mcp' } } });
  assert.equal(threadCount(withMcp), workers(defaultTree(withMcp)).length);
});
