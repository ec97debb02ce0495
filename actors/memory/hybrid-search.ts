/**
 * The ranking half of a search, apart from storage: metadata filters as a label predicate, and the
 * final ranking of each mode (bm25, vector, or both fused by weighted RRF).
 */
import path from 'node:path';
import type { ScoredLabel } from './bm25-index.js';
import { rrfFuse } from './rrf.js';

export type SearchMode = 'hybrid' | 'bm25' | 'vector';

export interface SearchFilters {
  source?: string | string[];
  agent?: string;
  path_prefix?: string;
  /** Epoch ms or ISO date: only documents dated at or after. */
  since?: number | string;
  until?: number | string;
}

/** What a filter looks at, per document. */
export interface FilterableDoc {
  source: string;
  agent?: string;
  path?: string;
  time: number;
}

export class FilterError extends Error {
  readonly code = 'invalid_query';
}

function toMs(v: number | string, name: string): number {
  const n = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(n)) throw new FilterError(`filter ${name} '${v}' is not a date (epoch ms or ISO 8601)`);
  return n;
}

/** A label predicate for the filters (undefined when nothing filters); results cached per document. */
export function buildFilter(f: SearchFilters | undefined, docOf: (label: number) => FilterableDoc | undefined): ((label: number) => boolean) | undefined {
  if (!f) return undefined;
  const sources = f.source === undefined ? null : new Set(Array.isArray(f.source) ? f.source : [f.source]);
  const since = f.since === undefined ? null : toMs(f.since, 'since');
  const until = f.until === undefined ? null : toMs(f.until, 'until');
  const prefix = f.path_prefix ? path.resolve(f.path_prefix) : null;
  if (!sources && !f.agent && since === null && until === null && !prefix) return undefined;
  const ok = new Map<FilterableDoc, boolean>();
  return (label: number) => {
    const d = docOf(label);
    if (!d) return false;
    let r = ok.get(d);
    if (r === undefined) {
      r =
        (!sources || sources.has(d.source)) &&
        (!f.agent || d.agent === f.agent) &&
        (since === null || d.time >= since) &&
        (until === null || d.time <= until) &&
        (!prefix || (!!d.path && (d.path === prefix || d.path.startsWith(prefix + path.sep))));
      ok.set(d, r);
    }
    return r;
  };
}

export interface Ranked {
  label: number;
  score: number;
  ranks: { bm25?: number; vector?: number };
  rrf?: number;
}

/** Final top-k for a mode from each method's list (best first). */
export function rankResults(mode: SearchMode, bm: ScoredLabel[], vec: ScoredLabel[], k: number, opts: { rrfK: number; bm25Weight: number; vectorWeight: number }): Ranked[] {
  if (mode === 'hybrid') {
    return rrfFuse(
      [
        { name: 'bm25', weight: opts.bm25Weight, labels: bm.map((h) => h.label) },
        { name: 'vector', weight: opts.vectorWeight, labels: vec.map((h) => h.label) },
      ],
      opts.rrfK,
    )
      .slice(0, k)
      .map((f) => ({ label: f.label, score: f.score, ranks: f.ranks, rrf: f.score }));
  }
  const list = mode === 'bm25' ? bm : vec;
  return list.slice(0, k).map((h, i) => ({ label: h.label, score: h.score, ranks: { [mode]: i + 1 } }));
}
