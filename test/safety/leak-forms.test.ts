/**
 * Secrets in every assignment syntax (the forms secret scanners' rule tests use: INI, JSON, escaped
 * JSON, XML, YAML block scalars, Go/Java/C#/Kotlin/PHP/Python, Makefile operators, CSV, setters),
 * second-pass formats, decoded carriers (Kubernetes data:, base64-wrapped JWTs), and near misses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeakDetector } from '../../actors/safety/leak-detector.js';
import { ALNUM, HEX, mixed, rand } from './helpers.js';

const d = new LeakDetector();
const secretsIn = (t: string) => d.scan(t).filter((f) => f.category === 'secret');
const uuid = () => `${rand(HEX, 8)}-${rand(HEX, 4)}-${rand(HEX, 4)}-${rand(HEX, 4)}-${rand(HEX, 12)}`;

const FORMS = [
  '{i}Token="{s}"', '{i}Token = {s}', '{\n    "{i}_token": "{s}"\n}', '\\{\n    \\"{i}_token\\": \\"{s}\\"\n\\}',
  '<{i}Token>{s}</{i}Token>', '<{i}Token>\n    {s}\n</{i}Token>', '{i}_token: \'{s}\'', '{i}_token: |\n  {s}', '{i}_token: >\n  {s}',
  'string {i}Token = "{s}";', 'var {i}Token string = "{s}"', '{i}Token := `{s}`', 'String {i}Token = "{s}";', 'var {i}Token: String = "{s}"',
  '${i}Token .= "{s}"', '${i}Token ??= "{s}"', '{i}Token,{s},', '  "{i}Token" => "{s}"', '{I}_TOKEN ::= "{s}"', '{I}_TOKEN :::= "{s}"',
  '{I}_TOKEN ?= "{s}"', '{I}_TOKEN += "{s}"', 'System.setProperty("{I}_TOKEN", "{s}")', 'config.put("{i}_token", "{s}");',
  'os.environ["{I}_TOKEN"] = "{s}"', '<entry name="{i}Token" value="{s}" />', '--{i}-token {s}', '{i}_token\t{s}',
];

test('a random value after a key name is found in every assignment syntax', () => {
  for (const form of FORMS) {
    for (const i of ['acme', 'billing']) {
      const s = mixed(ALNUM, 32);
      const t = form.replaceAll('{i}', i).replaceAll('{I}', i.toUpperCase()).replaceAll('{s}', s);
      const f = secretsIn(t);
      assert.ok(f.some((x) => t.slice(x.start, x.end) === s), `${JSON.stringify(t)}: ${JSON.stringify(f.map((x) => t.slice(x.start, x.end)))}`);
    }
  }
});

test('second-pass formats and decoded carriers', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.' + rand(ALNUM + '_-', 43);
  const B32 = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const cases: Array<[string, string]> = [
    [`apiVersion: v1\nkind: Secret\ntype: Opaque\ndata:\n  password: ${Buffer.from('Zr8qLm' + mixed(ALNUM, 10)).toString('base64')}\n`, 'secret.kubernetes_secret'],
    [`config: ${Buffer.from(jwt).toString('base64')}`, 'secret.jwt'],
    [`BUNDLE_GEMS__EXAMPLE__COM: ${rand(HEX, 8)}:${rand(HEX, 8)}`, 'secret.bundler_credentials'],
    [`fb = "1${rand('0123456789', 15)}|${mixed(ALNUM, 27)}"`, 'secret.facebook_app_token'],
    [`TWITTER_BEARER=${'A'.repeat(22)}${mixed(ALNUM, 40)}%2F${mixed(ALNUM, 40)}`, 'secret.twitter_bearer_token'],
    [`FLW=FLWSECK_TEST-${rand(HEX, 32)}-X`, 'secret.flutterwave_secret_key'],
    [`sgp_${rand(HEX, 40)}`, 'secret.sourcegraph_token'],
    [`A3-${rand(B32, 6)}-${rand(B32, 6)}-${rand(B32, 5)}-${rand(B32, 5)}-${rand(B32, 5)}-${rand(B32, 5)}`, 'secret.onepassword_secret_key'],
    [`SNYK = "${uuid()}"`, 'secret.vendor_uuid_token'],
    [`DATABASE_URL=postgres://admin:Zr8#qLm${mixed(ALNUM, 8)}@db.example.net:5432/app`, 'secret.basic_auth_url'],
    [`_auth = ${Buffer.from('me:' + mixed(ALNUM, 12)).toString('base64')}`, 'secret.npm_auth'],
    [`LTAI${mixed(ALNUM, 20)}`, 'secret.alibaba_access_key'],
  ];
  for (const [t, rule] of cases) assert.ok(secretsIn(t).some((f) => f.rule === rule), `${rule} in ${JSON.stringify(t.slice(0, 80))}: ${secretsIn(t).map((f) => f.rule)}`);
});

test('near misses stay clean: doc placeholders, ids, CSRF tokens, scope tables, wrong suffixes, placeholder secrets', () => {
  const clean = [
    'curl -u user:token https://api.example.com/v1', 'curl -u username:password https://x.example.com',
    `credentialsId: '${uuid()}'`, `<input type="hidden" name="authenticity_token" value="${mixed(ALNUM, 43)}">`,
    'GpgKeysWrite: "gpg_keys:write",\nReposRead: "repos:read",', `see sk-ant-api03-${mixed(ALNUM, 93)}XY in the log`,
    'apiVersion: v1\nkind: ConfigMap\ndata:\n  mode: cHJvZHVjdGlvbg==\n', `kind: Secret\ndata:\n  password: ${Buffer.from('your_password').toString('base64')}\n`,
    'assets/video_box.ico-7a388b69018576d24b59331fd60aab0c.png', `${'A'.repeat(120)}`,
  ];
  for (const t of clean) assert.deepEqual(secretsIn(t).map((f) => f.rule), [], JSON.stringify(t.slice(0, 80)));
});
