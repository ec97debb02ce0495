/**
 * The root config schema: the kernel's sections plus each subsystem's section, whose schema lives
 * beside that subsystem's messages in `protocol/`.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { EndpointConfigSchema, KernelConfigSchema, LogConfigSchema } from './kernel-schema.js';

export const sectionSchemas: Record<string, TSchema> = {
  data_dir: Type.String({ default: '.rustyclaw' }),
  log: LogConfigSchema,
  kernel: KernelConfigSchema,
  endpoint: EndpointConfigSchema,
};

export function rootSchema(): TSchema {
  return Type.Object(sectionSchemas, { additionalProperties: false });
}
