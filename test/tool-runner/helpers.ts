/** Fixtures for the tool-runner tests: WAT modules compiled at test time (wabt), manifests with real hashes. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { blake3 } from 'hash-wasm';
import { stringify } from 'yaml';
import { ToolsConfigSchema, type ToolsConfig } from '../../protocol/tool-runner.js';
import { ToolService } from '../../actors/tool-runner/tool-service.js';

export const SHIPPED = fileURLToPath(new URL('../../tools/', import.meta.url));
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

let wabtP: Promise<any> | undefined;
export async function wat(src: string): Promise<Uint8Array> {
  wabtP ??= import('wabt').then((m: any) => (m.default ?? m)());
  const wabt = await wabtP;
  const mod = wabt.parseWat('fixture.wat', src, { bulk_memory: true });
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

export function tmp(prefix = 'rc-tools-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Write `<dir>/<name>/tool.yaml` + module; returns the manifest path. */
export async function writeTool(dir: string, name: string, wasm: Uint8Array, extra: Record<string, unknown> = {}): Promise<string> {
  const d = path.join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, `${name}.wasm`), wasm);
  const manifest = { name, description: `fixture ${name}`, module: `${name}.wasm`, blake3: await blake3(wasm), parameters: { type: 'object' }, ...extra };
  const file = path.join(d, 'tool.yaml');
  writeFileSync(file, stringify(manifest));
  return file;
}

export function toolsConfig(over: Partial<ToolsConfig> = {}): ToolsConfig {
  return Value.Default(ToolsConfigSchema, structuredClone(over)) as ToolsConfig;
}

export async function service(over: Partial<ToolsConfig> = {}, extra: Partial<ConstructorParameters<typeof ToolService>[0]> = {}): Promise<{ svc: ToolService; data: string }> {
  const data = tmp('rc-tools-data-');
  const svc = new ToolService({ config: toolsConfig({ pool_size: 1, ...over }), dataDir: data, ...extra });
  await svc.start();
  return { svc, data };
}

/** WAT preamble: fd_write import and an exported memory of `pages` pages. */
export const PRE = (pages = 1, max?: number) => `
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") ${pages}${max !== undefined ? ` ${max}` : ''})`;

/** A module writing `len` bytes from memory offset `ptr` to fd 1, `times` times. */
export function writerWat(data: string, times = 1): string {
  const bytes = Buffer.from(data, 'latin1');
  const esc = [...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
  return `(module ${PRE(1)}
    (data (i32.const 64) "${esc}")
    (func (export "_start") (local $i i32)
      (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const ${bytes.length}))
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (i32.const ${times})))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))))`;
}
