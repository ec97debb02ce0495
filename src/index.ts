/**
 * `rustyclaw`: the library entry. Everything exported here is public and follows semver (see
 * docs/embedding.md); deep imports are not part of the API and are blocked by `exports`.
 */
export { startSystem, ActorSystem, KERNEL_PATH, type StartOptions, type SystemStatus, type ActorStatus } from './kernel/system.js';
export { startService, type Service } from './service.js';
export { defineActor, isActorDefinition } from './kernel/actor.js';
export type {
  ActorContext,
  ActorDefinition,
  ActorInstance,
  ActorStore,
  ConfigOf,
  Handlers,
  MessageMeta,
  TypedActorDefinition,
  UntypedActorContext,
  UntypedActorDefinition,
} from './kernel/actor.js';
export { ActorError, errorFactory, kernelError, toActorError, type ActorErrorCode, type ErrorFactory, type SerializedError } from './kernel/errors.js';
export { validateMode, type ValidateMode } from './kernel/validation.js';
export { loadConfig, validateConfig, ConfigError, type LoadOptions, type RootConfig } from './config/load.js';
export { defaultTree, type TreeNode, type SupervisorNode, type WorkerNode } from './kernel/tree.js';
export type { Strategy, RestartType } from './kernel/supervisor.js';
export {
  messagesOf,
  topicsOf,
  errorsOf,
  builtinMessages,
  builtinTopics,
  type AskOptions,
  type BuiltinMessages,
  type BuiltinTopics,
  type MessageMap,
  type MessageSpec,
  type ReplyOf,
  type RequestOf,
  type TopicMap,
  type TopicPayload,
  type TypedAsk,
  type TypedTell,
} from '../protocol/index.js';
/** TypeBox, the schema builder message maps and config sections are written with (same instance the kernel validates with). */
export { Type, type Static, type TSchema } from '@sinclair/typebox';
