/** Internal types shared by the adapters, the failover chain and the router. */
import type { ChatMessage, FinishReason, Reasoning, ToolCall, ToolSpec } from '../../protocol/provider.js';

export interface AdapterRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  max_tokens?: number;
  temperature?: number;
}

export interface AdapterUsage {
  input_tokens: number;
  output_tokens: number;
  reasoning_tokens?: number;
}

export interface StreamSink {
  /** A text delta for the caller. */
  onText(text: string, provider?: string): void;
  /** Usage as the response reports it so far (so a stream that breaks later is still accounted). */
  onUsage?(usage: AdapterUsage): void;
  /** A reasoning delta (never shown unless asked). */
  onReasoning?(text: string): void;
}

export interface AdapterResult {
  text: string;
  tool_calls: ToolCall[];
  finish_reason: FinishReason;
  /** The provider's own finish/stop reason. */
  raw_finish_reason?: string;
  refusal?: string;
  reasoning?: Reasoning;
  /** From the response when it reports usage. */
  usage?: AdapterUsage;
}

export interface Timeouts {
  connect_timeout_ms: number;
  first_token_timeout_ms: number;
  idle_timeout_ms: number;
  request_timeout_ms: number;
}

/** A resolved, ready-to-call provider endpoint. */
export interface ResolvedProvider {
  id: string;
  type: 'openai' | 'anthropic' | 'ollama';
  base_url: string;
  api_key: string;
  /** Env variable the key comes from (for error messages; never the key itself). */
  api_key_env: string;
  /** '' when the server is to be asked (`model_from_server`) and has not answered yet. */
  default_model: string;
  /**
   * A self-hosted OpenAI-compatible server (llama.cpp, vLLM, LM Studio) with no model configured:
   * the router asks its `GET /models` on first use instead of guessing a hosted model's name.
   */
  model_from_server?: boolean;
  headers: Record<string, string>;
  /** Extra request body fields (config `body:`). */
  body: Record<string, unknown>;
  prices: Record<string, { input_per_mtok: number; output_per_mtok: number }>;
  /** Why the provider is not usable, when it isn't (e.g. a missing key). */
  unusable?: string;
  /** Stable digest of the settings (incl. the key) so a disable lasts until they change. */
  fingerprint: string;
}

export interface ProviderAdapter {
  readonly provider: ResolvedProvider;
  chat(req: AdapterRequest, sink: StreamSink, signal: AbortSignal): Promise<AdapterResult>;
  /** The model ids the server serves (`GET /models`), where the wire format has such a list. */
  serverModels?(signal: AbortSignal): Promise<string[]>;
  /** The model to ask for when the provider has none configured (learned from the server). */
  resolveModel?(signal: AbortSignal): Promise<string>;
}
