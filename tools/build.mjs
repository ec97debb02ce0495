#!/usr/bin/env node
/* global process */
// Builds the shipped tools (tools/<name>/index.ts, AssemblyScript) into dist/tools/<name>/:
// <name>.wasm and tool.yaml with the module's BLAKE3 filled in. Part of `npm run build`;
// a tool whose sources are older than its output is skipped.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { blake3 } from 'hash-wasm';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const outRoot = path.join(root, 'dist', 'tools');
// asc resolves the shim's relative lib path against the working directory.
process.chdir(root);
const shimArgs = ['--config', 'node_modules/@assemblyscript/wasi-shim/asconfig.json'];
const newest = (files) => Math.max(...files.map((f) => statSync(f).mtimeMs));
const libFiles = readdirSync(path.join(here, 'lib')).map((f) => path.join(here, 'lib', f));

let failed = 0;
for (const name of readdirSync(here).sort()) {
  const src = path.join(here, name);
  if (name === 'lib' || !existsSync(path.join(src, 'index.ts'))) continue;
  const out = path.join(outRoot, name);
  const wasm = path.join(out, `${name}.wasm`);
  const manifest = path.join(out, 'tool.yaml');
  const inputs = [...readdirSync(src).map((f) => path.join(src, f)), ...libFiles, fileURLToPath(import.meta.url)];
  if (existsSync(wasm) && existsSync(manifest) && statSync(manifest).mtimeMs >= newest(inputs)) continue;
  mkdirSync(out, { recursive: true });
  const errors = [];
  const { error } = await asc.main([
    path.relative(root, path.join(src, 'index.ts')), ...shimArgs, '--outFile', wasm, '-O3', '--noAssert', '--runtime', 'incremental',
  ], { stdout: { write: () => true }, stderr: { write: (s) => { errors.push(String(s)); return true; } } });
  if (error) {
    failed++;
    process.stderr.write(`tools/${name}: AssemblyScript build failed: ${error.message}\n${errors.join('')}\n`);
    continue;
  }
  const hash = await blake3(readFileSync(wasm));
  const text = readFileSync(path.join(src, 'tool.yaml'), 'utf8').replace(/^blake3:.*$/m, `blake3: "${hash}"`);
  writeFileSync(manifest, text);
  process.stdout.write(`tools/${name} → dist/tools/${name}/${name}.wasm (${statSync(wasm).size} bytes, blake3 ${hash.slice(0, 16)}…)\n`);
}
if (failed) process.exit(1);
