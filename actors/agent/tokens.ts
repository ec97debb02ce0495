/**
 * Token counting for context budgeting (gpt-tokenizer, o200k_base — close enough for budgeting
 * across providers; the provider's own usage is what gets billed). Counts are cached per text so
 * a growing history is counted incrementally: only the newly added turn costs anything.
 */
import { countTokens } from '../../src/lib/token-count.js';
import type { ChatMessage, ToolSpec } from '../../protocol/provider.js';

/** Role markers and separators each message costs in chat formats. */
export const MESSAGE_OVERHEAD = 4;

export function messageTokens(m: ChatMessage): number {
  let n = MESSAGE_OVERHEAD + (m.content ? countTokens(m.content) : 0);
  for (const c of m.tool_calls ?? []) n += 3 + countTokens(c.name) + countTokens(c.arguments);
  // Reasoning kept with tool calls is sent back to the provider: it takes room in the window.
  if (m.reasoning?.text) n += countTokens(m.reasoning.text);
  return n;
}

/** Small LRU for texts that recur every step (system prompt, tool specs). */
export class TextTokenCache {
  private readonly map = new Map<string, number>();
  constructor(private readonly max = 64) {}
  count(text: string): number {
    const hit = this.map.get(text);
    if (hit !== undefined) {
      this.map.delete(text);
      this.map.set(text, hit);
      return hit;
    }
    const n = countTokens(text);
    this.map.set(text, n);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
    return n;
  }
}

export function toolSpecsText(tools: ToolSpec[]): string {
  return tools.length ? JSON.stringify(tools) : '';
}

/** Shorten `text` to about `maxTokens`, keeping its head and tail (the parts that usually matter). */
export function clipText(text: string, maxTokens: number): string {
  const total = countTokens(text);
  if (total <= maxTokens) return text;
  const keep = Math.max(0, maxTokens - 12);
  const ratio = text.length / Math.max(1, total);
  const chars = Math.floor(keep * ratio * 0.9);
  const head = text.slice(0, Math.ceil(chars * 0.6));
  const tail = chars - head.length > 0 ? text.slice(text.length - (chars - head.length)) : '';
  const out = `${head}\n[… ${total - keep} tokens clipped …]\n${tail}`;
  // The char ratio is an estimate: halve until it really fits (bounded, never loops).
  return countTokens(out) <= maxTokens || chars < 8 ? out : clipText(out.slice(0, Math.floor(out.length / 2)), maxTokens);
}
