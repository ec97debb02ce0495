#!/usr/bin/env node
/* global process */
// Part of `npm run build`: writes dist/node_modules/@sinclair/typebox, the installed TypeBox
// bundled by esbuild into a few files. Node resolves a bare import from the nearest node_modules
// upwards, so every module under dist/ loads this copy instead of the ~250 files of TypeBox's own
// ESM build. Why: each thread imports TypeBox (schemas in protocol/, config, validation), and at
// ~250 modules that cost 110-140 ms CPU and ~12 MB RSS per thread; bundled, 8 ms and ~0 MB
// (docs/decisions.md, "Kernel footprint pass, part d"). Same version, same code (the bundle is
// rebuilt whenever the installed package changes); types still come from the real package.
// Code outside dist/ (user actors) keeps the real package: TypeBox marks schemas with
// Symbol.for() keys, so schemas from either copy are checked alike.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const src = path.join(root, 'node_modules', '@sinclair', 'typebox');
const out = path.join(root, 'dist', 'node_modules', '@sinclair', 'typebox');
const pkg = JSON.parse(readFileSync(path.join(src, 'package.json'), 'utf8'));
const stamp = path.join(out, 'package.json');
const self = fileURLToPath(import.meta.url);

const upToDate = existsSync(stamp) && JSON.parse(readFileSync(stamp, 'utf8')).version === pkg.version && statSync(stamp).mtimeMs >= statSync(self).mtimeMs;
// esbuild is a dev dependency: without it (an install without dev dependencies, a tree not yet
// `npm install`ed) dist/ simply uses the real package, which behaves the same, only slower to load.
const esbuild = upToDate ? undefined : await import('esbuild').catch(() => undefined);
if (!upToDate && !esbuild) {
  rmSync(out, { recursive: true, force: true });
  process.stdout.write('esbuild not installed: dist/ uses @sinclair/typebox unbundled (slower thread start)\n');
} else if (!upToDate) {
  // One entry per public subpath; shared code goes to common chunks (one TypeRegistry, one Kind).
  const entries = {};
  const exportsMap = {};
  for (const [sub, cond] of Object.entries(pkg.exports)) {
    const file = cond.import?.default ?? cond.import;
    if (typeof file !== 'string') continue;
    const name = sub === '.' ? 'index' : sub.slice(2);
    entries[name] = path.join(src, file);
    exportsMap[sub] = { default: `./${name}.mjs` };
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await esbuild.build({
    entryPoints: entries,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: out,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    legalComments: 'inline',
    logLevel: 'warning',
  });
  writeFileSync(
    stamp,
    JSON.stringify({ name: pkg.name, version: pkg.version, license: pkg.license, type: 'module', description: `${pkg.name} ${pkg.version} bundled by tools/bundle-deps.mjs`, exports: exportsMap }, null, 2) + '\n',
  );
  process.stdout.write(`@sinclair/typebox ${pkg.version} → dist/node_modules/@sinclair/typebox (bundled)\n`);
}
