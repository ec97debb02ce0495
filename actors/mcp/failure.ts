/** A failure with one of the mcp error codes (protocol/mcp.ts `mcpErrors`). */
import type { McpErrorCode } from '../../protocol/mcp.js';

export class McpFailure extends Error {
  constructor(readonly code: McpErrorCode, message: string) {
    super(message);
    this.name = 'McpFailure';
  }
}
