/**
 * Regexes in the config are checked while it loads (src/lib/safe-regex.ts): a catastrophic
 * pattern stops `start` with its YAML path instead of crash-looping the actor that compiles it.
 */
import { compileSafeRegex, UnsafePatternError } from '../lib/safe-regex.js';
import { CUSTOM_PATTERN_LIMITS } from '../../protocol/safety.js';

export interface PatternProblem {
  path: string[];
  message: string;
}

export function patternProblems(cfg: Record<string, unknown>): PatternProblem[] {
  const out: PatternProblem[] = [];
  const rules = (cfg.safety as { custom_rules?: Array<{ pattern?: unknown; flags?: unknown }> } | undefined)?.custom_rules ?? [];
  rules.forEach((r, i) => {
    const path = ['safety', 'custom_rules', String(i), 'pattern'];
    try {
      compileSafeRegex(r.pattern, r.flags, { path: path.join('.'), ...CUSTOM_PATTERN_LIMITS });
    } catch (e) {
      if (!(e instanceof UnsafePatternError)) throw e;
      out.push({ path, message: e.message });
    }
  });
  return out;
}
