/** Resolve an agent's config entry (from the `agents:` section) with defaults and its workspace. */
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { AgentConfigSchema, type AgentConfig } from '../../protocol/agent.js';

export function resolveAgentConfig(raw: unknown, actorPath: string): AgentConfig {
  const idFromPath = actorPath.split('/').pop() || 'default';
  const input = { ...(raw && typeof raw === 'object' ? raw : {}) } as Record<string, unknown>;
  if (!input.id) input.id = idFromPath;
  const cfg = Value.Default(AgentConfigSchema, structuredClone(input)) as AgentConfig;
  const first = Value.Errors(AgentConfigSchema, cfg).First();
  if (first) throw new Error(`agents[${idFromPath}]${first.path.replace(/\//g, '.')}: ${first.message}`);
  if (cfg.compaction.target >= cfg.compaction.threshold) {
    throw new Error(`agents[${cfg.id}].compaction.target (${cfg.compaction.target}) must be below threshold (${cfg.compaction.threshold})`);
  }
  return cfg;
}

export function workspaceDir(cfg: AgentConfig, dataDir: string): string {
  return cfg.workspace ? path.resolve(cfg.workspace) : path.join(dataDir, 'workspaces', cfg.id);
}

/** Context window of a model alias from the root config (`models.<alias>.context_window`). */
export function windowFromRoot(root: Readonly<Record<string, any>>, alias: string): number {
  const m = root?.models?.[alias];
  const n = Number(m?.context_window);
  if (Number.isFinite(n) && n > 0) return n;
  const d = Number(root?.models?.default?.context_window);
  return Number.isFinite(d) && d > 0 ? d : 128000;
}
