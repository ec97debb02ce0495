/**
 * `npm run build` bundles TypeBox into dist/node_modules (tools/bundle-deps.mjs): code under dist/
 * must load that copy, it must be the installed version, and schemas built by the real package
 * (a user actor outside dist/) must be checked alike by it, and the other way round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';

const root = new URL('../../../', import.meta.url);
const real = new URL('node_modules/@sinclair/typebox/', root);
const bundled = new URL('dist/node_modules/@sinclair/typebox/', root);

test('dist/ loads the bundled TypeBox, of the installed version', { skip: !existsSync(bundled) && 'not bundled (esbuild absent)' }, () => {
  assert.ok(fileURLToPath(import.meta.resolve('@sinclair/typebox')).startsWith(fileURLToPath(bundled)), import.meta.resolve('@sinclair/typebox'));
  const version = (u: URL) => (JSON.parse(readFileSync(new URL('package.json', u), 'utf8')) as { version: string }).version;
  assert.equal(version(bundled), version(real));
});

test('schemas of the real package and of the bundle are checked alike by either', async () => {
  const realEsm = (await import(new URL('build/esm/index.mjs', real).href)) as typeof import('@sinclair/typebox');
  const realValue = (await import(new URL('build/esm/value/index.mjs', real).href)) as typeof import('@sinclair/typebox/value');
  const fromReal = realEsm.Type.Object({ id: realEsm.Type.Integer({ minimum: 1 }), tags: realEsm.Type.Array(realEsm.Type.String()) }, { additionalProperties: false });
  const fromBundle = Type.Object({ id: Type.Integer({ minimum: 1 }), tags: Type.Array(Type.String()) }, { additionalProperties: false });
  const good = { id: 3, tags: ['a'] };
  const bad = [{ id: 0, tags: [] }, { id: 1, tags: [1] }, { id: 1, tags: [], extra: true }, { tags: [] }];
  for (const schema of [fromReal, fromBundle]) {
    const check = TypeCompiler.Compile(schema);
    assert.equal(check.Check(good), true);
    assert.equal(Value.Check(schema, good), true);
    assert.equal(realValue.Value.Check(schema, good), true);
    for (const b of bad) {
      assert.equal(check.Check(b), false, JSON.stringify(b));
      assert.equal(Value.Check(schema, b), false, JSON.stringify(b));
      assert.equal(realValue.Value.Check(schema, b), false, JSON.stringify(b));
    }
  }
});
