/**
 * Loading `rustyclaw.yaml`: parse, apply defaults, apply environment overrides, validate.
 * Every problem is reported with the YAML path (and line, when the file has one) and what was expected,
 * so a typo never passes silently and never crashes the service with a stack trace.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Document } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { rootSchema, sectionSchemas } from './sections.js';
import { patternProblems } from './patterns.js';
import { defaultDataDir } from './data-dir.js';
import { kernelProblems, type KernelConfig } from './kernel-schema.js';
import { threadCount } from '../kernel/tree.js';

// The YAML parser is loaded only when a file is read (embedders passing objects never pay for it).
const require = createRequire(import.meta.url);
const parseDocument = (text: string, opts: Record<string, unknown>): Document => (require('yaml') as typeof import('yaml')).parseDocument(text, opts);

export type RootConfig = Record<string, any> & {
  data_dir: string;
  log: { level: string; file?: string; format?: 'auto' | 'json' | 'pretty' };
  kernel: import('./kernel-schema.js').KernelConfig;
  endpoint: { enabled: boolean; host: string; port: number; allow_remote: boolean; max_payload_bytes: number };
};

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid config (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadOptions {
  /** Path of the YAML file; when absent, `./rustyclaw.yaml` if it exists, else built-in defaults. */
  file?: string;
  /** Values that win over the file (already-parsed objects, deep-merged). */
  overrides?: Record<string, unknown>;
  /** Where override values came from, by dotted path (`{'endpoint.port': '--port'}`), for error messages. */
  overrideSources?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/** Numbers from the environment stay strings when they are not numbers, so the error shows what was given. */
const numeric = (v: string): unknown => (/^-?\d+$/.test(v.trim()) ? Number(v) : v);

export const ENV_OVERRIDES: Array<[string, string[], (v: string) => unknown]> = [
  ['RUSTYCLAW_DATA_DIR', ['data_dir'], String],
  ['RUSTYCLAW_LOG_LEVEL', ['log', 'level'], String],
  ['RUSTYCLAW_LOG_FORMAT', ['log', 'format'], String],
  ['RUSTYCLAW_PLACEMENT', ['kernel', 'placement'], String],
  ['RUSTYCLAW_PORT', ['endpoint', 'port'], numeric],
  ['RUSTYCLAW_HOST', ['endpoint', 'host'], String],
  ['RUSTYCLAW_NODE', ['nats', 'node'], String],
];

/** Re-exported: the data dir when nothing names one (see ./data-dir.ts). */
export { defaultDataDir };

/** Where each value came from: `--flag`, `ENV_VAR` or the file (the error then gives the line). */
type Sources = Map<string, string>;

export function loadConfig(opts: LoadOptions = {}): RootConfig {
  const env = opts.env ?? process.env;
  let file = opts.file;
  if (!file && existsSync('rustyclaw.yaml')) file = 'rustyclaw.yaml';
  let raw: unknown = {};
  let doc: Document | undefined;
  const source = file ?? 'built-in defaults';
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
    }
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(file, doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`));
    }
    raw = doc.toJS() ?? {};
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, ['the top level must be a mapping of sections']);
  }
  const sources: Sources = new Map();
  // Precedence: file < environment < flags (a flag is the most explicit choice).
  let merged = raw as Record<string, unknown>;
  for (const [name, at, conv] of ENV_OVERRIDES) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    merged = deepMerge(merged, nest(at, conv(v)));
    sources.set(at.join('.'), `${name}=${JSON.stringify(v).slice(0, 60)} in the environment`);
  }
  merged = deepMerge(merged, opts.overrides ?? {});
  for (const [at, from] of Object.entries(opts.overrideSources ?? {})) sources.set(at, from);
  const explicitDir = typeof merged.data_dir === 'string' && merged.data_dir !== '';
  const cfg = validateConfig(merged, source, doc, sources);
  if (!explicitDir) cfg.data_dir = defaultDataDir(env);
  // A data dir from the file is relative to the file; from a flag or the environment, to the cwd.
  const base = file && explicitDir && !sources.has('data_dir') ? path.dirname(path.resolve(file)) : process.cwd();
  cfg.data_dir = path.resolve(base, cfg.data_dir);
  Object.defineProperty(cfg, CONFIG_ORIGIN, { value: { file: file ? path.resolve(file) : null, dataDirExplicit: explicitDir }, enumerable: false });
  configSource(cfg).dir = base;
  return cfg;
}

const CONFIG_ORIGIN = Symbol('rustyclaw.configOrigin');

/** Which file a loaded config came from and whether its data dir was named (file, env or flag) or the default. */
export function configOrigin(cfg: RootConfig): { file: string | null; dataDirExplicit: boolean } {
  return (cfg as Record<symbol, { file: string | null; dataDirExplicit: boolean }>)[CONFIG_ORIGIN] ?? { file: null, dataDirExplicit: true };
}

/** Apply defaults and validate an already-parsed config object. */
/**
 * Each config validateConfig returned, with its JSON at that moment. Validating costs 8–25 ms (the
 * whole schema's defaults and errors), and `startSystem({config})` gets configs already validated by
 * their caller: one that has not changed since is valid as it stands (same result, a fresh copy).
 */
const validated = new WeakMap<object, string>();

function withSource(cfg: RootConfig, source: string, doc?: Document): RootConfig {
  // Kept (not enumerable) so that user actors' sections, checked later, are reported with lines too.
  Object.defineProperty(cfg, CONFIG_SOURCE, { value: { source, doc, dir: undefined as string | undefined }, enumerable: false, writable: true });
  validated.set(cfg, JSON.stringify(cfg));
  return cfg;
}

export function validateConfig(obj: Record<string, unknown>, source = '(config object)', doc?: Document, sources?: Sources): RootConfig {
  const before = validated.get(obj);
  if (before !== undefined && before === JSON.stringify(obj)) return withSource(structuredClone(obj) as RootConfig, source, doc);
  const schema: TSchema = rootSchema(userActorNames(obj).filter((n) => !Object.hasOwn(sectionSchemas, n)));
  const withDefaults = Value.Default(schema, structuredClone(obj)) as Record<string, unknown>;
  const problems: string[] = [];
  for (const e of Value.Errors(schema, withDefaults)) {
    // Union errors repeat once per branch; report the first per path.
    const yamlPath = e.path.split('/').filter(Boolean).map(decodePointer);
    const where = yamlPath.join('.') || '(top level)';
    if (problems.some((p) => p.includes(`${where}:`))) continue;
    const from = sourceOf(sources, yamlPath);
    const line = doc && !from ? lineOf(doc, yamlPath) : undefined;
    const got = e.value === undefined ? 'nothing' : JSON.stringify(e.value)?.slice(0, 60);
    const choices = literalChoices(e.schema);
    const what =
      e.message === 'Unexpected property'
        ? `unknown option (allowed here: ${allowedKeys(schema, yamlPath.slice(0, -1))})`
        : choices
          ? `expected one of ${choices.join(', ')}, got ${got}`
          : `${e.message}, got ${got}`;
    problems.push(`${line ? `line ${line}: ` : ''}${where}: ${what}${from ? ` (from ${from})` : ''}`);
  }
  if (problems.length === 0) problems.push(...kernelProblems(withDefaults.kernel as KernelConfig, threadCount(withDefaults as RootConfig)));
  const ep = (withDefaults.endpoint ?? {}) as Record<string, any>;
  if (ep.enabled && !isLoopback(String(ep.host)) && !ep.allow_remote) {
    problems.push(`endpoint.host: '${ep.host}' is not a loopback address; set endpoint.allow_remote: true to expose the endpoint to the network`);
  }
  // Semantic checks the schema cannot express; run only on a config that matches it.
  if (problems.length === 0) {
    for (const bad of patternProblems(withDefaults)) {
      const line = doc ? lineOf(doc, bad.path) : undefined;
      problems.push(`${line ? `line ${line}: ` : ''}${bad.message}`);
    }
  }
  for (const n of userActorNames(withDefaults)) {
    if (Object.hasOwn(sectionSchemas, n) || (((withDefaults.kernel ?? {}) as { system_actors?: string[] }).system_actors ?? []).includes(n) || n === 'agent') {
      problems.push(`${doc ? `line ${lineOf(doc, ['kernel', 'actors', n, 'module']) ?? '?'}: ` : ''}kernel.actors.${n}.module: '${n}' is a built-in name; give the user actor another name`);
    }
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return withSource(withDefaults as RootConfig, source, doc);
}

/** Where a validated config came from (file, parsed document, its folder): see configSource(). */
const CONFIG_SOURCE = Symbol.for('rustyclaw.config.source');

export interface ConfigSource {
  source: string;
  doc?: Document;
  /** Folder that relative module paths are resolved from (the config file's, else the working directory). */
  dir?: string;
}

export function configSource(cfg: RootConfig): ConfigSource {
  return (cfg as unknown as Record<symbol, ConfigSource | undefined>)[CONFIG_SOURCE] ?? { source: '(config object)' };
}

/** Names of `kernel.actors.<name>` entries that load a user-written module. */
export function userActorNames(obj: Record<string, unknown>): string[] {
  const actors = (obj.kernel as { actors?: Record<string, { module?: unknown }> } | undefined)?.actors;
  if (!actors || typeof actors !== 'object') return [];
  return Object.entries(actors).filter(([, o]) => o && typeof o === 'object' && typeof o.module === 'string').map(([n]) => n);
}

/** The line of a YAML path in the parsed document, when there is one. */
export function yamlLine(doc: Document | undefined, p: string[]): number | undefined {
  return doc ? lineOf(doc, p) : undefined;
}

/** The source of the value at a path (or of a parent set as a whole). */
function sourceOf(sources: Sources | undefined, p: string[]): string | undefined {
  if (!sources) return undefined;
  for (let n = p.length; n > 0; n--) {
    const s = sources.get(p.slice(0, n).join('.'));
    if (s) return s;
  }
  return undefined;
}

/** The allowed values of a union of literals (`placement: dedicated | shared`), else undefined. */
function literalChoices(schema: TSchema): string[] | undefined {
  const branches = (schema as { anyOf?: Array<{ const?: unknown }> }).anyOf;
  if (!branches?.length || !branches.every((b) => b.const !== undefined)) return undefined;
  return branches.map((b) => String(b.const));
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function decodePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function lineOf(doc: Document, p: string[]): number | undefined {
  for (let n = p.length; n > 0; n--) {
    const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && node.range) {
      const text = String(doc.toString());
      return text.slice(0, node.range[0]).split('\n').length;
    }
  }
  return undefined;
}

function allowedKeys(schema: TSchema, p: string[]): string {
  let s: any = schema;
  for (const k of p) {
    if (s?.properties?.[k]) s = s.properties[k];
    else if (s?.patternProperties) s = Object.values(s.patternProperties)[0];
    else if (s?.items) s = s.items;
    else return '?';
  }
  return s?.properties ? Object.keys(s.properties).join(', ') : '?';
}

function nest(at: string[], v: unknown): Record<string, unknown> {
  let o: unknown = v;
  for (let i = at.length - 1; i >= 0; i--) o = { [at[i]]: o };
  return o as Record<string, unknown>;
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    if (isPlain(cur) && isPlain(v)) out[k] = deepMerge(cur, v);
    else out[k] = v;
  }
  return out;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

