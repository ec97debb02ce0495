/**
 * What each actor can do right now, beside its health: the embedder's provider and model (or why it
 * has none), the provider router's usable providers, the scheduler's webhook endpoint, memory's size,
 * safety's counters. One short line per actor for `status`; the full replies for `status --json`.
 */
import type { EmbedderInfoReply } from '../../protocol/embedder.js';
import type { MemoryStatsReply } from '../../protocol/memory.js';
import type { StatsReply as SafetyStats } from '../../protocol/safety.js';

/** Probes are looked up by path, so their replies are checked by each probe's line() parameter type. */
type Ask = (to: string, type: string, payload: unknown, opts?: { timeoutMs?: number }) => Promise<unknown>;

interface Probe {
  type: string;
  line(reply: any): string;
}

function embedderLine(r: EmbedderInfoReply): string {
  const failed = r.failed.map((f) => `${f.provider} failed: ${f.code}: ${f.message}`).join('; ');
  if (r.provider === 'loading') return 'loading its provider (first use may download the model)';
  if (r.provider === 'none' || !r.ready) {
    return `no provider${failed ? ` (${failed})` : ''} — set embedder.local.model_path to a local copy, or embedder.embedding_provider`;
  }
  return `${r.provider} ${r.model ?? '?'} (${r.dim ?? '?'}-d) loaded${failed ? `; ${failed}` : ''}`;
}

const PROBES: Record<string, Probe> = {
  'system/embedder': { type: 'embedder.info', line: embedderLine },
  'system/provider-router': {
    type: 'provider.status',
    line: (r: { providers: Array<{ provider: string; state: string }> }) => {
      const ok = [...new Set(r.providers.filter((p) => p.state === 'ok').map((p) => p.provider))];
      const all = new Set(r.providers.map((p) => p.provider));
      return ok.length ? `${ok.length} of ${all.size} providers usable (${ok.join(', ')})` : 'no usable LLM provider (rustyclaw providers says why)';
    },
  },
  'system/scheduler': {
    type: 'scheduler.stats',
    line: (r: { routines: number; running: number; queued: number; webhook?: { url: string }; webhook_error?: string }) =>
      `${r.routines} routines, ${r.running} running, ${r.queued} queued; webhooks ${r.webhook ? r.webhook.url : r.webhook_error ? `DOWN (${r.webhook_error})` : 'off'}`,
  },
  'system/memory': { type: 'memory.stats', line: (r: MemoryStatsReply) => `${r.docs} docs, ${r.chunks} chunks${r.model ? `, vectors by ${r.model}` : ', no vectors'}` },
  'system/safety': {
    type: 'safety.stats',
    line: (r: SafetyStats) => `${Object.values(r.scans).reduce((a, b) => a + b, 0)} scans, ${Math.round(r.bytes / 1024)} KB since ${r.since}`,
  },
};

export interface Capability { line: string; detail?: unknown }

/** Ask every running actor that has a probe, in parallel; an actor that does not answer says so. */
export async function capabilities(ask: Ask, actors: Array<{ path: string; state: string }>, timeoutMs = 5000): Promise<Record<string, Capability>> {
  const out: Record<string, Capability> = {};
  await Promise.all(
    actors.map(async (a) => {
      const probe = PROBES[a.path];
      if (!probe) return;
      if (a.state !== 'running') {
        out[a.path] = { line: `(${a.state})` };
        return;
      }
      try {
        const r = await ask(a.path, probe.type, {}, { timeoutMs });
        out[a.path] = { line: probe.line(r), detail: r };
      } catch (e) {
        const x = e as { code?: string; message?: string };
        out[a.path] = { line: `no answer to ${probe.type}: ${x.code ? `${x.code}: ` : ''}${x.message ?? String(e)}` };
      }
    }),
  );
  return out;
}
