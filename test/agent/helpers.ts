/** Agent tests run the real Agent loop against the real ProviderRouter on loopback servers, with the kernel's lmdb store. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Value } from '@sinclair/typebox/value';
import { AgentConfigSchema, type AgentConfig, type AgentEvent } from '../../protocol/agent.js';
import { Agent, type AgentServices } from '../../actors/agent/loop.js';
import { ProviderRouter } from '../../actors/provider-router/router.js';
import { actorStore } from '../../src/kernel/store.js';
import { providerEntry, type LlmServer } from '../support/llm-servers.js';
import { captureLog } from '../provider/helpers.js';

export interface Harness {
  agent: Agent;
  router: ProviderRouter;
  events: AgentEvent[];
  lines: Array<Record<string, any>>;
  dataDir: string;
  workspace: string;
  /** A fresh Agent over the same store (what a restart gives). */
  restart(): Agent;
}

export function makeHarness(servers: LlmServer[], opts: {
  config?: Partial<AgentConfig> & Record<string, unknown>;
  window?: number;
  dataDir?: string;
  providers?: Record<string, unknown>;
  services?: AgentServices;
  router?: Record<string, unknown>;
} = {}): Harness {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'rc-agent-'));
  const workspace = path.join(dataDir, 'workspaces', 'default');
  const providers: Record<string, unknown> = opts.providers ?? Object.fromEntries(servers.map((s, i) => [`p${i}`, providerEntry(s)]));
  const cap = captureLog();
  const router = new ProviderRouter({
    rootConfig: {
      providers,
      models: { default: { chain: Object.keys(providers), context_window: opts.window ?? 8000 } },
      provider_router: { cooldown_base_ms: 10, cooldown_max_ms: 50, max_retry_wait_ms: 0, first_token_timeout_ms: 2000, ...opts.router },
    },
    env: {},
    log: pino({ level: 'silent' }),
  });
  const config = Value.Default(AgentConfigSchema, structuredClone({ id: 'default', ...opts.config })) as AgentConfig;
  const events: AgentEvent[] = [];
  const store = actorStore(dataDir, 'agents/default');
  const build = () => new Agent({
    id: 'default', config, workspace, store, log: cap.log,
    windowFor: () => opts.window ?? 8000,
    llm: { chat: (req, onText, signal) => router.chat(req, onText, signal) },
    emit: (ev) => events.push(ev),
    ...(opts.services ? { services: opts.services } : {}),
  });
  return { agent: build(), router, events, lines: cap.lines, dataDir, workspace, restart: build };
}

/** The last message of a request, with Anthropic's tool_result blocks shown as a `tool` message. */
export function lastUser(body: any): any {
  const msgs: any[] = body?.messages ?? [];
  const last = msgs[msgs.length - 1];
  const block = Array.isArray(last?.content) ? last.content.find((b: any) => b?.type === 'tool_result') : undefined;
  return block ? { role: 'tool', content: block.content, tool_call_id: block.tool_use_id } : last;
}

// One definition for both suites.
export { rejection } from '../provider/helpers.js';
