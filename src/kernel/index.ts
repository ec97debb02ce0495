/** The kernel's public API: what actors, the CLI, the gateway and embedders import. */
export { ActorError, defineActor } from './actor.js';
export type { ActorContext, ActorDefinition, ActorInstance, ActorStore, AskOptions, Handler, MessageMeta, ActorErrorCode } from './actor.js';
export { ActorSystem, startSystem, KERNEL_PATH, type StartOptions, type SystemStatus, type ActorStatus } from './system.js';
export { defaultTree, type TreeNode, type SupervisorNode, type WorkerNode } from './tree.js';
export type { Strategy, RestartType } from './supervisor.js';
export { topicMatches } from './topics.js';
