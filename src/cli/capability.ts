/**
 * What each actor can do right now, beside its health: the embedder's provider and model (or why it
 * has none), the provider router's usable providers, the scheduler's webhook endpoint, memory's size,
 * safety's counters. One short line per actor for `status`; the full replies for `status --json`.
 */
import type { EmbedderInfoReply } from '../../protocol/embedder.js';
import type { ReplyOf } from '../../protocol/define.js';
import type { BuiltinMessages } from '../../protocol/index.js';

type Ask = (to: string, type: string, payload: unknown, opts?: { timeoutMs?: number }) => Promise<unknown>;

interface Probe {
  type: keyof BuiltinMessages & string;
  line(reply: unknown): string;
}

/** A probe's line() takes the reply of its own message type (protocol/), checked here at compile time. */
function probe<K extends keyof BuiltinMessages & string>(type: K, line: (reply: ReplyOf<BuiltinMessages, K>) => string): Probe {
  return { type, line: (r) => line(r as ReplyOf<BuiltinMessages, K>) };
}

function embedderLine(r: EmbedderInfoReply): string {
  const failed = r.failed.map((f) => `${f.provider} failed: ${f.code}: ${f.message}`).join('; ');
  if (r.provider === 'loading') return 'loading its provider (first use may download the model)';
  if (r.provider === 'none' || !r.ready) {
    return `no provider${failed ? ` (${failed})` : ''} — set embedder.local.model_path to a local copy, or embedder.embedding_provider`;
  }
  const state = r.loaded === false ? 'on disk, loads on first use' : 'loaded';
  return `${r.provider} ${r.model ?? '?'} (${r.dim ?? '?'}-d) ${state}${failed ? `; ${failed}` : ''}`;
}

/** Size and model, then whatever makes answers partial: a rebuild in progress, quarantined files, an unusable index. */
function memoryLine(r: ReplyOf<BuiltinMessages, 'memory.stats'>): string {
  const parts = [`${r.docs} docs, ${r.chunks} chunks${r.model ? `, vectors by ${r.model}` : ', no vectors'}`];
  if (r.degraded) parts.push(`DEGRADED (${r.degraded.reason}: ${r.degraded.done}/${r.degraded.total}; searches answer from what is done)`);
  if (r.quarantined?.length) parts.push(`${r.quarantined.length} quarantined (rustyclaw memory stats lists them)`);
  if (r.model_mismatch) parts.push(`index holds ${r.model_mismatch.stored} vectors, embedder is ${r.model_mismatch.current} (rustyclaw memory reindex)`);
  if (r.error) parts.push(`ERROR ${r.error.code}: ${r.error.message}`);
  return parts.join('; ');
}

const PROBES: Record<string, Probe> = {
  'system/embedder': probe('embedder.info', embedderLine),
  'system/provider-router': probe('provider.status', (r) => {
    const ok = [...new Set(r.providers.filter((p) => p.state === 'ok').map((p) => p.provider))];
    const all = new Set(r.providers.map((p) => p.provider));
    return ok.length ? `${ok.length} of ${all.size} providers usable (${ok.join(', ')})` : 'no usable LLM provider (rustyclaw providers says why)';
  }),
  'system/scheduler': probe(
    'scheduler.stats',
    (r) => `${r.routines} routines, ${r.running} running, ${r.queued} queued; webhooks ${r.webhook ? r.webhook.url : r.webhook_error ? `DOWN (${r.webhook_error})` : 'off'}`,
  ),
  'system/memory': probe('memory.stats', memoryLine),
  'system/safety': probe('safety.stats', (r) => `${Object.values(r.scans).reduce((a, b) => a + b, 0)} scans, ${Math.round(r.bytes / 1024)} KB since ${r.since}`),
};

export interface Capability { line: string; detail?: unknown }

/** Ask every running actor that has a probe, in parallel; an actor that does not answer says so. */
export async function capabilities(ask: Ask, actors: Array<{ path: string; state: string }>, timeoutMs = 5000): Promise<Record<string, Capability>> {
  const out: Record<string, Capability> = {};
  await Promise.all(
    actors.map(async (a) => {
      const found = PROBES[a.path];
      if (!found) return;
      // An on-demand actor not set up yet is not woken by a probe (that would load it for a status line).
      if (a.state === 'on_demand') {
        out[a.path] = { line: 'not set up yet: starts on its first message' };
        return;
      }
      if (a.state !== 'running') {
        out[a.path] = { line: `(${a.state})` };
        return;
      }
      try {
        const r = await ask(a.path, found.type, {}, { timeoutMs });
        out[a.path] = { line: found.line(r), detail: r };
      } catch (e) {
        const x = e as { code?: string; message?: string };
        out[a.path] = { line: `no answer to ${found.type}: ${x.code ? `${x.code}: ` : ''}${x.message ?? String(e)}` };
      }
    }),
  );
  return out;
}
