/**
 * The package as a user gets it: `npm pack` the project, install the tarball into a fresh folder
 * beside a copy of examples/embedded (its own package, with its own actor), compile it with
 * TypeScript against the installed types, and run it: the service starts with the built-in actors
 * plus the example's greeter, and the example asks the greeter through `rustyclaw/client`.
 * Dependencies come from the npm registry (or the local npm cache).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../kernel/helpers.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('npm pack → npm install the tarball → the embedded example compiles and runs', { timeout: 900_000 }, async () => {
  const dir = tempDir('rc-pack-');
  // dist/ is already built by `npm test`; --ignore-scripts skips `prepare` (a second build).
  await exec(NPM, ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, timeout: 300_000 });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  assert.ok(tgz, 'npm pack wrote a tarball');

  const app = path.join(dir, 'app');
  cpSync(path.join(ROOT, 'examples', 'embedded'), app, { recursive: true, filter: (src) => !/[/\\](node_modules|dist|\.rustyclaw)$/.test(src) });
  const pkgFile = path.join(app, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { dependencies: Record<string, string> };
  pkg.dependencies.rustyclaw = `file:${path.join(dir, tgz)}`;
  writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_audit: 'false', npm_config_fund: 'false' };
  await exec(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, env, timeout: 600_000 });

  // Deep imports are not public: `exports` blocks them.
  const deep = await exec(process.execPath, ['--input-type=module', '-e', "await import('rustyclaw/dist/src/kernel/router.js')"], { cwd: app }).catch((e: { stderr: string }) => e);
  assert.match(String((deep as { stderr: string }).stderr), /ERR_PACKAGE_PATH_NOT_EXPORTED/);

  await exec(process.execPath, [path.join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app, timeout: 300_000 });
  const run = await exec(process.execPath, ['dist/main.js'], { cwd: app, env: { ...process.env, GREET_NAME: 'packed' }, timeout: 180_000 });
  assert.match(run.stdout, /^Hi, packed! \(greeting number 1\)$/m);
  assert.match(run.stdout, /system\/greeter=running/);
  assert.match(run.stdout, /system\/memory=running/, 'the built-in actors run beside it');
  rmSync(dir, { recursive: true, force: true });
});
