/**
 * Requests arriving from NATS: on an actor's subject (`rustyclaw.<cluster>.<path>`, queue group
 * `q`, stock clients) or on this process's inbox (other kernels). Each is checked like the
 * WebSocket endpoint's frames — size, JSON, envelope field by field, `to` against the subject,
 * the sender node against the announcements, the payload against its type's schema — and a bad
 * one gets an error reply naming the subject and the field, with the ADR-32 error headers.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { headers as natsHeaders, type Msg } from '@nats-io/transport-node';
import { AskRequest, TellRequest } from '../../../protocol/envelope.js';
import { NodeRequest } from '../../../protocol/nats.js';
import type { ActorError } from '../../kernel/errors.js';
import { firstError, payloadCheck } from '../websocket.js';
import type { NatsLink } from './link.js';
import { serviceErrorCode, type EndpointStats } from './service-api.js';
import { utf8 } from './bytes.js';

const dec = new TextDecoder();
const askCheck = TypeCompiler.Compile(AskRequest);
const tellCheck = TypeCompiler.Compile(TellRequest);
const nodeAskCheck = TypeCompiler.Compile(NodeRequest.anyOf[0]);
const nodeTellCheck = TypeCompiler.Compile(NodeRequest.anyOf[1]);

export class InboundRequests {
  /** Per actor path, for `$SRV.STATS`. */
  readonly stats = new Map<string, EndpointStats>();
  /** Requests taken and not answered yet (a stop waits for them, bounded). */
  busy = 0;

  constructor(private readonly l: NatsLink) {}

  track(path: string): void {
    if (!this.stats.has(path)) this.stats.set(path, { num_requests: 0, num_errors: 0, last_error: '', processing_time_ns: 0 });
  }

  handle(m: Msg, kind: 'node' | 'actor', path: string | null): void {
    const subject = m.subject;
    const sys = this.l.system();
    let stats = path ? this.stats.get(path) : undefined;
    let id = 0;
    const respond = (body: object, code?: string, message?: string) => {
      if (!m.reply) return;
      try {
        let h;
        if (code) {
          h = natsHeaders();
          h.set('Nats-Service-Error', (message ?? code).replace(/[\r\n]+/g, ' ').slice(0, 1000));
          h.set('Nats-Service-Error-Code', serviceErrorCode(code));
        }
        m.respond(utf8(JSON.stringify(body)), h ? { headers: h } : undefined);
      } catch (err) {
        this.l.log.warn({ subject, err: (err as Error).message }, `${subject}: could not send the reply`);
      }
    };
    const fail = (code: string, message: string) => {
      if (stats) {
        stats.num_errors++;
        stats.last_error = `${code}: ${message}`.slice(0, 500);
      }
      if (m.reply) respond({ v: 1, op: 'reply', id, ok: false, error: { code, message } }, code, message);
      else this.l.log.warn({ subject, code }, message);
    };
    if (stats) stats.num_requests++;
    if (m.data.length > this.l.cfg.max_payload_bytes) return fail('payload_too_large', `${subject}: message of ${m.data.length} bytes is over nats.max_payload_bytes (${this.l.cfg.max_payload_bytes})`);
    let req: unknown;
    try {
      req = JSON.parse(dec.decode(m.data));
    } catch (err) {
      return fail('invalid_message', `${subject}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof (req as { id?: unknown })?.id === 'number') id = (req as { id: number }).id;
    const op = (req as { op?: unknown } | null)?.op;
    if (typeof req !== 'object' || req === null || Array.isArray(req)) return fail('invalid_message', `${subject}: expected a JSON object`);
    if ((req as { v?: unknown }).v !== 1) return fail('invalid_message', `${subject}: v: expected protocol version 1, got ${JSON.stringify((req as { v?: unknown }).v)}`);
    if (op !== 'ask' && op !== 'tell') return fail('invalid_message', `${subject}: op: expected ask or tell, got ${JSON.stringify(op)?.slice(0, 40)}`);
    const check = kind === 'node' ? (op === 'ask' ? nodeAskCheck : nodeTellCheck) : op === 'ask' ? askCheck : tellCheck;
    if (!check.Check(req)) return fail('invalid_message', `${subject}: ${firstError(check, req, 'frame')}`);
    const r = req as { op: 'ask' | 'tell'; to: string; type: string; payload?: unknown; timeout_ms?: number; node?: string; from?: string };
    if (kind === 'node') {
      stats = this.stats.get(r.to);
      if (stats) stats.num_requests++;
      if (!this.l.peers.get(r.node!)) return fail('unauthorized', `${subject}: sender node '${r.node}' is not a member of cluster '${this.l.cluster}' (no announcement from it)`);
    } else if (r.to !== path) {
      return fail('invalid_message', `${subject}: frame.to '${r.to}' does not match the subject's path '${path}'`);
    }
    if (!sys.isLocalPath(r.to)) return fail('unknown_actor', `${subject}: no actor at path '${r.to}' on node ${this.l.node}`);
    const payload = r.payload ?? {};
    const pc = payloadCheck(r.type);
    if (pc && !pc.Check(payload)) return fail('invalid_message', `${subject}: ${r.type}: ${firstError(pc, payload, 'payload')}`);
    const from = kind === 'node' ? `${r.from}` : 'external/nats';
    if (r.op === 'tell') {
      try {
        const w = sys.router.tell(from, r.to, r.type, payload);
        if (w) w.catch((err: ActorError) => this.l.log.warn({ subject, code: err.code }, `${subject}: tell not delivered: ${err.message}`));
      } catch (err) {
        fail((err as ActorError).code ?? 'handler_error', `${subject}: ${(err as Error).message}`);
      }
      return;
    }
    if (!m.reply) return fail('invalid_message', `${subject}: an ask needs a reply subject (use request, not publish)`);
    const t0 = process.hrtime.bigint();
    this.busy++;
    sys.router.ask(from, r.to, r.type, payload, r.timeout_ms ? { timeoutMs: r.timeout_ms } : undefined).then(
      (p) => {
        this.busy--;
        if (stats) stats.processing_time_ns += Number(process.hrtime.bigint() - t0);
        let body: Uint8Array;
        try {
          body = utf8(JSON.stringify({ v: 1, op: 'reply', id, ok: true, payload: p }));
        } catch (err) {
          return fail('invalid_reply', `${subject}: ${r.type}: the reply is not JSON (${(err as Error).message})`);
        }
        if (!m.reply) return;
        try {
          m.respond(body);
        } catch (err) {
          this.l.log.warn({ subject, err: (err as Error).message }, `${subject}: could not send the reply`);
        }
      },
      (err: ActorError) => {
        this.busy--;
        if (stats) stats.processing_time_ns += Number(process.hrtime.bigint() - t0);
        fail(err.code ?? 'handler_error', err.message);
      },
    );
  }
}
