/**
 * The root config schema: the kernel's sections plus each subsystem's section, whose schema lives
 * beside that subsystem's messages in `protocol/`.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { EndpointConfigSchema, KernelConfigSchema, LogConfigSchema } from './kernel-schema.js';
import { SafetyConfigSchema } from '../../protocol/safety.js';
import { ModelsConfigSchema, ProviderRouterConfigSchema, ProvidersConfigSchema } from '../../protocol/provider.js';
import { AgentsConfigSchema } from '../../protocol/agent.js';
import { EmbedderConfigSchema } from '../../protocol/embedder.js';
import { MemoryConfigSchema } from '../../protocol/memory.js';
import { SchedulerConfigSchema } from '../../protocol/scheduler.js';
import { ToolsConfigSchema } from '../../protocol/tool-runner.js';
import { GatewayConfigSchema } from '../gateway/config.js';
import { McpConfigSchema } from '../../protocol/mcp.js';
import { NatsConfigSchema, TransportConfigSchema } from '../transport/nats/config.js';

export const sectionSchemas: Record<string, TSchema> = {
  data_dir: Type.String({ default: '.rustyclaw' }),
  log: LogConfigSchema,
  kernel: KernelConfigSchema,
  endpoint: EndpointConfigSchema,
  gateway: GatewayConfigSchema,
  safety: SafetyConfigSchema,
  providers: ProvidersConfigSchema,
  models: ModelsConfigSchema,
  provider_router: ProviderRouterConfigSchema,
  agents: AgentsConfigSchema,
  embedder: EmbedderConfigSchema,
  memory: MemoryConfigSchema,
  scheduler: SchedulerConfigSchema,
  tools: ToolsConfigSchema,
  mcp: McpConfigSchema,
  transport: TransportConfigSchema,
  nats: NatsConfigSchema,
};

/**
 * Every object in the config gets an empty default when it has none, so that a section (or a nested
 * group) left out of the YAML is filled with its properties' defaults instead of being "required".
 */
function defaultObjects(schema: TSchema): void {
  if (schema.type === 'object' && schema.properties) {
    if (schema.default === undefined) schema.default = {};
    for (const p of Object.values(schema.properties as Record<string, TSchema>)) defaultObjects(p);
  }
}

let root: TSchema | null = null;

/**
 * The root schema; `userSections` are the sections of user-written actors (`kernel.actors.<name>.module`),
 * allowed here and checked against the actor's own schema once its module is loaded (user-actors.ts).
 */
export function rootSchema(userSections: string[] = []): TSchema {
  if (!root) {
    for (const s of Object.values(sectionSchemas)) defaultObjects(s);
    root = Type.Object(sectionSchemas, { additionalProperties: false });
  }
  if (userSections.length === 0) return root;
  return Type.Object({ ...sectionSchemas, ...Object.fromEntries(userSections.map((n) => [n, Type.Optional(Type.Unknown())])) }, { additionalProperties: false });
}
