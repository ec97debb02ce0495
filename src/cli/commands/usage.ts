/**
 * `rustyclaw usage [--json] [--by provider,model,agent,purpose] [--since DATE]`: LLM spend per serving provider.
 * `rustyclaw providers [--json]`: each chain entry's state (ok, cooldown, disabled, unconfigured), the
 * error class behind it and why (cooldowns and disables persist across restarts and one-shot runs).
 */
import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';
import type { UsageGroupKey, UsageReply } from '../../../protocol/provider.js';
import { table } from '../table.js';
import type { EndpointInfo } from '../../client/index.js';
import type { RootConfig } from '../../config/load.js';
import { envDrift } from '../service-env.js';

export interface UsageCliRuntime {
  ask: CliRuntime['ask'];
  close(): Promise<void>;
  config?(): RootConfig;
  service?(): Promise<EndpointInfo | null>;
}

/** Which variables the running service saw at start (values of secrets never leave it), and drift from this shell. */
export function serviceEnvText(info: EndpointInfo | null, notes: string[]): string {
  if (!info) return 'in-process tree: provider variables are read from this shell\n';
  const env = info.env ?? {};
  const vars = Object.entries(env).map(([k, v]) => `  ${k}=${v}`);
  let out = `the service (pid ${info.pid}${info.started_at ? `, started ${info.started_at}` : ''}) was started with ${vars.length ? `these variables:\n${vars.join('\n')}` : 'no RustyClaw or provider variables set'}\n`;
  for (const n of notes) out += `note: ${n}; the service reads provider variables when it starts, so restart it with them set\n`;
  return out;
}

const KEYS: UsageGroupKey[] = ['provider', 'model', 'agent', 'purpose', 'day', 'status'];

export function usageTable(r: UsageReply): string {
  const fmt = (n: number) => `$${n.toFixed(n >= 1 ? 2 : 6)}`;
  const rows = r.rows.map((x) => [...r.group_by.map((g) => x.key[g] ?? '-'), x.requests, x.input_tokens, x.output_tokens, fmt(x.cost_usd)]);
  rows.push([...r.group_by.map((_, i) => (i === 0 ? 'total' : '')), r.total.requests, r.total.input_tokens, r.total.output_tokens, fmt(r.total.cost_usd)]);
  return table([...r.group_by, 'requests', 'input_tokens', 'output_tokens', 'cost_usd'], rows);
}

interface ProviderState { provider: string; model: string; state: string; failures: number; cooldown_until?: number; reason?: string; kind?: string }

export function providersTable(r: { providers: ProviderState[]; aliases: Record<string, string[]> }, now = Date.now()): string {
  const rows = r.providers.map((p) => [
    `${p.provider}/${p.model}`, p.state, p.failures,
    p.cooldown_until ? `${Math.max(0, Math.ceil((p.cooldown_until - now) / 1000))} s` : '-', p.kind ?? '-', p.reason ?? '',
  ]);
  const aliases = Object.entries(r.aliases).map(([a, chain]) => `${a}: ${chain.join(' → ')}`).join('\n');
  // `class`: the error class behind a cooldown/disable (docs/providers.md), e.g. quota, rate_limited, auth.
  return `${table(['entry', 'state', 'failures', 'cooldown', 'class', 'reason'], rows)}\n\n${aliases}`;
}

export function register(program: Command, rt: UsageCliRuntime, io = { out: (s: string) => void process.stdout.write(s) }): void {
  program
    .command('providers')
    .description('LLM providers per model alias: ok, cooling down, disabled (401/403) or not configured, and why')
    .option('--json', 'print the reply as JSON')
    .action(async (o: { json?: boolean }) => {
      try {
        const r = await rt.ask('system/provider-router', 'provider.status', {});
        const info = rt.service ? await rt.service() : null;
        const notes = info && rt.config ? envDrift(rt.config(), info.env) : [];
        if (o.json) io.out(`${JSON.stringify({ ...r, service_env: info?.env ?? null, env_notes: notes })}\n`);
        else io.out(`${providersTable(r)}\n\n${serviceEnvText(info, notes)}`);
      } finally {
        await rt.close();
      }
    });

  program
    .command('usage')
    .description('LLM usage and cost per serving provider, model, agent and purpose (heartbeats separate)')
    .option('--by <keys>', `group by these, comma-separated (${KEYS.join('|')})`, 'provider,model,agent,purpose')
    .option('--since <date>', 'only from this day on (YYYY-MM-DD)')
    .option('--json', 'print the reply as JSON')
    .action(async (o: { by: string; since?: string; json?: boolean }) => {
      try {
        const group_by = o.by.split(',').map((s) => s.trim()).filter(Boolean) as UsageGroupKey[];
        const bad = group_by.filter((g) => !KEYS.includes(g));
        if (bad.length) throw new Error(`--by: unknown key(s) ${bad.join(', ')} (use ${KEYS.join(', ')})`);
        if (o.since && Number.isNaN(Date.parse(o.since))) throw new Error(`--since: not a date: '${o.since}'`);
        const r = await rt.ask('system/provider-router', 'provider.usage', { group_by, ...(o.since ? { since: o.since } : {}) });
        if (o.json) io.out(`${JSON.stringify(r)}\n`);
        else if (!r.rows.length) io.out('no LLM usage recorded yet\n');
        else io.out(`${usageTable(r)}\n`);
      } finally {
        await rt.close();
      }
    });
}
