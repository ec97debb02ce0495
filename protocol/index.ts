/**
 * Registry of every built-in message type with its request and reply schema (TypeBox) and the
 * path it is addressed to, and of every topic with its payload schema. Each subsystem defines its
 * messages in `protocol/<name>.ts`; this file collects them. The kernel validates messages from
 * outside the process against it (and every message under `kernel.validate: all`); the types of
 * `ctx.ask`/`tell`/`publish`/`subscribe` come from it.
 */
import { kernelMessages } from './kernel.js';
import { safetyMessages } from './safety.js';
import { providerMessages, providerStreamMessages, providerTopics } from './provider.js';
import { agentMessages, agentTopics } from './agent.js';
import { embedderMessages, embedderTopics } from './embedder.js';
import { memoryMessages, memoryTopics } from './memory.js';
import { schedulerMessages, schedulerTopics } from './scheduler.js';
import { toolRunnerMessages, toolRunnerTopics } from './tool-runner.js';
import { mcpMessages, mcpTopics } from './mcp.js';
import type { MessageMap, MessageSpec, TopicMap } from './define.js';
import type { TSchema } from '@sinclair/typebox';

export * from './envelope.js';
export * from './define.js';
export { kernelMessages } from './kernel.js';

/** Every built-in message, typed: `ctx.ask(to, type, payload)` infers from it. */
export const builtinMessages = {
  ...kernelMessages,
  ...safetyMessages,
  ...providerMessages,
  ...providerStreamMessages,
  ...agentMessages,
  ...embedderMessages,
  ...memoryMessages,
  ...schedulerMessages,
  ...toolRunnerMessages,
  ...mcpMessages,
};
export type BuiltinMessages = typeof builtinMessages;

/** Every built-in topic with its payload schema. */
export const builtinTopics = {
  ...providerTopics,
  ...agentTopics,
  ...embedderTopics,
  ...memoryTopics,
  ...schedulerTopics,
  ...toolRunnerTopics,
  ...mcpTopics,
};
export type BuiltinTopics = typeof builtinTopics;

export type MessageSchemas = MessageSpec;
/** Every message known to this process, looked up by type name: the built-in ones plus user actors' maps. */
export const messageSchemas: Record<string, MessageSpec> = { ...builtinMessages };
export const topicSchemas: TopicMap = builtinTopics as Record<string, TSchema>;

/** Add a user actor's map (done at config load, after collisions were ruled out). */
export function registerMessages(map: MessageMap): void {
  for (const [type, spec] of Object.entries(map)) messageSchemas[type] = spec;
}
