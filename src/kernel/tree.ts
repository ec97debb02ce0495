/**
 * The supervision tree as data. `defaultTree(config)` builds the service's tree from rustyclaw.yaml:
 *
 *   root (one_for_one)
 *   ├── system (one_for_one)      system/safety, system/embedder, system/memory, ...
 *   └── agents (one_for_one)
 *       └── agents/<id> (per-agent supervisor) ── agents/<id>   (the agent actor)
 *
 * With `kernel.placement: shared` the system actors share one thread and the agents another
 * (smaller footprint; a crash then restarts the whole group). With `edge` the tree runs in no more
 * threads than the device has cores: on one core, everything (system actors and agents) shares one
 * thread; on more, it is laid out like `shared`.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { RootConfig } from '../config/load.js';
import type { HostActorSpec } from './control.js';
import type { RestartType, Strategy } from './supervisor.js';

export interface WorkerNode {
  kind: 'worker';
  /** Thread name; also the routing node id. */
  id: string;
  actors: HostActorSpec[];
  restart?: RestartType;
  memoryLimitMb?: number;
  /** V8 young generation of this thread (MB); unset: `kernel.young_generation_mb`. */
  youngGenerationMb?: number;
  livenessDeadlineMs?: number;
  shutdownMs?: number;
}

export interface SupervisorNode {
  kind: 'supervisor';
  id: string;
  strategy?: Strategy;
  intensity?: number;
  periodMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  restart?: RestartType;
  children: TreeNode[];
}

export type TreeNode = WorkerNode | SupervisorNode;

/** Config section each system actor reads as its `ctx.config`. */
const CONFIG_SECTION: Record<string, string> = {
  'provider-router': 'providers',
  'tool-runner': 'tools',
};

export function actorModuleExists(name: string): boolean {
  return existsSync(new URL(`../../actors/${name}/index.js`, import.meta.url));
}

export interface AgentEntry {
  id: string;
  [k: string]: unknown;
}

export function configuredAgents(config: RootConfig): AgentEntry[] {
  const a = config.agents;
  if (Array.isArray(a)) return a as AgentEntry[];
  if (a && typeof a === 'object') {
    const list = (a as { list?: unknown }).list;
    if (Array.isArray(list)) return list as AgentEntry[];
    return Object.entries(a as Record<string, Record<string, unknown>>)
      .filter(([, v]) => v && typeof v === 'object' && !Array.isArray(v))
      .map(([id, v]) => ({ ...v, id }));
  }
  return [{ id: 'default' }];
}

/**
 * Built-in per-actor settings, under the user's `kernel.actors` overrides. The memory actor makes
 * long native calls (hnswlib reads and writes of large indexes): terminating a thread inside a
 * node-addon-api call can abort the whole process (nodejs/node-addon-api#902), so its liveness
 * deadline is generous; its own long loops yield to the event loop instead. The safety guard scans
 * megabytes of text per message, and the findings and pieces of each scan die young: with the
 * default 4 MB young generation most of its time went to minor GCs (docs/decisions.md, "Safety
 * thread's young generation").
 */
const BUILTIN: Record<string, { liveness_deadline_ms?: number; young_generation_mb?: number }> = {
  memory: { liveness_deadline_ms: 30_000 },
  safety: { young_generation_mb: 16 },
};

/** The built-in worker settings of system actor `name` (what the default tree gives its thread). */
export function builtinActorSettings(name: string): { liveness_deadline_ms?: number; young_generation_mb?: number } {
  return { ...BUILTIN[name] };
}

/**
 * Under `placement: edge`, system actors that only answer requests start on their first message
 * (`start: on_demand`): their imports (lmdb, hnswlib, wink, undici, ajv, ...) and setup are paid
 * when used, not at boot. The scheduler stays eager (its timers and topic subscriptions must run
 * from the start), and so does mcp (it connects its servers). Agents only answer requests too:
 * under edge they start on their first message as well (`kernel.actors.agent.start` overrides).
 */
const EDGE_ON_DEMAND = new Set(['safety', 'embedder', 'memory', 'provider-router', 'tool-runner']);

/**
 * Under `placement: dedicated`, system/mcp runs on system/safety's thread unless either names its
 * own `kernel.actors.<name>.thread`: every tool result passes safety.guard_tool_output before it
 * is returned, and on one thread that ask is an in-thread call instead of two thread hand-offs
 * (measured, docs/decisions.md "MCP tool-call latency (part g)"). The price: a crash of that
 * thread restarts both actors, under safety's worker settings.
 */
export function mcpJoinsSafety(config: RootConfig): boolean {
  const k = config.kernel;
  return k.placement === 'dedicated' && !k.actors.mcp?.thread && !k.actors.safety?.thread && k.actors.safety?.enabled !== false && k.system_actors.includes('safety');
}

/** A system actor alone on its thread, under its own worker settings. */
function ownWorker(spec: HostActorSpec, o: { restart?: RestartType; memory_limit_mb?: number; young_generation_mb?: number; liveness_deadline_ms?: number; shutdown_timeout_ms?: number }): WorkerNode {
  return { kind: 'worker', id: spec.path, actors: [spec], restart: o.restart, memoryLimitMb: o.memory_limit_mb, youngGenerationMb: o.young_generation_mb, livenessDeadlineMs: o.liveness_deadline_ms, shutdownMs: o.shutdown_timeout_ms };
}

/** A shared thread's young generation: the largest its actors ask for. */
function joinYoung(w: WorkerNode, mb: number | undefined): void {
  if (mb !== undefined) w.youngGenerationMb = Math.max(w.youngGenerationMb ?? 0, mb);
}

export function defaultTree(config: RootConfig, warn: (msg: string) => void = () => {}): SupervisorNode {
  const k = config.kernel;
  const oneThread = k.placement === 'edge' && availableParallelism() <= 1;
  const shared = k.placement === 'shared' || k.placement === 'edge';
  // A young generation the user set for every thread wins over the built-in per-actor ones.
  const builtin = (name: string) => (k.young_generation_mb === undefined ? BUILTIN[name] : { ...BUILTIN[name], young_generation_mb: undefined });
  const override = (name: string) => ({ ...builtin(name), ...k.actors[name] });

  const system: SupervisorNode = { kind: 'supervisor', id: 'system', strategy: k.supervisor.strategy ?? 'one_for_one', children: [] };
  const sharedGroups = new Map<string, WorkerNode>();
  // User-written actors (kernel.actors.<name>.module) run beside the built-in ones, supervised alike.
  const userActors = Object.entries(k.actors).filter(([n, o]) => o.module && !k.system_actors.includes(n)).map(([n]) => n);
  // system/mcp costs a thread only when a server is configured (edge devices): absent otherwise.
  const mcpServers = (config as { mcp?: { servers?: Record<string, unknown> } }).mcp?.servers ?? {};
  const optional = Object.keys(mcpServers).length > 0 && !k.system_actors.includes('mcp') ? ['mcp'] : [];
  const joinSafety = mcpJoinsSafety(config);
  let mcpSpec: HostActorSpec | undefined;
  for (const name of [...k.system_actors, ...optional, ...userActors]) {
    const o = override(name);
    if (o.enabled === false) continue;
    if (!o.module && !actorModuleExists(name)) {
      warn(`actor module '${name}' is not built (dist/actors/${name}/index.js); system/${name} is not started`);
      continue;
    }
    const spec: HostActorSpec = {
      path: `system/${name}`,
      module: o.module ?? name,
      config: config[CONFIG_SECTION[name] ?? name] ?? {},
      ...(o.on_crash ? { onCrash: o.on_crash } : {}),
      ...((o.start ?? (k.placement === 'edge' && EDGE_ON_DEMAND.has(name) && !o.module ? 'on_demand' : 'eager')) === 'on_demand' ? { onDemand: true } : {}),
    };
    if (name === 'mcp' && joinSafety) {
      mcpSpec = spec; // placed once safety's worker exists (system_actors may list mcp first)
      continue;
    }
    const group = o.thread ?? (shared ? 'system' : undefined);
    if (group) {
      let w = sharedGroups.get(group);
      if (!w) {
        w = { kind: 'worker', id: `thread/${group}`, actors: [], memoryLimitMb: o.memory_limit_mb };
        sharedGroups.set(group, w);
        system.children.push(w);
      }
      w.actors.push(spec);
      joinYoung(w, o.young_generation_mb);
      continue;
    }
    system.children.push(ownWorker(spec, o));
  }

  if (mcpSpec) {
    const safety = system.children.find((w): w is WorkerNode => w.kind === 'worker' && w.actors.some((a) => a.path === 'system/safety'));
    if (safety) {
      safety.actors.push(mcpSpec);
      joinYoung(safety, k.actors.mcp?.young_generation_mb);
    }
    else system.children.push(ownWorker(mcpSpec, override('mcp')));
  }

  const agents: SupervisorNode = { kind: 'supervisor', id: 'agents', strategy: 'one_for_one', children: [] };
  const systemThread = sharedGroups.get('system');
  if (override('agent').enabled === false) {
    // Agents switched off (a kernel-only service).
  } else if (actorModuleExists('agent')) {
    const o = override('agent');
    const list = configuredAgents(config);
    const agentSpec = (a: AgentEntry): HostActorSpec => ({
      path: `agents/${a.id}`,
      module: 'agent',
      config: a,
      ...((o.start ?? (k.placement === 'edge' ? 'on_demand' : 'eager')) === 'on_demand' ? { onDemand: true } : {}),
    });
    if (oneThread && systemThread && list.length > 0) {
      // One core: agents join the system thread (a crash there restarts the whole service tree).
      systemThread.actors.push(...list.map(agentSpec));
      joinYoung(systemThread, o.young_generation_mb);
      systemThread.id = 'thread/all';
    } else if (shared && list.length > 0) {
      agents.children.push({
        kind: 'worker',
        id: 'thread/agents',
        actors: list.map(agentSpec),
        memoryLimitMb: o.memory_limit_mb,
        youngGenerationMb: o.young_generation_mb,
      });
    } else {
      for (const a of list) {
        agents.children.push({
          kind: 'supervisor',
          id: `agents/${a.id}`,
          strategy: 'one_for_all',
          children: [
            {
              kind: 'worker',
              id: `agents/${a.id}`,
              actors: [agentSpec(a)],
              memoryLimitMb: o.memory_limit_mb,
              youngGenerationMb: o.young_generation_mb,
              livenessDeadlineMs: o.liveness_deadline_ms,
              shutdownMs: o.shutdown_timeout_ms,
            },
          ],
        });
      }
    }
  } else {
    warn("actor module 'agent' is not built; no agents are started");
  }
  return { kind: 'supervisor', id: 'root', strategy: 'one_for_one', children: [system, agents] };
}

/** How many worker threads `defaultTree(config)` runs (config checks use it before any start). */
export function threadCount(config: RootConfig): number {
  const k = config.kernel;
  const enabled = k.system_actors.filter((n) => k.actors[n]?.enabled !== false);
  const agents = k.actors.agent?.enabled === false ? 0 : configuredAgents(config).length;
  if (k.placement === 'edge') return Math.min(availableParallelism(), (enabled.length > 0 ? 1 : 0) + (agents > 0 ? 1 : 0));
  if (k.placement === 'shared') {
    const groups = new Set(enabled.map((n) => k.actors[n]?.thread ?? 'system'));
    return groups.size + (agents > 0 ? 1 : 0);
  }
  const joinSafety = mcpJoinsSafety(config);
  const groups = new Set(enabled.map((n) => k.actors[n]?.thread ?? (n === 'mcp' && joinSafety ? 'own:safety' : `own:${n}`)));
  return groups.size + agents;
}
