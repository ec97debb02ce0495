/**
 * Registry of every message type with its request and reply schema (TypeBox), used to validate
 * messages that come from outside the process. Each subsystem defines its messages in
 * `protocol/<name>.ts`; this file collects them.
 */
import type { TSchema } from '@sinclair/typebox';
import { kernelMessages } from './kernel.js';
import { safetyMessages } from './safety.js';
import { providerMessages } from './provider.js';
import { agentMessages } from './agent.js';
import { embedderMessages } from './embedder.js';
import { memoryMessages } from './memory.js';
import { schedulerMessages } from './scheduler.js';
import { toolRunnerMessages } from './tool-runner.js';

export * from './envelope.js';
export { kernelMessages } from './kernel.js';

export interface MessageSchemas {
  request: TSchema;
  reply: TSchema;
}

export const messageSchemas: Record<string, MessageSchemas> = {
  ...kernelMessages,
  ...safetyMessages,
  ...providerMessages,
  ...agentMessages,
  ...embedderMessages,
  ...memoryMessages,
  ...schedulerMessages,
  ...toolRunnerMessages,
};
