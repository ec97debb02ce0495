/**
 * User-written actors, black-box: `rustyclaw start` loads a module named in the config from outside
 * this repo, gives it its own config section and message map, and asks reach it from another
 * process through `rustyclaw/client`. Bad modules and sections stop `start` at config load with an
 * error naming the YAML path, its line and the module; nothing is started and no data is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDir } from '../kernel/helpers.js';
import { connect } from '../../src/client/index.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const LIB = pathToFileURL(fileURLToPath(new URL('../../src/index.js', import.meta.url))).href;
const exec = promisify(execFile);

/** A user actor module (plain ESM, as a user would ship it) importing the library entry. */
const COUNTER = `
import { defineActor, messagesOf, Type } from '${LIB}';
export const counterMessages = messagesOf('system/counter', {
  'counter.add': { request: Type.Object({ n: Type.Integer() }, { additionalProperties: false }), reply: Type.Object({ total: Type.Integer(), step: Type.Integer() }) },
  'counter.broken': { request: Type.Object({}), reply: Type.Object({ total: Type.Integer() }) },
});
export default defineActor({
  messages: counterMessages,
  config: Type.Object({ step: Type.Integer({ minimum: 1, default: 1 }) }, { additionalProperties: false }),
  setup(ctx) {
    let total = 0;
    return {
      handlers: {
        'counter.add': (p) => ({ total: (total += p.n * ctx.config.step), step: ctx.config.step }),
        // Drift on purpose: the reply schema says total is an integer.
        'counter.broken': () => ({ total: 'many' }),
      },
    };
  },
});
`;

function config(dir: string, actor: string, section = 'counter:\n  step: 2\n'): string {
  const file = path.join(dir, 'rustyclaw.yaml');
  writeFileSync(
    file,
    `data_dir: ${dir}/data\nendpoint:\n  port: 0\nkernel:\n  system_actors: []\n  liveness:\n    deadline_ms: 10000\n  actors:\n    agent:\n      enabled: false\n    ${actor}:\n      module: ./mods/${actor}.js\n      on_crash: redeliver\n${section}`,
  );
  return file;
}

function module(dir: string, name: string, text: string): void {
  mkdirSync(path.join(dir, 'mods'), { recursive: true });
  writeFileSync(path.join(dir, 'mods', `${name}.js`), text);
}

async function startFails(cfg: string): Promise<{ code: number; stderr: string }> {
  const r = await exec(process.execPath, [CLI, '--config', cfg, 'start'], { env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn' }, timeout: 60_000, cwd: tempDir('rc-cwd-') }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
  return r;
}

async function startService(cfg: string): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, '--config', cfg, 'start'], { env: { ...process.env, RUSTYCLAW_LOG_LEVEL: 'warn' }, cwd: tempDir('rc-cwd-') });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const t0 = Date.now();
  while (!out.includes('ready in')) {
    if (Date.now() - t0 > 60_000 || child.exitCode !== null) throw new Error(`no ready line: ${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, exited };
}

test('a user actor runs beside the built-in ones with its own section and messages; drift is invalid_reply', async () => {
  const dir = tempDir('rc-user-');
  module(dir, 'counter', COUNTER);
  const cfg = config(dir, 'counter');
  const svc = await startService(cfg);
  try {
    const rc = await connect({ dataDir: path.join(dir, 'data') });
    try {
      assert.deepEqual(await rc.askDynamic('system/counter', 'counter.add', { n: 3 }), { total: 6, step: 2 });
      // The endpoint checks the user's own schema (boundary), naming the field.
      await assert.rejects(rc.askDynamic('system/counter', 'counter.add', { n: 'x' }), (e: Error & { code?: string }) => e.code === 'invalid_message' && /payload\.n/.test(e.message));
      if (process.env.RUSTYCLAW_VALIDATE === 'all') {
        await assert.rejects(rc.askDynamic('system/counter', 'counter.broken', {}), (e: Error & { code?: string }) => e.code === 'invalid_reply' && /counter\.broken/.test(e.message) && /reply\.total/.test(e.message));
      }
      // ... and keeps serving.
      assert.deepEqual(await rc.askDynamic('system/counter', 'counter.add', { n: 1 }), { total: 8, step: 2 });
      const st = await rc.ask('kernel', 'kernel.status');
      assert.ok(st.actors.some((a) => a.path === 'system/counter' && a.state === 'running'));
    } finally {
      await rc.close();
    }
  } finally {
    svc.child.kill('SIGTERM');
    await svc.exited;
  }
});

test('bad user actors stop start at config load, naming the YAML path, line and module; no data is written', async () => {
  const cases: Array<{ name: string; text?: string; section?: string; expect: RegExp[] }> = [
    { name: 'missing', expect: [/line \d+: kernel\.actors\.missing\.module/, /cannot load actor module '\.\/mods\/missing\.js'/] },
    { name: 'nodefault', text: `export const x = 1;\n`, expect: [/kernel\.actors\.nodefault\.module/, /nodefault\.js has no default export/] },
    { name: 'notactor', text: `export default { hello: 'world' };\n`, expect: [/kernel\.actors\.notactor\.module/, /is not an actor definition/] },
    {
      name: 'collide',
      text: `import { defineActor, messagesOf, Type } from '${LIB}';\nexport default defineActor({ messages: messagesOf('system/collide', { 'memory.search': { request: Type.Object({}), reply: Type.Null() } }), setup: () => ({ handlers: { 'memory.search': () => null } }) });\n`,
      expect: [/kernel\.actors\.collide\.module/, /'memory\.search'.*collides with a built-in actor/],
    },
    { name: 'counter', text: COUNTER, section: 'counter:\n  step: "two"\n', expect: [/line \d+: counter\.step: Expected integer, got "two"/, /schema of actor module .*counter\.js/] },
    { name: 'syntax', text: `export default defineActor({ oops \n`, expect: [/kernel\.actors\.syntax\.module/, /cannot load actor module/] },
  ];
  for (const c of cases) {
    const dir = tempDir('rc-user-bad-');
    if (c.text !== undefined) module(dir, c.name, c.text);
    const cfg = config(dir, c.name, c.section ?? '');
    const r = await startFails(cfg);
    assert.equal(r.code, 1, `${c.name}: exit code (stderr: ${r.stderr})`);
    for (const re of c.expect) assert.match(r.stderr, re, c.name);
    assert.ok(!r.stderr.includes('    at '), `${c.name}: no stack trace`);
    assert.ok(!existsSync(path.join(dir, 'data')), `${c.name}: nothing started, no data dir created`);
  }
});

test('a user actor may not take a built-in name', async () => {
  const dir = tempDir('rc-user-bad-');
  module(dir, 'memory', COUNTER);
  const r = await startFails(config(dir, 'memory'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /kernel\.actors\.memory\.module: 'memory' is a built-in name/);
});
