/** Fills in defaults of the scheduler config section and validates it (errors name the field). */
import { Value } from '@sinclair/typebox/value';
import { SchedulerConfigSchema, type SchedulerConfig } from '../../protocol/scheduler.js';

export function resolveSchedulerConfig(input: unknown = {}): SchedulerConfig {
  const cfg = Value.Default(SchedulerConfigSchema, structuredClone(input ?? {})) as SchedulerConfig;
  const first = Value.Errors(SchedulerConfigSchema, cfg).First();
  if (first) throw new Error(`scheduler config${first.path.replace(/\//g, '.')}: ${first.message}`);
  return cfg;
}

/** `path.to.field: message` for the first schema violation of `value`, or undefined. */
export function schemaError(schema: Parameters<typeof Value.Errors>[0], value: unknown, root = ''): string | undefined {
  const first = Value.Errors(schema, value).First();
  if (!first) return undefined;
  const field = (root + first.path.replace(/\//g, '.')).replace(/^\./, '') || '(root)';
  return `${field}: ${first.message}`;
}
