/**
 * `rustyclaw usage [--json] [--by provider,model,agent,purpose] [--since DATE]`: LLM spend per serving provider.
 * `rustyclaw providers [--json]`: each chain entry's state (ok, cooldown, disabled, unconfigured) and why.
 */
import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';
import type { UsageGroupKey, UsageReply } from '../../../protocol/provider.js';
import { table } from '../table.js';

export interface UsageCliRuntime {
  ask: CliRuntime['ask'];
  close(): Promise<void>;
}

const KEYS: UsageGroupKey[] = ['provider', 'model', 'agent', 'purpose', 'day'];

export function usageTable(r: UsageReply): string {
  const fmt = (n: number) => `$${n.toFixed(n >= 1 ? 2 : 6)}`;
  const rows = r.rows.map((x) => [...r.group_by.map((g) => x.key[g] ?? '-'), x.requests, x.input_tokens, x.output_tokens, fmt(x.cost_usd)]);
  rows.push([...r.group_by.map((_, i) => (i === 0 ? 'total' : '')), r.total.requests, r.total.input_tokens, r.total.output_tokens, fmt(r.total.cost_usd)]);
  return table([...r.group_by, 'requests', 'input_tokens', 'output_tokens', 'cost_usd'], rows);
}

interface ProviderState { provider: string; model: string; state: string; failures: number; cooldown_until?: number; reason?: string }

export function providersTable(r: { providers: ProviderState[]; aliases: Record<string, string[]> }, now = Date.now()): string {
  const rows = r.providers.map((p) => [
    `${p.provider}/${p.model}`, p.state, p.failures,
    p.cooldown_until ? `${Math.max(0, Math.ceil((p.cooldown_until - now) / 1000))} s` : '-', p.reason ?? '',
  ]);
  const aliases = Object.entries(r.aliases).map(([a, chain]) => `${a}: ${chain.join(' → ')}`).join('\n');
  return `${table(['entry', 'state', 'failures', 'cooldown', 'reason'], rows)}\n\n${aliases}`;
}

export function register(program: Command, rt: UsageCliRuntime, io = { out: (s: string) => void process.stdout.write(s) }): void {
  program
    .command('providers')
    .description('LLM providers per model alias: ok, cooling down, disabled (401/403) or not configured, and why')
    .option('--json', 'print the reply as JSON')
    .action(async (o: { json?: boolean }) => {
      try {
        const r = await rt.ask('system/provider-router', 'provider.status', {});
        io.out(o.json ? `${JSON.stringify(r)}\n` : `${providersTable(r)}\n`);
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
