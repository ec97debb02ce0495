/**
 * `rustyclaw tool list | add MANIFEST | remove NAME | verify NAME|MANIFEST | run NAME|MANIFEST`:
 * sandboxed WASM tools (system/tool-runner, docs/tools.md). Works against the running service or,
 * when none runs, a tree booted in this process.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';
import { table } from '../table.js';
import { TOOL_RUNNER_ACTOR } from '../../../protocol/tool-runner.js';

const LONG = { timeoutMs: 11 * 60_000 };

/** A NAME is a registered tool; anything that looks like a path (or exists as a file) is a manifest. */
function target(arg: string): { name?: string; manifest?: string } {
  if (/^[a-z0-9_-]{1,64}$/.test(arg) && !existsSync(arg)) return { name: arg };
  return { manifest: path.resolve(arg) };
}

export function register(program: Command, rt: CliRuntime): void {
  const tool = program.command('tool').description('sandboxed WASM tools: list, add, remove, verify, run');
  const out = (s: string) => void process.stdout.write(s);

  tool.command('list')
    .option('--json', 'print the registry as JSON')
    .description('registered tools (registry folder and shipped tools) with their hashes and network grants')
    .action(async (o: { json?: boolean }) => {
      const r = await rt.ask(TOOL_RUNNER_ACTOR, 'tool.list', {});
      if (o.json) out(JSON.stringify(r) + '\n');
      else if (!r.tools.length) out('no tools registered\n');
      else {
        out(table(['name', 'source', 'network', 'limits', 'module blake3', 'description'], r.tools.map((t) => [
          t.name, t.source, t.network.join(',') || '-', `${t.limits.memory_mb} MiB, ${t.limits.timeout_ms} ms`, t.module_blake3.slice(0, 16), t.description.length > 60 ? `${t.description.slice(0, 59)}…` : t.description,
        ])) + '\n');
      }
      await rt.close();
    });

  tool.command('add')
    .argument('<manifest>', 'a tool manifest (YAML or JSON) with its module beside it')
    .description('verify a tool (schema, BLAKE3) and register a copy of it in the tools folder')
    .action(async (manifest: string) => {
      const r = await rt.ask(TOOL_RUNNER_ACTOR, 'tool.add', { manifest: path.resolve(manifest) });
      out(`${r.replaced ? 're-registered' : 'registered'} ${r.tool.name} (module blake3 ${r.tool.module_blake3}, manifest pinned ${r.tool.manifest_blake3}) at ${r.tool.manifest}\n`);
      await rt.close();
    });

  tool.command('remove')
    .argument('<name>', 'a registered tool')
    .description('unregister a tool (deletes its folder in the registry)')
    .action(async (name: string) => {
      const r = await rt.ask(TOOL_RUNNER_ACTOR, 'tool.remove', { name });
      if (r.removed) out(`removed ${name}\n`);
      else {
        process.stderr.write(`rustyclaw: unknown_tool: no registered tool '${name}'\n`);
        process.exitCode = 1;
      }
      await rt.close();
    });

  tool.command('verify')
    .argument('<tool>', 'a registered tool name or a manifest file')
    .option('--json', 'print the result as JSON')
    .description("check the module's BLAKE3 against the manifest and the manifest against its pin; exit code 1 on a mismatch")
    .action(async (arg: string, o: { json?: boolean }) => {
      const r = await rt.ask(TOOL_RUNNER_ACTOR, 'tool.verify', target(arg));
      if (o.json) out(JSON.stringify(r) + '\n');
      else {
        out(`${r.ok ? 'ok' : 'FAILED'}: ${r.name}\n  module   ${r.module}\n  blake3   ${r.module_blake3}${r.module_blake3 === r.expected_blake3 ? ' (matches the manifest)' : `\n  expected ${r.expected_blake3}`}\n  manifest ${r.manifest_blake3}${r.pinned_manifest_blake3 ? (r.pinned_manifest_blake3 === r.manifest_blake3 ? ' (matches its pin)' : `\n  pinned   ${r.pinned_manifest_blake3}`) : ''}\n`);
        if (!r.ok) process.stderr.write(`rustyclaw: ${r.code}: ${r.message}\n`);
      }
      if (!r.ok) process.exitCode = 1;
      await rt.close();
    });

  tool.command('run')
    .argument('<tool>', 'a registered tool name or a manifest file')
    .option('--args <json>', 'the arguments object as JSON', '{}')
    .option('--agent <id>', "run with this agent's workspace and safety scope", 'default')
    .option('--workspace <dir>', "workspace directory for the tool's preopens (default: the agent's)")
    .option('--json', 'print {ok, output, code?, message?, ms, fuel_used?, memory_peak_bytes?}')
    .description('run a tool once in the sandbox; prints its output (exit code 1 when the call fails)')
    .action(async (arg: string, o: { args: string; agent: string; workspace?: string; json?: boolean }) => {
      let args: unknown;
      try {
        args = JSON.parse(o.args);
      } catch (e) {
        throw new Error(`--args: not valid JSON: ${(e as Error).message}`, { cause: e });
      }
      const r = await rt.ask(TOOL_RUNNER_ACTOR, 'tool.run', {
        ...target(arg), args, agent: o.agent, ...(o.workspace ? { workspace: path.resolve(o.workspace) } : {}),
      }, LONG);
      if (o.json) {
        const { ok, output, code, message, ms, fuel_used, memory_peak_bytes } = r;
        out(JSON.stringify({ ok, output, ...(code ? { code } : {}), ...(message ? { message } : {}), ms, ...(fuel_used !== undefined ? { fuel_used } : {}), ...(memory_peak_bytes !== undefined ? { memory_peak_bytes } : {}) }) + '\n');
      } else {
        if (r.output) out(r.output.endsWith('\n') ? r.output : `${r.output}\n`);
        if (!r.ok) process.stderr.write(`rustyclaw: ${r.code}: ${r.message}\n`);
      }
      if (!r.ok) process.exitCode = 1;
      await rt.close();
    });
}
