/**
 * Finish reasons of every wire format mapped onto the router's normalised set
 * (`protocol/provider.ts` FinishReason). Unknown values become `stop` and are kept raw on the result.
 */
import type { FinishReason } from '../../protocol/provider.js';

const MAP: Readonly<Record<string, FinishReason>> = {
  // OpenAI Chat Completions and compatibles (vLLM, SGLang, llama.cpp, OpenRouter, DeepSeek)
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
  refusal: 'refusal',
  error: 'error',
  // Anthropic stop_reason
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  // Ollama done_reason
  load: 'stop',
  unload: 'stop',
};

export function normaliseFinish(raw: string | undefined | null): FinishReason {
  if (!raw) return 'stop';
  return MAP[raw] ?? MAP[raw.toLowerCase()] ?? 'stop';
}
