/**
 * Tool manifests: read, validate against ToolManifestSchema (errors name the field, and the YAML
 * line when the file has one), resolve the module path, and compile the parameters schema.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { Ajv, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, isMap, isSeq, type Node as YamlNode } from 'yaml';
import { ToolManifestSchema, type ToolLimits, type ToolManifest, type ToolsConfig } from '../../protocol/tool-runner.js';

export class ToolFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ToolFailure';
  }
}

export interface LoadedManifest {
  manifest: ToolManifest;
  /** The manifest file's bytes (hashed for pinning). */
  bytes: Uint8Array;
  file: string;
  modulePath: string;
}

/** Line of a JSON-pointer-like path (`/limits/fuel`) in a parsed YAML document. */
function lineOf(doc: ReturnType<typeof parseDocument>, lc: LineCounter, pointer: string): number | undefined {
  let node: unknown = doc.contents;
  for (const part of pointer.split('/').filter(Boolean)) {
    if (isMap(node)) node = (node.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === part)?.value) ?? node;
    else if (isSeq(node)) node = node.items[Number(part)] ?? node;
    else break;
  }
  const range = (node as YamlNode | undefined)?.range;
  return range ? lc.linePos(range[0]).line : undefined;
}

export function parseManifest(bytes: Uint8Array, file: string): ToolManifest {
  const text = new TextDecoder().decode(bytes);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new ToolFailure('invalid_manifest', `${file}: line ${lc.linePos(e.pos[0]).line}: not valid YAML/JSON: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS() as unknown;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ToolFailure('invalid_manifest', `${file}: a manifest must be a mapping (name, description, module, blake3, ...)`);
  const withDefaults = Value.Default(ToolManifestSchema, structuredClone(raw)) as ToolManifest;
  const first = Value.Errors(ToolManifestSchema, withDefaults).First();
  if (first) {
    const field = first.path.replace(/^\//, '').replace(/\//g, '.') || '(root)';
    const line = lineOf(doc, lc, first.path);
    const unknown = /unexpected property|additional/i.test(first.message);
    let why = first.message;
    if (unknown) {
      type S = { properties?: Record<string, S>; items?: S };
      let sch: S | undefined = ToolManifestSchema as unknown as S;
      for (const part of first.path.split('/').filter(Boolean).slice(0, -1)) sch = sch?.properties?.[part] ?? sch?.items;
      const known = Object.keys(sch?.properties ?? {});
      why = `unknown field${known.length ? ` (allowed here: ${known.join(', ')})` : ''}`;
    }
    throw new ToolFailure('invalid_manifest', `${file}${line ? `: line ${line}` : ''}: ${field}: ${why}`);
  }
  const m = withDefaults;
  for (const [i, p] of m.preopens.entries()) {
    if (p.host !== 'workspace' && !p.host.startsWith('workspace/')) throw new ToolFailure('invalid_manifest', `${file}: preopens.${i}.host: must be 'workspace' or a subpath of it (workspace/...), got '${p.host}'`);
    if (p.host.split('/').includes('..')) throw new ToolFailure('invalid_manifest', `${file}: preopens.${i}.host: '..' is not allowed`);
  }
  for (const [i, s] of m.secrets.entries()) {
    if (!m.network.allow.includes(s.host)) throw new ToolFailure('invalid_manifest', `${file}: secrets.${i}.host: '${s.host}' is not in network.allow`);
    if (!s.format.includes('{value}')) throw new ToolFailure('invalid_manifest', `${file}: secrets.${i}.format: must contain {value}`);
  }
  if (m.parameters.type !== undefined && m.parameters.type !== 'object') throw new ToolFailure('invalid_manifest', `${file}: parameters.type: must be 'object' (arguments are a JSON object)`);
  return m;
}

/** Parsed manifests by content (parsing YAML costs milliseconds; the bytes are re-read every call). */
const parsed = new Map<string, ToolManifest>();

export function loadManifest(file: string, hash?: (b: Uint8Array) => string): LoadedManifest & { hash?: string } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ToolFailure(code === 'ENOENT' ? 'unknown_tool' : 'invalid_manifest', `${file}: ${code === 'ENOENT' ? 'no such manifest file' : (e as Error).message}`);
  }
  if (bytes.length > 1024 * 1024) throw new ToolFailure('invalid_manifest', `${file}: ${bytes.length} bytes is too large for a manifest (1 MiB at most)`);
  const h = hash?.(bytes);
  const key = h ? `${file}\0${h}` : '';
  let manifest = key ? parsed.get(key) : undefined;
  if (!manifest) {
    manifest = parseManifest(bytes, file);
    if (key) {
      if (parsed.size >= 256) parsed.delete(parsed.keys().next().value!);
      parsed.set(key, manifest);
    }
  }
  const modulePath = path.resolve(path.dirname(file), manifest.module);
  return { manifest: structuredClone(manifest), bytes, file, modulePath, ...(h ? { hash: h } : {}) };
}

export function effectiveLimits(m: ToolManifest, cfg: ToolsConfig): ToolLimits {
  return {
    fuel: m.limits.fuel ?? cfg.defaults.fuel,
    memory_mb: Math.min(m.limits.memory_mb ?? cfg.defaults.memory_mb, cfg.max.memory_mb),
    timeout_ms: Math.min(m.limits.timeout_ms ?? cfg.defaults.timeout_ms, cfg.max.timeout_ms),
    output_bytes: m.limits.output_bytes ?? cfg.defaults.output_bytes,
  };
}

const ajv = new Ajv({ strict: false, allErrors: false });
const validators = new Map<string, ValidateFunction>();

/** Check args against the manifest's parameters (JSON schema); returns the problem or undefined. */
export function argumentProblem(m: ToolManifest, key: string, args: unknown): string | undefined {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return 'arguments must be a JSON object';
  let v = validators.get(key);
  if (!v) {
    try {
      v = ajv.compile(m.parameters);
    } catch (e) {
      throw new ToolFailure('invalid_manifest', `${m.name}: parameters: not a valid JSON schema: ${(e as Error).message}`);
    }
    if (validators.size > 256) validators.clear();
    validators.set(key, v);
  }
  if (v(args)) return undefined;
  const e = v.errors?.[0];
  return e ? `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}` : 'invalid';
}
