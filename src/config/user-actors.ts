/**
 * User-written actors: `kernel.actors.<name>.module` names a module outside this repo (a file path
 * relative to the config file, or a package specifier resolved from the config file's folder). At
 * config load the module is imported in the main thread (not started) to check that it is an actor
 * definition with its own message map, that its messages do not collide with built-in ones or with
 * another user actor's, and that its config section (top-level `<name>:`) matches its own schema.
 * Every problem is a ConfigError naming the YAML path (and line) and the module; nothing has been
 * started or opened yet, so stored data is untouched.
 */
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { builtinMessages, registerMessages } from '../../protocol/index.js';
import { isActorDefinition, type ActorDefinition } from '../kernel/actor.js';
import { ConfigError, configSource, userActorNames, yamlLine, type RootConfig } from './load.js';

const PREPARED = Symbol.for('rustyclaw.config.user_actors');

export interface UserActor {
  name: string;
  /** `file:` URL of the module the worker imports. */
  url: string;
  def: ActorDefinition;
}

async function resolveUrl(spec: string, dir: string): Promise<string> {
  if (spec.startsWith('file:')) return spec;
  if (path.isAbsolute(spec) || spec.startsWith('./') || spec.startsWith('../')) {
    const file = path.resolve(dir, spec);
    if (!existsSync(file)) throw new Error(`cannot find module file ${file}`);
    return pathToFileURL(file).href;
  }
  // A package specifier, resolved as Node's ESM loader would from the config file's folder.
  // Imported here: only a package-named user actor needs it (~2 MB, ~20 ms at every start otherwise).
  const { resolve: resolveModule } = await import('import-meta-resolve');
  return resolveModule(spec, pathToFileURL(path.join(dir, 'rustyclaw.config')).href);
}

/**
 * Load and check every user actor of `cfg` (once per config object); fills in each section's
 * defaults and replaces `module` by the resolved URL so worker threads import exactly that file.
 */
export async function prepareUserActors(cfg: RootConfig): Promise<UserActor[]> {
  const marked = (cfg as unknown as Record<symbol, UserActor[] | undefined>)[PREPARED];
  if (marked) return marked;
  const src = configSource(cfg);
  const dir = src.dir ?? process.cwd();
  const problems: string[] = [];
  const at = (p: string[]) => {
    const line = yamlLine(src.doc, p);
    return `${line ? `line ${line}: ` : ''}${p.join('.')}`;
  };
  const owners = new Map<string, string>(Object.keys(builtinMessages).map((t) => [t, 'a built-in actor']));
  const out: UserActor[] = [];
  for (const name of userActorNames(cfg)) {
    const entry = cfg.kernel.actors[name] as { module: string };
    const where = at(['kernel', 'actors', name, 'module']);
    let url: string;
    let mod: Record<string, unknown>;
    try {
      url = await resolveUrl(entry.module, dir);
      mod = (await import(url)) as Record<string, unknown>;
    } catch (e) {
      problems.push(`${where}: cannot load actor module '${entry.module}' (from ${dir}): ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    const shown = url.startsWith('file:') ? fileURLToPath(url) : url;
    if (!('default' in mod)) {
      problems.push(`${where}: module ${shown} has no default export (it must be \`export default defineActor({...})\`)`);
      continue;
    }
    const def = mod.default;
    if (!isActorDefinition(def) || !def.messages || typeof def.messages !== 'object') {
      problems.push(`${where}: the default export of ${shown} is not an actor definition with a message map (defineActor({ messages, setup }))`);
      continue;
    }
    for (const type of Object.keys(def.messages)) {
      const owner = owners.get(type);
      if (owner) problems.push(`${where}: message type '${type}' of ${shown} collides with ${owner}'s; choose another name (e.g. '${name}.${type.split('.').pop()}')`);
      else owners.set(type, `user actor '${name}'`);
    }
    if (def.config) {
      const section = Value.Default(def.config, structuredClone(cfg[name] ?? {}));
      const errs = [...Value.Errors(def.config, section)];
      const seen = new Set<string>();
      for (const e of errs) {
        const p = [name, ...e.path.split('/').filter(Boolean)];
        const key = p.join('.');
        if (seen.has(key)) continue;
        seen.add(key);
        const got = e.value === undefined ? 'nothing' : JSON.stringify(e.value)?.slice(0, 60);
        problems.push(`${at(p)}: ${e.message}, got ${got} (schema of actor module ${shown})`);
      }
      if (errs.length === 0) cfg[name] = section;
    }
    out.push({ name, url, def });
  }
  if (problems.length > 0) throw new ConfigError(src.source, problems);
  for (const u of out) {
    (cfg.kernel.actors[u.name] as { module: string }).module = u.url;
    registerMessages(u.def.messages!);
  }
  Object.defineProperty(cfg, PREPARED, { value: out, enumerable: false });
  return out;
}
