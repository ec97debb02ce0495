/**
 * The web console in a real browser: headless Chromium from Debian's `chromium` package driven by
 * playwright-core (never `playwright install`). Token typed in; chat streams the agent's tokens;
 * the actor tree and jobs are pushed (the table changes without a reload); no CSP violation.
 * Skips loudly only where chromium is not installed (.ci/run installs it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startLlmServer, type LlmServer } from '../support/llm-servers.js';
import { call, startGatewayService, type GatewayWorld } from './helpers.js';

/** The page's DOM as the functions passed to waitForFunction see it (they run in the browser). */
declare const document: { getElementById(id: string): { textContent: string | null } | null; querySelector(sel: string): { textContent: string | null } | null };

const EXE = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!EXE) process.stderr.write('\n*** SKIPPING the console browser test: Debian chromium is not installed (apt-get install chromium; .ci/run does it) ***\n\n');

let llm: LlmServer;
let g: GatewayWorld;
let browser: Browser;

before(async () => {
  if (!EXE) return;
  llm = await startLlmServer('openai');
  g = await startGatewayService('', { OPENAI_BASE_URL: llm.url });
  browser = await chromium.launch({ executablePath: EXE, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
after(async () => {
  await browser?.close();
  await g?.stop();
  await llm?.close();
});

test('console: log in with the token, chat with streaming tokens, live actor tree and jobs, strict CSP', { skip: EXE ? false : 'chromium not installed' }, async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  const res = await page.goto(`${g.http}/`);
  assert.equal(res?.status(), 200);
  const csp = res?.headers()['content-security-policy'] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(page.url(), `${g.http}/`, 'no token in the URL');

  await page.fill('#token', 'wrong-token');
  await page.click('#connect');
  await page.waitForFunction(() => (document.getElementById('login-error')?.textContent ?? '').length > 0);
  assert.match(await page.textContent('#login-error') ?? '', /bearer token does not match/);

  await page.fill('#token', g.token);
  await page.click('#connect');
  await page.waitForSelector('#actors tr[data-path="agents/default"]', { timeout: 20_000 });
  const handledBefore = Number(await page.textContent('#actors tr[data-path="agents/default"] td:nth-child(6)'));

  llm.script.push({ kind: 'reply', reply: { text: 'hello from the browser side', chunk_size: 4, chunk_delay_ms: 30 } });
  await page.fill('#msg', 'hi from chromium');
  await page.press('#msg', 'Enter');
  // Tokens arrive while the turn runs: a part of the answer shows before the whole.
  await page.waitForFunction(() => {
    const t = document.getElementById('log')?.textContent ?? '';
    return t.includes('hello') && !t.includes('hello from the browser side');
  }, undefined, { timeout: 20_000 }).catch(async (e: Error) => {
    throw new Error(`${e.message}; the chat log shows: ${JSON.stringify(await page.textContent('#log'))}; page problems: ${problems.join(' | ')}`);
  });
  await page.waitForFunction(() => (document.getElementById('log')?.textContent ?? '').includes('hello from the browser side'), undefined, { timeout: 20_000 }).catch(async (e: Error) => {
    throw new Error(`${e.message}; the chat log shows: ${JSON.stringify(await page.textContent('#log'))}; page problems: ${problems.join(' | ')}`);
  });
  // The usage line comes with the reply (after the last token).
  await page.waitForFunction(() => /tokens\]/.test(document.getElementById('log')?.textContent ?? ''), undefined, { timeout: 20_000 });

  // Pushed, not polled by the page: the handled count of the agent changes in place.
  await page.waitForFunction((before) => Number(document.querySelector('#actors tr[data-path="agents/default"] td:nth-child(6)')?.textContent) > before, handledBefore, { timeout: 20_000 });

  // A job started elsewhere shows up in the page.
  assert.equal((await call(g, '/api/routines', { json: { id: 'browser-job', kind: 'noop', trigger: { type: 'manual' } } })).status, 201);
  assert.equal((await call(g, '/api/routines/browser-job/run', { json: {} })).status, 200);
  await page.waitForFunction(() => (document.getElementById('joblist')?.textContent ?? '').includes('browser-job'), undefined, { timeout: 20_000 });
  assert.match(await page.textContent('#routinelist') ?? '', /browser-job \(manual\)/);

  assert.deepEqual(problems.filter((p) => !/401|Unauthorized/.test(p)), [], 'no script error, no CSP violation');
  await page.close();
});
