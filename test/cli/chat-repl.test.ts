import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { repl, type ChatCliRuntime } from '../../src/cli/commands/chat.js';

test('REPL: /help and unknown /commands are answered locally, never sent to the model; text is', async () => {
  const asks: Array<{ to: string; type: string; payload: any }> = [];
  const rt = {
    ask: async (to: string, type: string, payload?: unknown) => {
      asks.push({ to, type, payload });
      return { text: 'hi back', usage: { provider: 'p', model: 'm', input_tokens: 1, output_tokens: 1, cost_usd: 0 } } as any;
    },
    close: async () => {},
  } as unknown as ChatCliRuntime;
  const out: string[] = [];
  const err: string[] = [];
  const input = new PassThrough();
  const done = repl(rt, 'default', { session: 'main' }, { out: (s) => out.push(s), err: (s) => err.push(s) }, input);
  input.end('/help\n/frobnicate\nhello\n/exit\n');
  await done;
  assert.match(err.join(''), /commands: \/reset .*\/help, \/exit/);
  assert.match(err.join(''), /unknown command \/frobnicate/);
  const sends = asks.filter((a) => a.type === 'agent.send');
  assert.deepEqual(sends.map((a) => a.payload.text), ['hello']);
  assert.match(out.join(''), /hi back/);
});
