/** `rustyclaw usage [--json] [--by provider,model,agent,purpose] [--since DATE]`: LLM spend per serving provider. */
import type { Command } from 'commander';
import type { UsageGroupKey, UsageReply } from '../../../protocol/provider.js';
import { table } from '../table.js';

export interface UsageCliRuntime {
  ask<R = any>(to: string, type: string, payload?: unknown, opts?: { timeoutMs?: number }): Promise<R>;
  close(): Promise<void>;
}

const KEYS: UsageGroupKey[] = ['provider', 'model', 'agent', 'purpose', 'day'];

export function usageTable(r: UsageReply): string {
  const fmt = (n: number) => `$${n.toFixed(n >= 1 ? 2 : 6)}`;
  const rows = r.rows.map((x) => [...r.group_by.map((g) => x.key[g] ?? '-'), x.requests, x.input_tokens, x.output_tokens, fmt(x.cost_usd)]);
  rows.push([...r.group_by.map((_, i) => (i === 0 ? 'total' : '')), r.total.requests, r.total.input_tokens, r.total.output_tokens, fmt(r.total.cost_usd)]);
  return table([...r.group_by, 'requests', 'input_tokens', 'output_tokens', 'cost_usd'], rows);
}

export function register(program: Command, rt: UsageCliRuntime, io = { out: (s: string) => void process.stdout.write(s) }): void {
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
        const r = await rt.ask<UsageReply>('system/provider-router', 'provider.usage', { group_by, ...(o.since ? { since: o.since } : {}) });
        if (o.json) io.out(`${JSON.stringify(r)}\n`);
        else if (!r.rows.length) io.out('no LLM usage recorded yet\n');
        else io.out(`${usageTable(r)}\n`);
      } finally {
        await rt.close();
      }
    });
}
