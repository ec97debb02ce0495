/**
 * The tool runner's logic, independent of messaging: the registry (a folder of manifests plus
 * the manifest hashes pinned at registration), integrity checks, the compiled-module cache, the
 * runner pool, and the output path through the safety layer.
 *
 * A call: manifest (pinned BLAKE3 checked) → module bytes (BLAKE3 against the manifest) →
 * arguments against `parameters` → rewritten + compiled module (cached by hash and limits) →
 * a runner thread → output through the leak detector and the untrusted-content inspection.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBLAKE3, type IHasher } from 'hash-wasm';
import { stringify as toYaml } from 'yaml';
import type { Logger } from 'pino';
import type { ActorStore } from '../../src/kernel/actor.js';
import type { Resolver } from '../../src/lib/net/index.js';
import { SAFETY_ACTOR } from '../../protocol/safety.js';
import type { BuiltinMessages, TypedAsk } from '../../protocol/index.js';
import type { ToolInfo, ToolLimits, ToolManifest, ToolRunReply, ToolRunRequest, ToolsConfig, ToolVerifyReply } from '../../protocol/tool-runner.js';
import { argumentProblem, effectiveLimits, loadManifest, ToolFailure, type LoadedManifest } from './manifest.js';
import { makeHttpHost, redactSecrets } from './http-host.js';
import { RunnerPool } from './runner-pool.js';
import { unsupportedImports, wasiFunctionNames } from './sandbox.js';
import { PAGE_BYTES, rewriteModule, WasmRewriteError } from './wasm-rewrite.js';

export const MANIFEST_FILE = 'tool.yaml';
const MAX_MODULE_BYTES = 64 * 1024 * 1024;
/** Tools built from `tools/<name>/` by `npm run build`. */
export const SHIPPED_DIR = fileURLToPath(new URL('../../tools/', import.meta.url));

/** The actor's typed ask (replies typed from protocol/). */
type Ask = TypedAsk<BuiltinMessages>;

export interface ToolServiceOptions {
  config: ToolsConfig;
  dataDir: string;
  rootConfig?: Readonly<Record<string, any>>;
  store?: ActorStore;
  log?: Logger;
  /** Asks to system/safety; absent = no safety pass (bench and unit tests only). */
  ask?: Ask;
  env?: NodeJS.ProcessEnv;
  resolver?: Resolver;
  shippedDir?: string;
}

interface Compiled { module: WebAssembly.Module; initialPages: number; maxPages: number }
interface Resolved { loaded: LoadedManifest; source: 'registry' | 'shipped' | 'file'; manifestHash: string; pinned?: string }

class MemoryStore {
  private readonly m = new Map<string, unknown>();
  get<T>(k: string): T | undefined { return this.m.get(k) as T | undefined; }
  async put(k: string, v: unknown): Promise<boolean> { this.m.set(k, v); return true; }
  async remove(k: string): Promise<boolean> { return this.m.delete(k); }
}

export class ToolService {
  readonly dir: string;
  readonly pool: RunnerPool;
  private hasher!: IHasher;
  private readonly compiled = new Map<string, Compiled>();
  private readonly store: Pick<ActorStore, 'get' | 'put' | 'remove'>;
  private readonly shippedDir: string;

  constructor(private readonly o: ToolServiceOptions) {
    this.dir = o.config.dir ? path.resolve(o.config.dir) : path.join(o.dataDir, 'tools');
    this.store = o.store ?? new MemoryStore();
    this.shippedDir = o.shippedDir ?? SHIPPED_DIR;
    this.pool = new RunnerPool({ size: o.config.pool_size, responseBytes: o.config.network.max_response_bytes + 1024 * 1024, onError: (msg, e) => o.log?.warn({ err: e }, msg) });
  }

  async start(): Promise<void> {
    this.hasher = await createBLAKE3();
    mkdirSync(this.dir, { recursive: true });
    wasiFunctionNames();
    // on_demand: an idle service holds no runner threads (pool_size + 1 spare, ~12 MB each).
    if (this.o.config.runners_start === 'eager') await this.pool.start();
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  blake3(bytes: Uint8Array): string {
    return this.hasher.init().update(bytes).digest('hex');
  }

  // ---- registry --------------------------------------------------------------------------------

  private manifestsIn(dir: string): Array<{ name: string; file: string }> {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names.filter((n) => /^[a-z0-9_-]{1,64}$/.test(n) && existsSync(path.join(dir, n, MANIFEST_FILE))).map((n) => ({ name: n, file: path.join(dir, n, MANIFEST_FILE) }));
  }

  /** Registered tools: the registry folder first, then shipped tools it does not override. */
  private entries(): Array<{ name: string; file: string; source: 'registry' | 'shipped' }> {
    const reg = this.manifestsIn(this.dir).map((e) => ({ ...e, source: 'registry' as const }));
    const shipped = this.o.config.shipped ? this.manifestsIn(this.shippedDir).filter((s) => !reg.some((r) => r.name === s.name)).map((e) => ({ ...e, source: 'shipped' as const })) : [];
    return [...reg, ...shipped];
  }

  /** The registered tool `name` (registry folder first, then shipped), without listing the folders. */
  private entry(name: string): { name: string; file: string; source: 'registry' | 'shipped' } | undefined {
    if (!/^[a-z0-9_-]{1,64}$/.test(name)) return undefined;
    const reg = path.join(this.dir, name, MANIFEST_FILE);
    if (existsSync(reg)) return { name, file: reg, source: 'registry' };
    const shipped = path.join(this.shippedDir, name, MANIFEST_FILE);
    if (this.o.config.shipped && existsSync(shipped)) return { name, file: shipped, source: 'shipped' };
    return undefined;
  }

  private async resolve(target: { name?: string; manifest?: string }): Promise<Resolved> {
    if (target.manifest) {
      const loaded = loadManifest(path.resolve(target.manifest), (b) => this.blake3(b));
      return { loaded, source: 'file', manifestHash: loaded.hash! };
    }
    const name = target.name ?? '';
    const e = this.entry(name);
    if (!e) throw new ToolFailure('unknown_tool', `no registered tool '${name}'. Registered: ${this.entries().map((x) => x.name).join(', ') || 'none'}`);
    const loaded = loadManifest(e.file, (b) => this.blake3(b));
    if (loaded.manifest.name !== e.name) throw new ToolFailure('invalid_manifest', `${e.file}: name: '${loaded.manifest.name}' differs from its folder name '${e.name}'`);
    const manifestHash = loaded.hash!;
    if (e.source === 'shipped') return { loaded, source: 'shipped', manifestHash };
    const key = `pin:${e.name}`;
    let pinned = this.store.get<string>(key);
    if (!pinned) {
      // Dropped into the folder by hand: trusted on first sight, then pinned.
      await this.store.put(key, manifestHash);
      pinned = manifestHash;
      this.o.log?.info({ tool: e.name, manifest: e.file, blake3: manifestHash }, `tool ${e.name} registered from the tools folder; manifest pinned`);
    }
    return { loaded, source: 'registry', manifestHash, pinned };
  }

  private checkPin(r: Resolved): void {
    if (r.pinned && r.pinned !== r.manifestHash) {
      throw new ToolFailure('hash_mismatch', `${r.loaded.file}: the manifest changed since it was registered: BLAKE3 ${r.manifestHash}, pinned ${r.pinned}; register it again with \`rustyclaw tool add\` if the change is yours`);
    }
  }

  private readModule(r: Resolved): { bytes: Uint8Array; hash: string } {
    const file = r.loaded.modulePath;
    let bytes: Uint8Array;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new ToolFailure('invalid_module', `${file}: not a regular file`);
      if (st.size > MAX_MODULE_BYTES) throw new ToolFailure('invalid_module', `${file}: ${st.size} bytes is larger than ${MAX_MODULE_BYTES}`);
      bytes = readFileSync(file);
    } catch (e) {
      if (e instanceof ToolFailure) throw e;
      throw new ToolFailure('invalid_module', `${file} (module of ${r.loaded.manifest.name}): ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    return { bytes, hash: this.blake3(bytes) };
  }

  private verifyModule(r: Resolved): { bytes: Uint8Array; hash: string } {
    const m = this.readModule(r);
    if (m.hash !== r.loaded.manifest.blake3) {
      throw new ToolFailure('hash_mismatch', `${r.loaded.modulePath}: BLAKE3 of the module is ${m.hash}, the manifest ${r.loaded.file} pins ${r.loaded.manifest.blake3}; refusing to load`);
    }
    return m;
  }

  private info(r: Resolved): ToolInfo {
    const m = r.loaded.manifest;
    return {
      name: m.name, description: m.description, parameters: m.parameters, manifest: r.loaded.file,
      module_blake3: m.blake3, manifest_blake3: r.pinned ?? r.manifestHash, source: r.source === 'shipped' ? 'shipped' : 'registry',
      network: m.network.allow, limits: effectiveLimits(m, this.o.config),
    };
  }

  async list(): Promise<ToolInfo[]> {
    const out: ToolInfo[] = [];
    for (const e of this.entries()) {
      try {
        out.push(this.info(await this.resolve({ name: e.name })));
      } catch (err) {
        this.o.log?.warn({ tool: e.name, manifest: e.file }, `tool ${e.name} is not listed: ${(err as Error).message}`);
      }
    }
    return out;
  }

  /** Copy a manifest and its module into `<dir>/<name>/` and pin the copy's hash. */
  async add(manifestFile: string): Promise<{ tool: ToolInfo; replaced: boolean }> {
    const r = await this.resolve({ manifest: manifestFile });
    const m = this.verifyModule(r);
    this.compile(r.loaded.manifest, m, effectiveLimits(r.loaded.manifest, this.o.config));
    const name = r.loaded.manifest.name;
    const target = path.join(this.dir, name);
    const replaced = existsSync(path.join(target, MANIFEST_FILE));
    mkdirSync(target, { recursive: true });
    const moduleName = `${name}.wasm`;
    const src = realpathSync(r.loaded.modulePath);
    if (src !== path.join(realpathSync(target), moduleName)) copyFileSync(src, path.join(target, moduleName));
    const copy = { ...r.loaded.manifest, module: moduleName };
    const text = `# registered by rustyclaw tool add from ${r.loaded.file}\n${toYaml(copy)}`;
    writeFileSync(path.join(target, MANIFEST_FILE), text);
    const hash = this.blake3(new TextEncoder().encode(text));
    await this.store.put(`pin:${name}`, hash);
    this.o.log?.info({ tool: name, manifest: path.join(target, MANIFEST_FILE), blake3: hash, module_blake3: m.hash }, `tool ${name} ${replaced ? 're-registered' : 'registered'}`);
    return { tool: this.info(await this.resolve({ name })), replaced };
  }

  async remove(name: string): Promise<boolean> {
    const target = path.join(this.dir, name);
    if (!/^[a-z0-9_-]{1,64}$/.test(name) || !existsSync(path.join(target, MANIFEST_FILE))) {
      if (this.o.config.shipped && existsSync(path.join(this.shippedDir, name, MANIFEST_FILE))) throw new ToolFailure('unknown_tool', `${name} is a shipped tool; switch shipped tools off with tools.shipped: false, or deny it per agent (tools.deny)`);
      return false;
    }
    rmSync(target, { recursive: true, force: true });
    await this.store.remove(`pin:${name}`);
    return true;
  }

  async verify(target: { name?: string; manifest?: string }): Promise<ToolVerifyReply> {
    const r = await this.resolve(target);
    const m = this.readModule(r);
    const base = {
      name: r.loaded.manifest.name, module: r.loaded.modulePath, module_blake3: m.hash, expected_blake3: r.loaded.manifest.blake3,
      manifest_blake3: r.manifestHash, ...(r.pinned ? { pinned_manifest_blake3: r.pinned } : {}),
    };
    try {
      this.checkPin(r);
      this.verifyModule(r);
      this.compile(r.loaded.manifest, m, effectiveLimits(r.loaded.manifest, this.o.config));
      return { ok: true, ...base };
    } catch (e) {
      if (!(e instanceof ToolFailure)) throw e;
      return { ok: false, ...base, code: e.code, message: e.message };
    }
  }

  // ---- running ---------------------------------------------------------------------------------

  private compile(m: ToolManifest, mod: { bytes: Uint8Array; hash: string }, limits: ToolLimits): Compiled & { key: string } {
    const maxPages = Math.max(0, Math.floor((limits.memory_mb * 1048576) / PAGE_BYTES));
    const key = `${mod.hash}:${limits.fuel}:${maxPages}`;
    let c = this.compiled.get(key);
    if (!c) {
      let rewritten;
      try {
        // The runner lends the module a pooled memory per call (sandbox.ts MemoryPool).
        rewritten = rewriteModule(mod.bytes, { fuel: limits.fuel, maxPages, importMemory: true });
      } catch (e) {
        if (e instanceof WasmRewriteError) throw new ToolFailure(e.code, `${m.name}: ${e.message}`);
        throw e;
      }
      let module: WebAssembly.Module;
      try {
        module = new WebAssembly.Module(rewritten.bytes);
      } catch (e) {
        throw new ToolFailure('invalid_module', `${m.name}: not a valid WebAssembly module: ${(e as Error).message}`);
      }
      const bad = unsupportedImports(module, wasiFunctionNames());
      if (bad.length) throw new ToolFailure('invalid_module', `${m.name}: the module imports what the runner does not offer: ${bad.slice(0, 8).join(', ')}`);
      c = { module, initialPages: rewritten.initialPages, maxPages };
      if (this.compiled.size >= 128) this.compiled.delete(this.compiled.keys().next().value!);
      this.compiled.set(key, c);
    }
    return { ...c, key };
  }

  /** Verified, rewritten and compiled module of a tool (tests and the bench drive the pool with it). */
  async prepare(target: { name?: string; manifest?: string }): Promise<{ key: string; module: WebAssembly.Module; manifest: ToolManifest; limits: ToolLimits; memoryPages: { initial: number; maximum: number } }> {
    const r = await this.resolve(target);
    this.checkPin(r);
    const limits = effectiveLimits(r.loaded.manifest, this.o.config);
    const c = this.compile(r.loaded.manifest, this.verifyModule(r), limits);
    return { key: c.key, module: c.module, manifest: r.loaded.manifest, limits, memoryPages: { initial: c.initialPages, maximum: c.maxPages } };
  }

  compiledCount(): number {
    return this.compiled.size;
  }

  private workspaceFor(req: ToolRunRequest): string {
    if (req.workspace) return path.resolve(req.workspace);
    const id = req.agent ?? 'default';
    const agents = this.o.rootConfig?.agents;
    const entry = Array.isArray(agents) ? agents.find((a: { id?: string }) => a?.id === id) : undefined;
    return entry?.workspace ? path.resolve(String(entry.workspace)) : path.join(this.o.dataDir, 'workspaces', id);
  }

  private preopens(m: ToolManifest, workspace: string): Array<{ guest: string; host: string; ro: boolean }> {
    if (!m.preopens.length) return [];
    mkdirSync(workspace, { recursive: true });
    const root = realpathSync(workspace);
    return m.preopens.map((p, i) => {
      const sub = p.host === 'workspace' ? '' : p.host.slice('workspace/'.length);
      let host: string;
      try {
        host = realpathSync(path.join(root, sub));
      } catch {
        throw new ToolFailure('invalid_manifest', `${m.name}: preopens.${i}.host: ${p.host} does not exist in the workspace ${root}`);
      }
      if (host !== root && !host.startsWith(root + path.sep)) throw new ToolFailure('invalid_manifest', `${m.name}: preopens.${i}.host: ${p.host} leads outside the workspace`);
      return { guest: p.guest, host, ro: p.mode !== 'rw' };
    });
  }

  /** One call; never throws for a tool's failure (the reply says what went wrong). */
  async run(req: ToolRunRequest): Promise<ToolRunReply> {
    const started = performance.now();
    const ms = () => Math.round((performance.now() - started) * 1000) / 1000;
    let name = req.name ?? req.manifest ?? '?';
    try {
      const r = await this.resolve(req);
      const m = r.loaded.manifest;
      name = m.name;
      this.checkPin(r);
      const mod = this.verifyModule(r);
      const limits = effectiveLimits(m, this.o.config);
      const args = req.args ?? {};
      const problem = argumentProblem(m, `${mod.hash}:${r.manifestHash}`, args);
      if (problem) throw new ToolFailure('invalid_arguments', `invalid arguments for ${m.name}: ${problem}`);
      const c = this.compile(m, mod, limits);
      const env = this.o.env ?? process.env;
      const http = m.network.allow.length
        ? makeHttpHost({
          manifest: m, config: this.o.config.network, env, ...(this.o.resolver ? { resolver: this.o.resolver } : {}),
          onRequest: (e) => this.o.log?.info({ tool: m.name, ...e }, `tool ${m.name} ${e.method} ${e.host}${e.status ? ` → ${e.status}` : ` refused: ${e.error}`}`),
        })
        : undefined;
      const timeoutMs = Math.min(limits.timeout_ms, req.timeout_ms ?? Infinity);
      const outcome = await this.pool.run({
        key: c.key, module: c.module, timeoutMs, ...(http ? { http, httpTimeoutMs: this.o.config.network.request_timeout_ms } : {}),
        spec: {
          name: m.name, stdin: new TextEncoder().encode(JSON.stringify(args)), env: m.env, preopens: this.preopens(m, this.workspaceFor(req)),
          fuel: limits.fuel, outputBytes: limits.output_bytes, logBytes: this.o.config.log_bytes, memoryCapBytes: c.maxPages * PAGE_BYTES,
          memoryPages: { initial: c.initialPages, maximum: c.maxPages },
        },
      });
      const secrets = m.secrets.map((s) => ({ name: s.name, value: env[s.name] ?? '' }));
      let output = redactSecrets(outcome.output, secrets);
      let log = redactSecrets(outcome.log, secrets);
      let code = outcome.code as string | undefined;
      let message = outcome.message ? redactSecrets(outcome.message, secrets) : undefined;
      if (output || log) {
        const checked = await this.safetyPass(output, log, req.agent);
        output = checked.output;
        log = checked.log;
        if (checked.blocked) { code = 'blocked_by_safety'; message = checked.blocked; }
      }
      return {
        ok: outcome.ok && !code, output, ...(code ? { code, message } : {}), ms: ms(),
        fuel_used: outcome.fuelUsed, memory_peak_bytes: outcome.memoryPeakBytes,
        ...(log ? { log } : {}), ...('exitCode' in outcome && outcome.exitCode !== undefined ? { exit_code: outcome.exitCode } : {}),
      };
    } catch (e) {
      if (e instanceof ToolFailure) return { ok: false, output: '', code: e.code, message: e.message, ms: ms() };
      this.o.log?.error({ err: e, tool: name }, `tool ${name}: unexpected failure`);
      return { ok: false, output: '', code: 'runner_unavailable', message: `${name}: ${(e as Error).message}`, ms: ms() };
    }
  }

  /** Leak detector (redact) and untrusted-content inspection; fails closed when safety cannot answer. */
  private async safetyPass(output: string, log: string, agent?: string): Promise<{ output: string; log: string; blocked?: string }> {
    const ask = this.o.ask;
    if (!ask) return { output, log };
    try {
      const scope = agent ? { agent } : {};
      const g = output ? await ask(SAFETY_ACTOR, 'safety.guard_tool_output', { text: output, source: 'tool', ...(log ? { also_redact: [log] } : {}), ...scope }, { timeoutMs: 10_000 }) : undefined;
      const [inspected, red, redLog] = g ? [g.inspected, g.redacted, g.also_redacted[0]] : [undefined, undefined, log ? await ask(SAFETY_ACTOR, 'safety.redact', { text: log, ...scope }, { timeoutMs: 10_000 }) : undefined];
      if (inspected?.action === 'block') {
        const rules = [...new Set(inspected.findings.map((f) => f.rule))].join(', ');
        return { output: '', log: redLog?.text ?? '', blocked: `the tool's output was withheld by the safety layer (${rules || 'injection score ' + inspected.injection.score})` };
      }
      return { output: red?.text ?? output, log: redLog?.text ?? log };
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'error';
      return { output: '', log: '', blocked: `the tool's output was withheld: the safety layer could not check it (${code}: ${(e as Error).message})` };
    }
  }
}
