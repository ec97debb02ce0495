/**
 * The tool interface agents call tools through. Version 1.
 *
 * A tool has a name, a description, JSON-schema parameters (TypeBox schemas are JSON schema) and
 * `execute`. Built-in tools live in `actors/agent/tools.ts`; sandboxed runners (a later issue)
 * implement the same shape behind a message.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const TOOLS_PROTOCOL_VERSION = 1;

export interface ToolContext {
  /** The calling agent's id. */
  agent: string;
  session: string;
  /** The agent's workspace directory; file tools must stay inside it. */
  workspace: string;
  /** Aborted when the turn is cancelled or the tool times out. */
  signal: AbortSignal;
  /** Report progress (published as a `tool_progress` event). */
  progress(update: { message: string; fraction?: number }): void;
}

export interface Tool<A = any> {
  name: string;
  description: string;
  /** JSON schema of the arguments object. */
  parameters: TSchema | Record<string, unknown>;
  /** Returns the text the model sees; throw `ToolError` for a failure the model should see. */
  execute(args: A, ctx: ToolContext): Promise<string> | string;
}

/** A failure reported to the model as the tool's result (the turn goes on). */
export class ToolError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

export const ToolSpecSchema = Type.Object({
  name: Type.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$' }),
  description: Type.String(),
  parameters: Type.Record(Type.String(), Type.Unknown()),
});
export type ToolSpec = Static<typeof ToolSpecSchema>;

export const ToolResultSchema = Type.Object({
  ok: Type.Boolean(),
  /** What the model sees. */
  content: Type.String(),
  /** Error code when !ok: invalid_arguments | unknown_tool | tool_denied | tool_error | timeout | cancelled, or a sandboxed tool's code (TOOL_ERROR_CODES in protocol/tool-runner.ts). */
  code: Type.Optional(Type.String()),
  ms: Type.Number(),
});
export type ToolResult = Static<typeof ToolResultSchema>;
