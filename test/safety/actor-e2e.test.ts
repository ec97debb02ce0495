/**
 * The safety actor through the real kernel (own file: the unit tests' synchronous 50 MB scans would
 * otherwise block the main thread that answers the kernel's liveness checks).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSystem, ActorError, type ActorSystem } from '../../src/kernel/index.js';
import { checkUrlOrDeny, redactOrBlock } from '../../protocol/safety.js';
import { REDACT_WINDOW } from '../../actors/safety/layer.js';

const SAFETY_MODULE = fileURLToPath(new URL('../../actors/safety/index.js', import.meta.url));

// ---- through the real kernel ------------------------------------------------------------------------

let sys: ActorSystem;
let dir: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rc-safety-'));
  sys = await startSystem({
    config: { data_dir: dir, log: { level: 'silent' }, endpoint: { enabled: false } },
    tree: { kind: 'supervisor', id: 'root', children: [{ kind: 'worker', id: 'system/safety', actors: [{ path: 'system/safety', module: SAFETY_MODULE, config: { custom_rules: [{ id: 'ticket', pattern: 'INC-[0-9]{6}', category: 'pii', action: 'sanitize' }] } }] }] },
  });
  await sys.waitUp('system/safety');
});
after(async () => {
  await sys.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('e2e: messages through the kernel, custom config rule, fingerprint stable across calls', async () => {
  const tok = 'AKIA' + 'QWERTYUIOPASDFGH'.replace(/O/g, 'Z');
  const a = await sys.ask('system/safety', 'safety.redact', { text: `id ${tok} ticket INC-123456` });
  assert.match(a.text, /^id \[REDACTED:aws_access_key:([0-9a-f]{8})\] ticket \[REDACTED:ticket:[0-9a-f]{8}\]$/);
  const b = await sys.ask('system/safety', 'safety.redact', { text: tok });
  assert.equal(a.findings[0].fingerprint, b.findings[0].fingerprint);
  assert.equal((await sys.ask('system/safety', 'safety.check_url', { url: 'http://[::ffff:169.254.169.254]/' })).allowed, false);
  const stats = await sys.ask('system/safety', 'safety.stats', {});
  assert.ok(stats.rules['secret.aws_access_key'].sanitize >= 2);
  const bytes = await sys.ask('system/safety', 'safety.inspect_inbound', { text: Buffer.from([0x68, 0x69, 0xc3]) });
  assert.equal(bytes.text, 'hi\uFFFD');
});

test('e2e: actor crash mid-scan gives the caller a typed error; outbound helpers deny by default', async () => {
  const ask = sys.ask.bind(sys);
  const big = ('lorem ipsum key = value token: abc ' + 'x'.repeat(40) + '\n').repeat(100_000);
  const pending = sys.ask('system/safety', 'safety.redact', { text: big }, { timeoutMs: 30_000 }).catch((e) => e);
  await new Promise((r) => setTimeout(r, 30));
  const url = checkUrlOrDeny(ask, 'https://example.com/');
  const red = redactOrBlock(ask, 'secret stuff');
  // Terminated at once, mid-scan (a hard crash: the queued checks never run).
  sys.threadOf('system/safety')!.kill('crash', 'killed by test', 0);
  const err = await pending;
  assert.ok(err instanceof ActorError, String(err));
  assert.equal(err.code, 'actor_crashed');
  const u = await url;
  assert.equal(u.allowed, false);
  assert.match(u.reason!, /denied by default/);
  const r = await red;
  assert.equal(r.blocked, true);
  assert.ok(!r.text.includes('secret stuff'));
  // The supervisor restarts the actor and it serves again.
  await sys.waitUp('system/safety', 10_000);
  let ok: any;
  for (let i = 0; i < 100 && !ok; i++) {
    ok = await checkUrlOrDeny(ask, 'https://1.1.1.1/').then((v) => (v.rule === 'safety_unavailable' ? undefined : v));
    if (!ok) await new Promise((r2) => setTimeout(r2, 50));
  }
  assert.equal(ok?.allowed, true);
});

test('e2e: a 20 MB redaction is windowed (the actor keeps answering liveness pings) and loses nothing at window edges', async () => {
  const tok = 'gh' + 'p_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
  const filler = 'plain words without anything secret in them. ';
  let text = filler.repeat(Math.ceil((REDACT_WINDOW - 20) / filler.length)).slice(0, REDACT_WINDOW - 20);
  text += ` db_password = "Q7w8E9r0T1y2U3i4" ${tok} `;
  while (text.length < 20_000_000) text += filler.repeat(10_000);
  const r = await sys.ask('system/safety', 'safety.redact', { text }, { timeoutMs: 120_000 });
  assert.deepEqual(r.findings.map((f: any) => f.rule), ['secret.generic_password', 'secret.github_pat']);
  assert.ok(!r.text.includes(tok) && !r.text.includes('Q7w8E9r0T1y2U3i4'));
  assert.equal(r.text.length, text.length - tok.length - 16 + r.findings.reduce((n: number, f: any) => n + `[REDACTED:${f.rule.split('.')[1]}:${f.fingerprint}]`.length, 0));
});
