/**
 * The command line of the old-build-against-new tools (`differential.ts`, `speed-ab.ts`):
 * `--base DIST` (the old build's dist directory, required) and the old build's SafetyLayer.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SafetyLayer } from '../../actors/safety/layer.js';

export type Layer = Pick<SafetyLayer, 'inspectInbound' | 'inspectUntrusted' | 'redact'>;
export type LayerCtor = new (cfg: object, opts: { fingerprintKey: string }) => Layer;

const args = process.argv.slice(2);

/** The value after `--name`, or `dflt`. */
export function opt(name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
}

/** `--base`, or exits 2 naming the tool. */
export function baseDist(tool: string): string {
  const base = opt('base', '');
  if (!base) {
    console.error(`${tool}: --base DIST (the old build's dist directory) is required`);
    process.exit(2);
  }
  return base;
}

export async function oldSafetyLayer(base: string): Promise<LayerCtor> {
  const mod = await import(pathToFileURL(path.resolve(base, 'actors/safety/layer.js')).href) as { SafetyLayer: LayerCtor };
  return mod.SafetyLayer;
}
