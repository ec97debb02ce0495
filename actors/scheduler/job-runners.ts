/**
 * What a job does, per kind. Runs inside a pool worker thread (runner-worker.ts); everything it
 * needs from the outside (asking an agent) goes through `env.ask`, which the worker relays to the
 * scheduler thread, so killing the worker really stops the job's own execution.
 */
import type { Job, JobKind, NoopParams } from '../../protocol/scheduler.js';
import { parseHeartbeatAnswer } from './heartbeat.js';
import type { BuiltinMessages, ReplyOf, RequestOf } from '../../protocol/index.js';

export interface RunMsg {
  t: 'run';
  id: string;
  epoch: number;
  kind: JobKind;
  agent?: string;
  prompt?: string;
  model?: string;
  purpose: 'job' | 'heartbeat';
  params?: NoopParams;
  timeout_ms: number;
  ok_token?: string;
}

/** The message that starts `j`'s current attempt in a pool worker (the lmdb and the shared-jobs schedulers alike). */
export function runMsgFor(j: Job, okToken: string | undefined): RunMsg {
  return {
    t: 'run', id: j.id, epoch: j.epoch, kind: j.kind, agent: j.agent, prompt: j.prompt, model: j.model,
    purpose: j.purpose, params: j.params, timeout_ms: j.timeout_ms, ok_token: okToken,
  };
}

export interface RunEnv {
  signal: AbortSignal;
  /** Relayed to the scheduler actor's `ctx.ask`; typed like it from the message type's name. */
  ask<K extends keyof BuiltinMessages & string>(to: string, type: K, payload: RequestOf<BuiltinMessages, K>, timeoutMs: number): Promise<ReplyOf<BuiltinMessages, K>>;
  /** Bench probe hooks (no-ops unless the pool was given a probe buffer). */
  probeStart(slot: number): void;
  probeEnd(slot: number): void;
}

export class JobAbort extends Error {
  constructor(
    readonly code: 'cancelled' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

const sleep = (ms: number, signal: AbortSignal) => abortable(new Promise<void>((r) => setTimeout(r, ms)), signal);

async function runNoop(msg: RunMsg, env: RunEnv): Promise<unknown> {
  const p = msg.params ?? {};
  if (p.probe_slot !== undefined) env.probeStart(p.probe_slot);
  try {
    if (p.block_ms) {
      // Simulates a stuck job: the thread stops answering (no heartbeats) until it is killed.
      const end = Date.now() + p.block_ms;
      while (Date.now() < end) {
        /* busy */
      }
    }
    if (p.sleep_ms) await sleep(p.sleep_ms, env.signal);
    if (env.signal.aborted) throw env.signal.reason;
    if (p.fail) throw new Error(p.fail);
    return { ok: true };
  } finally {
    if (p.probe_slot !== undefined) env.probeEnd(p.probe_slot);
  }
}

/** Text of an agent's reply, whatever its exact shape (string, {text}, {reply}, {content}). */

async function runAgentTurn(msg: RunMsg, env: RunEnv): Promise<unknown> {
  if (!msg.agent) throw new Error('agent_turn job without agent');
  const payload = {
    text: msg.prompt ?? '',
    session: `job:${msg.id}`,
    purpose: msg.purpose,
    ...(msg.model ? { model: msg.model } : {}),
    silent: true as const,
  };
  const reply = await abortable(env.ask(`agents/${msg.agent}`, 'agent.send', payload, msg.timeout_ms), env.signal);
  const text = reply.text;
  if (msg.purpose === 'heartbeat') {
    const hb = parseHeartbeatAnswer(text, msg.ok_token ?? 'HEARTBEAT_OK');
    return { text, action_needed: hb.actionNeeded, notice: hb.notice };
  }
  return { text };
}

export async function runJob(msg: RunMsg, env: RunEnv): Promise<unknown> {
  switch (msg.kind) {
    case 'noop':
      return runNoop(msg, env);
    case 'agent_turn':
      return runAgentTurn(msg, env);
    default:
      throw new Error(`unknown job kind ${String(msg.kind)}`);
  }
}
