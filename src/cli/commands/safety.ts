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
import { SAFETY_ACTOR, type InspectInboundReply, type InspectUntrustedReply, type RedactReply } from '../../../protocol/safety.js';

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

/** One request of a remote scan: bytes [from, to) are sent, findings starting in [ownFrom, ownTo) are kept. */
interface ScanWindow { from: number; to: number; ownFrom: number; ownTo: number; u16From: number; u16OwnFrom: number; u16OwnTo: number }

/** Bytes of context before / overlap after each window's own part (key names before values; secrets cut at an edge). */
const CONTEXT_BYTES = 4096;
const OVERLAP_BYTES = 65_536;

/** Index of the first byte of the UTF-8 character at or before i (never inside a multi-byte sequence). */
function charStart(b: Uint8Array, i: number): number {
  let j = i;
  while (j > 0 && j > i - 4 && (b[j] & 0xc0) === 0x80) j--;
  return (b[j] & 0xc0) === 0x80 ? i : j;
}

/**
 * Splits `bytes` into overlapping windows whose base64 fits one endpoint frame. UTF-16 offsets of the
 * edges come from decoding the prefix up to each edge (edges sit on character starts), so findings can
 * be placed in the whole text.
 */
function scanWindows(bytes: Uint8Array, frameBytes: number): ScanWindow[] {
  const budget = Math.floor(((frameBytes - 4096) * 3) / 4);
  const ctx = Math.min(CONTEXT_BYTES, Math.floor(budget / 8));
  const overlap = Math.min(OVERLAP_BYTES, Math.floor(budget / 4));
  const own = budget - ctx - overlap;
  if (own < 256) throw new Error(`endpoint.max_payload_bytes ${frameBytes} is too small to scan through the endpoint`);
  if (bytes.length <= budget) return [{ from: 0, to: bytes.length, ownFrom: 0, ownTo: bytes.length, u16From: 0, u16OwnFrom: 0, u16OwnTo: Infinity }];
  const edges: number[] = [0];
  while (edges[edges.length - 1] + own < bytes.length) edges.push(charStart(bytes, edges[edges.length - 1] + own));
  edges.push(bytes.length);
  const points = new Set<number>();
  const ws = edges.slice(0, -1).map((ownFrom, i) => {
    const ownTo = edges[i + 1];
    const from = charStart(bytes, Math.max(0, ownFrom - ctx));
    const to = Math.min(bytes.length, charStart(bytes, Math.min(bytes.length, ownTo + overlap)) || bytes.length);
    points.add(from).add(ownFrom).add(ownTo);
    return { from, to, ownFrom, ownTo };
  });
  // UTF-16 length of every prefix we need, in one pass over the sorted edge points.
  const u16 = new Map<number, number>();
  const dec = new TextDecoder('utf-8');
  let prev = 0;
  let acc = 0;
  for (const p of [...points].sort((a, b) => a - b)) {
    acc += dec.decode(bytes.subarray(prev, p)).length;
    u16.set(p, acc);
    prev = p;
  }
  return ws.map((w) => ({ ...w, u16From: u16.get(w.from)!, u16OwnFrom: u16.get(w.ownFrom)!, u16OwnTo: w.ownTo === bytes.length ? Infinity : u16.get(w.ownTo)! }));
}

const STRENGTH = { allow: 0, warn: 1, sanitize: 2, block: 3 } as const;

/** One reply for the whole file from the replies of its windows: findings moved to whole-text offsets, each once. */
function mergeReplies(parts: Array<{ w: ScanWindow; r: InspectInboundReply | InspectUntrustedReply | RedactReply }>): InspectInboundReply | InspectUntrustedReply | RedactReply {
  const findings: RedactReply['findings'] = [];
  const wholeInput = new Set<string>();
  let truncated = 0;
  let verdict: keyof typeof STRENGTH = 'allow';
  let injection: InspectUntrustedReply['injection'] | undefined;
  for (const { w, r } of parts) {
    truncated += r.truncated_findings ?? 0;
    for (const f of r.findings) {
      // Findings about the whole input (encoding, binary) sit at 0..0: keep one of each.
      if (f.start === 0 && f.end === 0) {
        if (wholeInput.has(f.rule)) continue;
        wholeInput.add(f.rule);
        findings.push(f);
      } else {
        const start = w.u16From + f.start;
        if (start < w.u16OwnFrom || start >= w.u16OwnTo) continue;
        findings.push({ ...f, start, end: w.u16From + f.end });
      }
      if (f.action !== 'ignore' && STRENGTH[f.action] > STRENGTH[verdict]) verdict = f.action;
    }
    if ('injection' in r) {
      const spans = r.injection.spans.map((sp) => ({ ...sp, start: w.u16From + sp.start, end: w.u16From + sp.end })).filter((sp) => sp.start >= w.u16OwnFrom && sp.start < w.u16OwnTo);
      injection = injection
        ? { score: Math.max(injection.score, r.injection.score), families: [...new Set([...injection.families, ...r.injection.families])], spans: [...injection.spans, ...spans] }
        : { ...r.injection, spans };
    }
  }
  findings.sort((a, b) => a.start - b.start);
  const base = { text: '', findings, ...(truncated ? { truncated_findings: truncated } : {}) };
  if (injection) return { ...base, action: verdict, injection };
  if ('action' in parts[0].r) return { ...base, action: verdict };
  return base;
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
      if (!['tool', 'web', 'document'].includes(o.source)) throw new Error(`--source must be tool, web or document (got "${o.source}")`);
      const bytes = await readTarget(target);
      const scope = { ...(o.agent ? { agent: o.agent } : {}), ...(o.channel ? { channel: o.channel } : {}) };
      const type = o.mode === 'redact' ? 'safety.redact' : o.mode === 'inbound' ? 'safety.inspect_inbound' : 'safety.inspect_untrusted';
      const extra = o.mode === 'untrusted' ? { source: o.source } : {};
      let reply: InspectInboundReply | InspectUntrustedReply | RedactReply;
      if (!(await rt.remote())) {
        // In-process: the bytes themselves (structured clone keeps a Uint8Array).
        reply = await rt.ask(SAFETY_ACTOR, type, { text: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), ...scope, ...extra }, LONG);
      } else {
        // Over the JSON endpoint: bytes as base64, in frames the endpoint accepts.
        const frame = rt.config().endpoint?.max_payload_bytes ?? 1_048_576;
        const windows = scanWindows(bytes, frame);
        if (windows.length > 1 && o.text) throw new Error(`${target}: --text needs the whole text in one message, but ${bytes.length} bytes take ${windows.length} frames of the running service's endpoint (endpoint.max_payload_bytes ${frame}); scan without --text, or stop the service to scan in-process`);
        const parts: Array<{ w: ScanWindow; r: InspectInboundReply | InspectUntrustedReply | RedactReply }> = [];
        for (const w of windows) parts.push({ w, r: await rt.ask(SAFETY_ACTOR, type, { text: { base64: Buffer.from(bytes.buffer, bytes.byteOffset + w.from, w.to - w.from).toString('base64') }, ...scope, ...extra }, LONG) });
        reply = windows.length === 1 ? parts[0].r : mergeReplies(parts);
      }
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
