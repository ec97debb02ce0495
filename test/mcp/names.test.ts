/** Qualified tool names: sanitised, unique, routed by the table (never by splitting on `_`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qualifiedName, ToolTable } from '../../actors/mcp/names.js';

test('qualified names are sanitised to ^[A-Za-z0-9_-]{1,64}$ and stay unique', () => {
  assert.equal(qualifiedName('files', 'read_file'), 'files__read_file');
  assert.equal(qualifiedName('gh', 'repo.list/all'), 'gh__repo_list_all');
  const long = qualifiedName('server', 'x'.repeat(100));
  assert.match(long, /^[A-Za-z0-9_-]{1,64}$/);
  assert.equal(long.length, 64);
  const t = new ToolTable();
  const a = t.set('a', ['b__c']);
  const b = t.set('a__b', ['c']);
  assert.equal(a.get('b__c'), 'a__b__c');
  assert.notEqual(b.get('c'), 'a__b__c', 'a colliding name gets a suffix');
  assert.deepEqual(t.route(a.get('b__c')!), { server: 'a', tool: 'b__c' });
  assert.deepEqual(t.route(b.get('c')!), { server: 'a__b', tool: 'c' });
  t.drop('a');
  assert.equal(t.route('a__b__c'), undefined);
  assert.deepEqual(t.route(b.get('c')!), { server: 'a__b', tool: 'c' });
});
