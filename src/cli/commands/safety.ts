/**
 * `rustyclaw safety scan FILE|- | check-url URL | stats | rules`: the safety guard from the shell.
 * `scan` prints findings (rule, location, action, fingerprint — never the matched text) as a table or
 * --json, and exits with code 2 when the verdict is `block` (handy in CI and git hooks).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';
import { table } from '../table.js';
import { Value } from '@sinclair/typebox/value';
import { SAFETY_ACTOR, UntrustedSource, type InspectInboundReply, type InspectUntrustedReply, type RedactReply } from '../../../protocol/safety.js';

const LONG = { timeoutMs: 10 * 60_000 };
/** Largest file `scan` sends to the actor (the actor's own limit applies too). */
const MAX_SCAN_BYTES = 64 * 1024 * 1024;

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of process.stdin) {
    n += (c as Buffer).length;
    if (n > MAX_SCAN_BYTES) throw new Error(`stdin is larger than ${MAX_SCAN_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function readTarget(target: string): Buffer | Promise<Buffer> {
  if (target === '-') return readStdin();
  const file = path.resolve(target);
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error(`${target}: not a regular file`);
    size = st.size;
  } catch (e) {
    throw new Error(`${target}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
  }
  if (size > MAX_SCAN_BYTES) throw new Error(`${target}: ${size} bytes is larger than the ${MAX_SCAN_BYTES}-byte scan limit`);
  return readFileSync(file);
}

/** 1-based line:column of each offset (offsets are UTF-16 positions in the decoded text). */
function locator(text: string): (offset: number) => string {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (off) => {
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= off) lo = mid;
      else hi = mid - 1;
    }
    return `${lo + 1}:${off - starts[lo] + 1}`;
  };
}

/** Where command output goes (stdout by default; tests pass their own sink). */
export interface CliOutput { write(s: string): void }

export function register(program: Command, rt: CliRuntime, io: CliOutput = { write: (s) => void process.stdout.write(s) }): void {
  const safety = program.command('safety').description('scan text for secrets, PII and prompt injection; check URLs; show safety counters');

  safety
    .command('scan')
    .argument('<file>', "a file to scan, or '-' for stdin")
    .option('--mode <mode>', 'untrusted (everything, as for tool/web content) | inbound (as a user message) | redact (secrets and PII only)', 'untrusted')
    .option('--source <source>', 'tool | web | document (untrusted mode)', 'document')
    .option('--agent <id>', 'apply the policy overrides of this agent')
    .option('--channel <name>', 'apply the policy overrides of this channel')
    .option('--json', 'print the reply as JSON (without the sanitized text unless --text)')
    .option('--text', 'also print the sanitized / redacted text')
    .description('print findings as a table (rule, line:col, severity, action, fingerprint); exit code 2 on a block verdict')
    .action(async (target: string, o: { mode: string; source: string; agent?: string; channel?: string; json?: boolean; text?: boolean }) => {
      if (!['untrusted', 'inbound', 'redact'].includes(o.mode)) throw new Error(`--mode must be untrusted, inbound or redact (got "${o.mode}")`);
      if (!Value.Check(UntrustedSource, o.source)) throw new Error(`--source must be tool, web or document (got "${o.source}")`);
      const bytes = await readTarget(target);
      const scope = { ...(o.agent ? { agent: o.agent } : {}), ...(o.channel ? { channel: o.channel } : {}) };
      const payload = { text: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), ...scope };
      let reply: InspectInboundReply | InspectUntrustedReply | RedactReply;
      if (o.mode === 'redact') reply = await rt.ask(SAFETY_ACTOR, 'safety.redact', payload, LONG);
      else if (o.mode === 'inbound') reply = await rt.ask(SAFETY_ACTOR, 'safety.inspect_inbound', payload, LONG);
      else reply = await rt.ask(SAFETY_ACTOR, 'safety.inspect_untrusted', { ...payload, source: o.source }, LONG);
      const verdict = 'action' in reply ? reply.action : reply.findings.length ? 'sanitize' : 'allow';
      if (o.json) {
        const { text, ...rest } = reply;
        io.write(JSON.stringify({ file: target, verdict, ...rest, ...(o.text ? { text } : {}) }) + '\n');
      } else {
        const loc = locator(new TextDecoder().decode(bytes));
        const rows = reply.findings.map((f) => [f.rule, loc(f.start), f.end - f.start, f.severity, f.action, f.fingerprint ?? '']);
        if (rows.length) io.write(table(['rule', 'line:col', 'length', 'severity', 'action', 'fingerprint'], rows) + '\n');
        const inj = 'injection' in reply ? `, injection score ${reply.injection.score}${reply.injection.families.length ? ` (${reply.injection.families.join(', ')})` : ''}` : '';
        const more = reply.truncated_findings ? ` (+${reply.truncated_findings} more not listed)` : '';
        io.write(`${target}: ${verdict}, ${reply.findings.length} finding${reply.findings.length === 1 ? '' : 's'}${more}${inj}\n`);
        if (o.text) io.write(reply.text + '\n');
      }
      if (verdict === 'block') process.exitCode = 2;
      await rt.close();
    });

  safety
    .command('check-url')
    .argument('<url>', 'the URL a tool or provider would fetch')
    .option('--no-resolve', 'static check only (no DNS lookup)')
    .option('--json', 'print the reply as JSON')
    .description('say whether an outbound request to URL would be allowed (SSRF guard); exit code 2 when blocked')
    .action(async (url: string, o: { resolve: boolean; json?: boolean }) => {
      const r = await rt.ask(SAFETY_ACTOR, 'safety.check_url', { url, resolve: o.resolve });
      if (o.json) io.write(JSON.stringify(r) + '\n');
      else io.write(`${r.allowed ? 'allowed' : 'blocked'}${r.address ? ` (${r.address})` : ''}${r.reason ? `: ${r.reason}` : ''}\n`);
      if (!r.allowed) process.exitCode = 2;
      await rt.close();
    });

  safety
    .command('stats')
    .option('--json', 'print the reply as JSON')
    .description('decision counters per rule and action since the safety actor started')
    .action(async (o: { json?: boolean }) => {
      const s = await rt.ask(SAFETY_ACTOR, 'safety.stats', {});
      if (o.json) io.write(JSON.stringify(s) + '\n');
      else {
        io.write(`since ${s.since}; scans ${Object.entries(s.scans).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; ${s.bytes} characters\n`);
        const rows = Object.entries(s.rules).sort().map(([rule, a]) => [rule, a.warn ?? 0, a.sanitize ?? 0, a.block ?? 0]);
        if (rows.length) io.write(table(['rule', 'warn', 'sanitize', 'block'], rows) + '\n');
      }
      await rt.close();
    });

  safety
    .command('rules')
    .option('--agent <id>', 'effective rules for this agent')
    .option('--channel <name>', 'effective rules for this channel')
    .option('--json', 'print the reply as JSON')
    .description('list every rule with its category, severity and effective action')
    .action(async (o: { agent?: string; channel?: string; json?: boolean }) => {
      const r = await rt.ask(SAFETY_ACTOR, 'safety.rules', { agent: o.agent, channel: o.channel });
      if (o.json) io.write(JSON.stringify(r) + '\n');
      else io.write(table(['rule', 'category', 'severity', 'action', 'description'], r.rules.map((x) => [x.id, x.category, x.severity, x.action, x.description])) + '\n');
      await rt.close();
    });
}
