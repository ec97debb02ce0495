/**
 * Usage and cost accounting per *serving* provider. Tokens come from the response's usage when it
 * has one, else they are counted locally (gpt-tokenizer, o200k). Aggregates are kept per day ×
 * provider × model × agent × purpose, so `provider.usage` stays cheap however many requests ran.
 */
import { countTokens } from '../../src/lib/token-count.js';
import type { ActorStore } from '../../src/kernel/actor.js';
import type { ChatMessage, UsageGroupKey, UsageReply, UsageRow } from '../../protocol/provider.js';

export type PriceTable = Record<string, { input_per_mtok: number; output_per_mtok: number }>;

export function costUsd(prices: PriceTable, model: string, input: number, output: number): number {
  const p = prices[model] ?? prices[model.replace(/-\d{4}-\d{2}-\d{2}$/, '')] ?? prices['*'];
  if (!p) return 0;
  return (input * p.input_per_mtok + output * p.output_per_mtok) / 1e6;
}

/** Rough per-message framing overhead of chat formats (role markers etc.). */
const MESSAGE_OVERHEAD = 4;

export function countMessageTokens(m: ChatMessage): number {
  let n = MESSAGE_OVERHEAD + (m.content ? countTokens(m.content) : 0);
  for (const c of m.tool_calls ?? []) n += countTokens(c.name) + countTokens(c.arguments) + 3;
  if (m.reasoning?.text) n += countTokens(m.reasoning.text);
  return n;
}

export function countPromptTokens(messages: ChatMessage[]): number {
  let n = 3;
  for (const m of messages) n += countMessageTokens(m);
  return n;
}

export interface UsageRecord {
  provider: string;
  model: string;
  agent: string;
  purpose: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  at: number;
  /** `failed`: billed tokens of a stream that broke after it began (default `ok`). */
  status?: 'ok' | 'failed';
}

interface Agg { requests: number; input_tokens: number; output_tokens: number; cost_usd: number }

const SEP = '\u001f';
const PREFIX = 'usage/';

function day(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

export class UsageLedger {
  private readonly aggs = new Map<string, Agg>();

  constructor(private readonly store: ActorStore | undefined, retentionDays = 0, now = Date.now()) {
    if (!store) return;
    const cutoff = retentionDays > 0 ? day(now - retentionDays * 86_400_000) : '';
    const stale: string[] = [];
    for (const { key, value } of store.entries<Agg>({ prefix: PREFIX })) {
      const k = key.slice(PREFIX.length);
      if (cutoff && k.split(SEP)[0] < cutoff) stale.push(key);
      else this.aggs.set(k, value);
    }
    if (stale.length) void store.batch(stale.map((key) => ({ key, remove: true })));
  }

  async record(r: UsageRecord): Promise<void> {
    // Successful records keep the original 5-part key (stored ledgers stay readable).
    const k = [day(r.at), r.provider, r.model, r.agent, r.purpose, ...(r.status === 'failed' ? ['failed'] : [])].join(SEP);
    const a = this.aggs.get(k) ?? { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
    a.requests += 1;
    a.input_tokens += r.input_tokens;
    a.output_tokens += r.output_tokens;
    a.cost_usd += r.cost_usd;
    this.aggs.set(k, a);
    await this.store?.put(PREFIX + k, a);
  }

  report(groupBy: UsageGroupKey[] = ['provider', 'model', 'agent', 'purpose'], since?: string | number): UsageReply {
    const sinceDay = since === undefined ? '' : day(typeof since === 'number' ? since : Date.parse(since));
    const rows = new Map<string, UsageRow>();
    const total: UsageRow = { key: {}, requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
    for (const [k, a] of this.aggs) {
      const [d, provider, model, agent, purpose, status = 'ok'] = k.split(SEP);
      if (sinceDay && d < sinceDay) continue;
      const fields: Record<UsageGroupKey, string> = { day: d, provider, model, agent, purpose, status };
      const key: Record<string, string> = {};
      for (const g of groupBy) key[g] = fields[g];
      const rk = groupBy.map((g) => fields[g]).join(SEP);
      const row = rows.get(rk) ?? { key, requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
      for (const r of [row, total]) {
        r.requests += a.requests;
        r.input_tokens += a.input_tokens;
        r.output_tokens += a.output_tokens;
        r.cost_usd += a.cost_usd;
      }
      rows.set(rk, row);
    }
    const sorted = [...rows.values()].sort((x, y) => y.cost_usd - x.cost_usd || y.requests - x.requests);
    return { group_by: groupBy, rows: sorted, total };
  }
}
