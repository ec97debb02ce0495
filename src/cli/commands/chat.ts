/**
 * `rustyclaw chat [--agent ID] [--session S] [--model ALIAS] [MESSAGE...]`
 *
 * One-shot when a message is given (or piped on stdin): the answer streams to stdout as it
 * arrives, tool calls and warnings go to stderr, and the exit code is non-zero on failure.
 * Without a message on a terminal it is a REPL (/reset, /session NAME, /exit; Ctrl-C cancels a
 * running turn, Ctrl-C when idle leaves).
 */
import { randomUUID } from 'node:crypto';
import readline from 'node:readline';
import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';
import type { AgentEvent, AgentSendReply } from '../../../protocol/agent.js';
import type { EndpointInfo } from '../../client/index.js';
import type { RootConfig } from '../../config/load.js';
import type { Waiting } from '../deadline.js';
import { envDrift } from '../service-env.js';
import { reportFinish } from '../finish-notice.js';

export interface ChatCliRuntime {
  ask: CliRuntime['ask'];
  subscribe?: CliRuntime['subscribe'];
  close(): Promise<void>;
  config?(): RootConfig;
  service?(): Promise<EndpointInfo | null>;
  waiting?: Waiting;
}

/**
 * Provider variables set in this shell that the running service never saw: said before the answer,
 * since the service (not this command) talks to the LLM and read its variables when it started.
 */
export async function envNotes(rt: ChatCliRuntime, io: ChatIO): Promise<void> {
  if (!rt.service || !rt.config) return;
  const info = await rt.service();
  if (!info) return;
  for (const n of envDrift(rt.config(), info.env)) io.err(`note: ${n} (pid ${info.pid}); the service reads provider variables when it starts: restart it with them set\n`);
}

const REPL_HELP = `commands: /reset (clear this session), /session NAME (switch session), /help, /exit — Ctrl-C cancels a running turn\n`;

export interface ChatIO {
  out(s: string): void;
  err(s: string): void;
}
const stdio: ChatIO = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

/** Long enough for a whole turn with tools (the agent enforces its own turn_timeout_ms). */
const TURN_TIMEOUT_MS = 15 * 60_000;

function brief(v: unknown, n = 120): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  const t = (s ?? '').replace(/\s+/g, ' ');
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

/** Renders one turn's events: text to `out`, everything else as short lines on `err`. */
export function eventPrinter(io: ChatIO): { onEvent(e: AgentEvent): void; printed(): string } {
  let printed = '';
  let atLineStart = true;
  const side = (line: string) => {
    if (!atLineStart) {
      io.out('\n');
      atLineStart = true;
    }
    io.err(`${line}\n`);
  };
  return {
    printed: () => printed,
    onEvent(e) {
      switch (e.kind) {
        case 'text':
          if (!e.text) return;
          io.out(e.text);
          printed += e.text;
          atLineStart = e.text.endsWith('\n');
          return;
        case 'tool_start':
          side(`⚙ ${e.tool} ${brief(e.args)}`);
          return;
        case 'tool_progress':
          side(`  … ${e.tool}: ${brief(e.result)}`);
          return;
        case 'tool_end':
          side(e.ok ? `✓ ${e.tool} → ${brief(e.result, 80)}` : `✗ ${e.tool}: ${brief(e.result, 160)}`);
          return;
        case 'compaction':
          side(`(context compacted with ${e.strategy}: ${e.tokens_before} → ${e.tokens_after} tokens${e.error ? `; ${e.error}` : ''})`);
          return;
        case 'error':
          if (!e.fatal) side(`! ${e.code}: ${e.error}`);
          return;
        default:
          return;
      }
    },
  };
}

/** One turn: subscribe to the agent's events for this request, send, stream, return the reply. */
export async function chatTurn(rt: ChatCliRuntime, agent: string, payload: { text: string; session?: string; model?: string }, io: ChatIO): Promise<AgentSendReply> {
  const request_id = `cli-${randomUUID()}`;
  const printer = eventPrinter(io);
  const off = rt.subscribe
    ? await rt.subscribe(`agents/${agent}/events`, (e: AgentEvent) => {
      if (e?.request_id === request_id) printer.onEvent(e);
    })
    : () => {};
  try {
    const reply = await rt.ask(`agents/${agent}`, 'agent.send', { ...payload, request_id, channel: 'cli' }, { timeoutMs: TURN_TIMEOUT_MS });
    // Events can trail the reply by a moment; the reply is authoritative for the final text.
    await new Promise((r) => setImmediate(r));
    const shown = printer.printed();
    if (!shown.endsWith(reply.text)) io.out(shown ? `\n${reply.text}` : reply.text);
    io.out('\n');
    return reply;
  } finally {
    off();
  }
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8').trim();
}

/** The interactive loop (exported with its input stream for tests; the CLI passes the terminal). */
export async function repl(rt: ChatCliRuntime, agent: string, opts: { session: string; model?: string; showReasoning?: boolean }, io: ChatIO, input: NodeJS.ReadableStream = process.stdin): Promise<void> {
  let session = opts.session;
  io.err(`chatting with agents/${agent} (session ${session}); /help for commands — Ctrl-C cancels a turn\n`);
  const rl = readline.createInterface({ input, output: process.stderr, prompt: 'you> ' });
  let busy = false;
  rl.on('SIGINT', () => {
    if (busy) {
      void rt.ask(`agents/${agent}`, 'agent.cancel', { session }).catch(() => undefined);
      io.err('\n(cancelling)\n');
    } else rl.close();
  });
  rl.prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    if (!line) {
      rl.prompt();
      continue;
    }
    if (line === '/exit' || line === '/quit') break;
    // Commands are the REPL's own: never sent to the model (an unknown one is said so, not sent either).
    if (line === '/help' || line === '/?') {
      io.err(REPL_HELP);
      rl.prompt();
      continue;
    }
    if (line === '/reset') {
      await rt.ask(`agents/${agent}`, 'agent.reset', { session });
      io.err(`session ${session} cleared\n`);
      rl.prompt();
      continue;
    }
    if (line === '/session' || line.startsWith('/session ')) {
      session = line.split(/\s+/)[1] || 'main';
      io.err(`now in session ${session}\n`);
      rl.prompt();
      continue;
    }
    if (/^\/[a-z?]+$/i.test(line)) {
      io.err(`unknown command ${line}; ${REPL_HELP}`);
      rl.prompt();
      continue;
    }
    busy = true;
    try {
      const r = await chatTurn(rt, agent, { text: line, session, ...(opts.model ? { model: opts.model } : {}) }, io);
      reportFinish(r, io.err, { showReasoning: opts.showReasoning });
      io.err(`[${r.usage.provider || '-'}/${r.usage.model || '-'} · ${r.usage.input_tokens}+${r.usage.output_tokens} tokens · $${r.usage.cost_usd.toFixed(5)}]\n`);
    } catch (e) {
      const x = e as { code?: string; message?: string };
      io.err(`error: ${x.code ? `${x.code}: ` : ''}${x.message ?? String(e)}\n`);
    } finally {
      busy = false;
    }
    rl.prompt();
  }
  rl.close();
  // A TTY stdin keeps the event loop alive after the REPL is done.
  process.stdin.pause();
  if (process.stdin.isTTY) process.stdin.destroy();
}

export function register(program: Command, rt: ChatCliRuntime, io: ChatIO = stdio): void {
  program
    .command('chat')
    .description('talk to an agent: one-shot with a MESSAGE (or stdin), else an interactive REPL')
    .argument('[message...]', 'the message (omit for a REPL)')
    .option('-a, --agent <id>', 'agent id', 'default')
    .option('-s, --session <name>', 'session (conversation) name', 'main')
    .option('-m, --model <alias>', 'model alias for this chat (default: the agent\'s)')
    .option('--json', 'one-shot: print the whole reply as JSON instead of streaming text')
    .option('--show-reasoning', 'print the model\'s reasoning (thinking) on stderr after the answer')
    .action(async (words: string[], o: { agent: string; session: string; model?: string; json?: boolean; showReasoning?: boolean }) => {
      try {
        let text = words.join(' ').trim();
        // stdin is read only when asked: `-` as the message, or no message with stdin not a terminal.
        const fromStdin = text === '-' || (!text && !process.stdin.isTTY);
        if (fromStdin) text = await (rt.waiting ? rt.waiting.on('the message on stdin (end it with Ctrl-D, or give MESSAGE)', readStdin()) : readStdin());
        if (!text && (words.length || fromStdin)) throw new Error(`chat: no message (${fromStdin ? 'stdin was empty' : 'the MESSAGE is blank'}); give MESSAGE or pipe text on stdin — the REPL needs a terminal`);
        if (text) await envNotes(rt, io);
        const base = { session: o.session, ...(o.model ? { model: o.model } : {}) };
        if (text) {
          if (o.json) {
            const r = await rt.ask(`agents/${o.agent}`, 'agent.send', { text, ...base, channel: 'cli' }, { timeoutMs: TURN_TIMEOUT_MS });
            io.out(`${JSON.stringify(r)}\n`);
            reportFinish(r, io.err, { oneShot: true });
          } else {
            reportFinish(await chatTurn(rt, o.agent, { text, ...base }, io), io.err, { showReasoning: o.showReasoning, oneShot: true });
          }
        } else {
          rt.waiting?.interactive();
          await repl(rt, o.agent, { session: o.session, ...(o.model ? { model: o.model } : {}), showReasoning: o.showReasoning === true }, io);
        }
      } finally {
        await rt.close();
      }
    });
}
