import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeakDetector, applyRedactions, looksLikePlaceholder } from '../../actors/safety/leak-detector.js';
import { luhnValid, ibanValid, shannonEntropy } from '../../actors/safety/entropy.js';
import { FORMAT_RULES } from '../../actors/safety/leak-rules.js';
import { ALNUM, HEX, UPPER32, B64, rand, mixed, luhnNumber, secretish } from './helpers.js';

const d = new LeakDetector({ fingerprintKey: 'test-key' });
const rules = (text: string) => d.scan(text).map((f) => f.rule);

const tokens: Array<[string, () => string]> = [
  ['secret.aws_access_key', () => 'AKIA' + rand(UPPER32.replace(/[AEIOU]/g, ''), 16)],
  ['secret.github_pat', () => 'gh' + 'p_' + mixed(ALNUM, 36)],
  ['secret.github_oauth_token', () => 'gh' + 's_' + mixed(ALNUM, 36)],
  ['secret.github_fine_grained_pat', () => 'github' + '_pat_' + mixed(ALNUM, 22) + '_' + mixed(ALNUM, 59)],
  ['secret.gitlab_token', () => 'gl' + 'pat-' + mixed(ALNUM, 20)],
  ['secret.slack_token', () => 'xo' + 'xb-' + rand('123456789', 12) + '-' + rand('123456789', 13) + '-' + mixed(ALNUM, 24)],
  ['secret.stripe_secret_key', () => 'sk' + '_live_' + mixed(ALNUM, 24)],
  ['secret.anthropic_api_key', () => 'sk-' + 'ant-api03-' + mixed(ALNUM + '_-', 93) + 'AA'],
  ['secret.openai_api_key', () => 'sk-' + 'proj-' + mixed(ALNUM, 20) + 'T3Blbk' + 'FJ' + mixed(ALNUM, 20)],
  ['secret.google_api_key', () => 'AI' + 'za' + mixed(ALNUM, 35)],
  ['secret.npm_token', () => 'np' + 'm_' + mixed(ALNUM, 36)],
  ['secret.sendgrid_api_key', () => 'SG' + '.' + mixed(ALNUM, 22) + '.' + mixed(ALNUM, 43)],
  ['secret.huggingface_token', () => 'hf' + '_' + mixed(ALNUM, 34)],
  ['secret.telegram_bot_token', () => rand('123456789', 9) + ':AA' + mixed(ALNUM, 33)],
  ['secret.shopify_token', () => 'shp' + 'at_' + rand(HEX, 32)],
  ['secret.digitalocean_token', () => 'do' + 'p_v1_' + rand(HEX, 64)],
  ['secret.databricks_token', () => 'da' + 'pi' + rand(HEX, 32)],
  ['secret.age_secret_key', () => 'AGE-SECRET-' + 'KEY-1' + rand('QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L', 58)],
  ['secret.vault_token', () => 'hv' + 's.' + mixed(ALNUM, 95)],
  ['secret.postman_api_key', () => 'PM' + 'AK-' + rand(HEX, 24) + '-' + rand(HEX, 34)],
  ['secret.pulumi_token', () => 'pu' + 'l-' + rand(HEX, 40)],
  ['secret.dynatrace_token', () => 'dt0' + 'c01.' + rand(UPPER32, 24) + '.' + rand(UPPER32, 64)],
  ['secret.openrouter_api_key', () => 'sk-' + 'or-v1-' + rand(HEX, 64)],
  ['secret.google_oauth_client_secret', () => 'GOC' + 'SPX-' + mixed(ALNUM, 28)],
  ['secret.docker_hub_pat', () => 'dckr' + '_pat_' + mixed(ALNUM, 27)],
  ['secret.azure_ad_client_secret', () => mixed(ALNUM, 3) + '8Q' + '~' + mixed(ALNUM, 34)],
  ['secret.jwt', () => 'ey' + 'J' + mixed(ALNUM, 30) + '.ey' + 'J' + mixed(ALNUM, 40) + '.' + mixed(ALNUM + '_-', 43)],
];

test('every documented token format is found in prose, config and code contexts, at the right span', () => {
  for (const [rule, gen] of tokens) {
    for (const wrap of [(t: string) => `export TOKEN="${t}"`, (t: string) => `here is my key ${t} - thanks`, (t: string) => `{"value": "${t}"}`]) {
      const tok = gen();
      const text = wrap(tok);
      const f = d.scan(text).find((x) => x.category === 'secret');
      assert.ok(f, `${rule} not found in ${JSON.stringify(text.slice(0, 60))}`);
      assert.equal(f.rule, rule);
      assert.equal(text.slice(f.start, f.end), tok, `${rule} span`);
    }
  }
});

test('every format rule is bounded: hint, start and regex all present', () => {
  for (const r of FORMAT_RULES) {
    assert.ok(r.hints.length > 0 || r.scanRe, `${r.id} has neither anchors nor a scan regex`);
    assert.ok(r.re.sticky, `${r.id} regex must be sticky (anchored at the hint)`);
    assert.ok(!/[^\\][*+]\)[*+{]/.test(r.re.source), `${r.id} has a nested quantifier`);
  }
});

test('context rules: passwords in URLs, curl -u, auth headers, key=value, PEM keys', () => {
  const pw = secretish(14);
  assert.deepEqual(rules(`DATABASE_URL=postgres://app:${pw}@db.internal.example:5432/x`), ['secret.basic_auth_url']);
  assert.deepEqual(rules(`curl -u admin:${pw} https://api.example.org/`), ['secret.http_basic_auth']);
  assert.deepEqual(rules(`curl -H "Authorization: Bearer ${mixed(ALNUM, 32)}" https://x.example`), ['secret.http_auth_header']);
  assert.deepEqual(rules(`db_password = "${pw}"`), ['secret.generic_password']);
  assert.deepEqual(rules(`<password>${pw}</password>`), ['secret.generic_password']);
  assert.deepEqual(rules(`psql --password ${pw} -h db`), ['secret.generic_password']);
  const q = `https://api.example.com/v1?api_key=${pw}&format=json`;
  const fq = d.scan(q);
  assert.deepEqual(fq.map((f) => q.slice(f.start, f.end)), [pw], 'value stops at &');
  assert.deepEqual(rules('if (token > maxTokens) return;'), []);
  assert.deepEqual(rules(`client_secret: ${secretish(28)}`), ['secret.generic_secret']);
  const aws = secretish(38) + '+/';
  assert.deepEqual(rules(`aws_secret_access_key=${aws}`), ['secret.aws_secret_key']);
  const pem = `-----BEGIN RSA PRIVATE ` + `KEY-----\n${rand(B64, 64)}\n${rand(B64, 64)}\n-----END RSA PRIVATE KEY-----`;
  const f = d.scan(`key:\n${pem}\nrest`);
  assert.equal(f.length, 1);
  assert.equal(f[0].rule, 'secret.private_key');
  assert.equal(`key:\n${pem}\nrest`.slice(f[0].start, f[0].end), pem);
});

test('near misses stay clean: placeholders, references, hashes, uuids, identifiers, public keys', () => {
  const clean = [
    'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7' + 'EXAMPLE',
    'api_key = os.environ["STRIPE_SECRET_KEY"]',
    'password: ${{ secrets.DB_PASSWORD }}',
    'token = getToken(user)',
    'const SECRET_NAME = SUGGESTIONS_QUERY_KEY;',
    'X-Request-ID: 25010d95-2f7e-433c-8d15-017d07ad8ab8',
    'git cherry-pick 9febafb621f407ec7fd0d398783fa3a63418f694',
    '"integrity": "sha512-' + rand(B64, 86) + '=="',
    'password = "********"',
    'SLACK_WEBHOOK_URL=https://hooks.slack.com/services/XXX/YYY/ZZZ',
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJTHRHY3tLWbPX4xJCTDWETHAruGi6phvK deploy@ci',
    'The token must be rotated every 90 days; store the password in the vault.',
    'for (const key of Object.keys(map)) { total += map[key]; }',
  ];
  for (const c of clean) assert.deepEqual(d.scan(c).filter((f) => f.category === 'secret').map((f) => f.rule), [], c);
});

test('PII: Luhn-valid cards, mod-97 IBANs, emails, phones; invalid checksums ignored', () => {
  const visa = luhnNumber('4', 16);
  assert.ok(luhnValid(visa));
  assert.deepEqual(rules(`card ${visa.replace(/(\d{4})(?=\d)/g, '$1 ')} exp 12/29`), ['pii.credit_card']);
  const bad = visa.slice(0, 15) + String((Number(visa[15]) + 1) % 10);
  assert.deepEqual(rules(`card ${bad}`), []);
  assert.ok(ibanValid('GB82 WEST 1234 5698 7654 32'));
  assert.ok(!ibanValid('GB82 WEST 1234 5698 7654 33'));
  assert.deepEqual(rules('pay to GB82 WEST 1234 5698 7654 32 today'), ['pii.iban']);
  assert.deepEqual(rules('pay to GB82 WEST 1234 5698 7654 33 today'), []);
  assert.deepEqual(rules('mail jane.doe+test@mail.example.org now'), ['pii.email']);
  assert.deepEqual(rules('call +44 20 7946 0958 or (555) 123-4567'), ['pii.phone', 'pii.phone']);
  assert.deepEqual(rules('"minizlib@npm:3.1.0"'), []);
});

test('redaction replaces the value with a stable fingerprint, never the secret itself', () => {
  const tok = 'gh' + 'p_' + mixed(ALNUM, 36);
  const text = `first ${tok} then again ${tok}`;
  const f = d.scan(text);
  assert.equal(f.length, 2);
  assert.equal(f[0].fingerprint, f[1].fingerprint);
  const out = applyRedactions(text, f);
  assert.ok(!out.includes(tok));
  assert.match(out, /^first \[REDACTED:github_pat:[0-9a-f]{8}\] then again \[REDACTED:github_pat:[0-9a-f]{8}\]$/);
  assert.notEqual(new LeakDetector({ fingerprintKey: 'other' }).fingerprint(tok), f[0].fingerprint, 'fingerprints are keyed');
});

test('helpers: entropy and placeholder heuristics', () => {
  assert.ok(shannonEntropy('aaaaaaaa') === 0);
  assert.ok(shannonEntropy(rand(B64, 64)) > 4.5);
  assert.ok(looksLikePlaceholder('xxxxxxxxxxxxxxxx'));
  assert.ok(looksLikePlaceholder('YOUR_API_KEY'));
  assert.ok(!looksLikePlaceholder(mixed(ALNUM, 32)));
});

test('pathological inputs stay linear: long runs against every pattern, 50 MB of text', () => {
  const runs = ['a'.repeat(100_000) + '!', 'A'.repeat(100_000), '0'.repeat(100_000) + 'x', 'sk-'.repeat(30_000), 'key='.repeat(25_000), '@'.repeat(50_000) + 'a.bc', 'a@'.repeat(50_000), '-----BEGIN PRIVATE KEY-----'.repeat(4000), ':AA'.repeat(30_000), '4'.repeat(100_000), '+1 '.repeat(30_000), 'eyJ'.repeat(30_000) + '.', 'a secret in one endless line. '.repeat(12_000), 'token\t'.repeat(30_000)];
  for (const r of runs) {
    // CPU time, not wall clock: neighbours' load on the shared machine does not count against the scan.
    const t = process.cpuUsage();
    d.scan(r);
    const c = process.cpuUsage(t);
    const ms = (c.user + c.system) / 1000;
    // Generous bound (shared 2-core machine): linear scans of 100 KB take a few ms; backtracking would take seconds.
    assert.ok(ms < 2000, `${JSON.stringify(r.slice(0, 12))}… took ${ms.toFixed(0)} ms`);
  }
  const big = ('ordinary prose about builds and tokens, key = value. ' + 'x'.repeat(30) + '\n').repeat(600_000).slice(0, 50 * 1024 * 1024);
  const f = d.scan(big);
  assert.ok(Array.isArray(f));
});
