/** Under `validate: all` the main thread's own actors (`kernel`) check requests too (the check loads in start()). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boot, codeOf, sup } from './helpers.js';

test('validate: all: a request to the kernel actor that does not match its schema fails with invalid_message', async () => {
  const t = await boot(sup('root', []), { validate: 'all' });
  try {
    assert.equal(await codeOf(t.sys.ask('kernel', 'kernel.ping', { extra: 1 } as never)), 'invalid_message');
    assert.deepEqual(Object.keys(await t.sys.ask('kernel', 'kernel.ping')).sort(), ['pid', 'pong']);
  } finally {
    await t.close();
  }
});
