/**
 * Registry of every message type with its request and reply schema (TypeBox), used to validate
 * messages that come from outside the process. Each subsystem defines its messages in
 * `protocol/<name>.ts`; this file collects them.
 */
import type { TSchema } from '@sinclair/typebox';
import { kernelMessages } from './kernel.js';

export * from './envelope.js';
export { kernelMessages } from './kernel.js';

export interface MessageSchemas {
  request: TSchema;
  reply: TSchema;
}

export const messageSchemas: Record<string, MessageSchemas> = {
  ...kernelMessages,
};
