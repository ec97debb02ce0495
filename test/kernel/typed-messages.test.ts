/**
 * The contract between protocol/, handlers and callers:
 * - every handler of every actor has its message in protocol/, every message in protocol/ has a
 *   handler (read from each actor's definition), and every published topic constant has a schema;
 * - the source keeps 0 `ask<…>` casts, 0 `any`-typed handler payloads and no untyped actor
 *   definitions in actors/ and src/;
 * - the compiler rejects a wrong payload, a wrong reply and an unknown message type (the
 *   `@ts-expect-error` lines below fail the build if the typing ever stops catching them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinMessages, builtinTopics, Type, defineActor, messagesOf } from '../../src/index.js';
import type { ActorDefinition } from '../../src/kernel/actor.js';
import { nameMatches } from '../../src/kernel/validation.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
// Every folder under actors/ is one actor (the layout is the architecture): none can be forgotten here.
const ACTORS = readdirSync(path.join(ROOT, 'actors')).filter((d) => statSync(path.join(ROOT, 'actors', d, 'index.ts'), { throwIfNoEntry: false })?.isFile());

async function definition(name: string): Promise<ActorDefinition> {
  return (await import(new URL(`../../actors/${name}/index.js`, import.meta.url).href)).default as ActorDefinition;
}

test('every built-in actor declares a message map; together they are exactly protocol/ (but the kernel own)', async () => {
  const handled = new Map<string, string>();
  for (const name of ACTORS) {
    const def = await definition(name);
    assert.ok(def.messages, `actors/${name} declares its messages (defineActor({ messages }))`);
    for (const type of Object.keys(def.messages)) {
      assert.ok(Object.hasOwn(builtinMessages, type), `${type} (handled by actors/${name}) is in protocol/`);
      assert.ok(!handled.has(type), `${type} is handled by one actor only (also ${handled.get(type)})`);
      handled.set(type, name);
      const to = builtinMessages[type as keyof typeof builtinMessages].to;
      assert.ok(nameMatches(to, name === 'agent' ? 'agents/default' : `system/${name}`), `${type} is addressed to ${to}, handled by actors/${name}`);
    }
  }
  const kernelOwn = Object.keys(builtinMessages).filter((t) => t.startsWith('kernel.'));
  for (const type of Object.keys(builtinMessages)) {
    if (kernelOwn.includes(type)) continue;
    assert.ok(handled.has(type), `${type} in protocol/ has a handler`);
  }
});

test('the kernel checks at start-up that handlers and the map agree (a missing handler is an error)', async () => {
  // The host refuses an actor whose handlers and map differ; here: the map as TypeScript sees it.
  const m = messagesOf('system/x', { 'x.a': { request: Type.Object({}), reply: Type.Null() } });
  const def = defineActor({ messages: m, setup: () => ({ handlers: { 'x.a': () => null } }) });
  assert.deepEqual(Object.keys(def.messages), ['x.a']);
});

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

test('every topic an actor publishes through a constant or pattern has a schema', () => {
  const topics = Object.keys(builtinTopics);
  const published = new Set<string>();
  for (const file of sources(path.join(ROOT, 'protocol'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/export const \w+_TOPIC = '([^']+)'/g)) published.add(m[1]);
  }
  published.add('agents/default/events');
  published.add('provider/stream/req-1');
  published.add('notifications');
  for (const t of published) assert.ok(topics.some((p) => nameMatches(p, t)), `topic ${t} has a schema in protocol/`);
});

test('no ask<…> casts, no any-typed handler payloads, no untyped actor definitions in actors/ and src/', () => {
  const problems: string[] = [];
  for (const file of [...sources(path.join(ROOT, 'actors')), ...sources(path.join(ROOT, 'src'))]) {
    const text = readFileSync(file, 'utf8');
    const rel = path.relative(ROOT, file);
    text.split('\n').forEach((line, i) => {
      // `.ask<R>(` passes a caller's generic through (kernel plumbing); any other type argument is a cast.
      if (/\.ask<(?!R>)[^>]/.test(line)) problems.push(`${rel}:${i + 1}: ask<…> cast: ${line.trim()}`);
      if (/'[a-z_]+\.[a-z_.]+':\s*(async\s*)?\(\s*\w+\s*:\s*any\b/.test(line)) problems.push(`${rel}:${i + 1}: any-typed handler payload: ${line.trim()}`);
      if (/'[a-z_]+\.[a-z_.]+':\s*(async\s*)?\(\s*\w+\s*:\s*\{/.test(line)) problems.push(`${rel}:${i + 1}: inline handler payload type (type it from protocol/): ${line.trim()}`);
    });
    if (rel.startsWith('actors') && rel.endsWith('index.ts') && /defineActor\s*</.test(text)) problems.push(`${rel}: defineActor<…> (untyped style): pass { messages } instead`);
  }
  assert.deepEqual(problems, []);
});

// ---- compile-time checks: each @ts-expect-error must be needed, or the build fails ----------------

const probe = messagesOf('system/probe', {
  'probe.add': { request: Type.Object({ n: Type.Integer() }), reply: Type.Object({ total: Type.Integer() }) },
});

export const typedDefinition = defineActor({
  messages: probe,
  setup(ctx) {
    async function callers() {
      const hits = await ctx.ask('system/memory', 'memory.search', { query: 'q' });
      const first: string | undefined = hits.hits[0]?.text;
      // @ts-expect-error a reply field that does not exist
      void hits.results;
      // @ts-expect-error a payload field of the wrong type
      await ctx.ask('system/memory', 'memory.search', { query: 42 });
      // @ts-expect-error an unknown message type
      await ctx.ask('system/memory', 'memory.searchh', { query: 'q' });
      // @ts-expect-error a topic payload that does not match its schema
      ctx.publish('memory.progress', { op: 'x' });
      return first;
    }
    void callers;
    return {
      handlers: {
        'probe.add': (p) => {
          const n: number = p.n;
          return { total: n };
        },
      },
    };
  },
});

// @ts-expect-error a handler whose reply does not match the reply schema (total must be an integer)
export const badReply = defineActor({ messages: probe, setup: () => ({ handlers: { 'probe.add': () => ({ total: 'many' }) } }) });
// @ts-expect-error a handler missing for a message of the map
export const missingHandler = defineActor({ messages: probe, setup: () => ({ handlers: {} }) });
// A handler for a type the map lacks is not an excess-property error through setup's return; the
// kernel refuses such an actor when it starts (src/kernel/host.ts, "handlers without a message").
