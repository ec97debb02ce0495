/**
 * Weighted Reciprocal Rank Fusion (Cormack et al. 2009): score(d) = Σ_m w_m / (k + rank_m(d)),
 * ranks starting at 1. A document missing from a method's list contributes nothing for it.
 */
export interface RankedList {
  name: string;
  weight: number;
  /** Labels best first. */
  labels: number[];
}

export interface Fused {
  label: number;
  score: number;
  ranks: Record<string, number>;
}

export function rrfFuse(lists: RankedList[], k = 60): Fused[] {
  const byLabel = new Map<number, Fused>();
  for (const list of lists) {
    list.labels.forEach((label, i) => {
      let f = byLabel.get(label);
      if (!f) {
        f = { label, score: 0, ranks: {} };
        byLabel.set(label, f);
      }
      f.ranks[list.name] = i + 1;
      f.score += list.weight / (k + i + 1);
    });
  }
  return [...byLabel.values()].sort((a, b) => b.score - a.score || a.label - b.label);
}
