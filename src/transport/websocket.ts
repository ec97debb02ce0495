/**
 * WebSocket endpoint on loopback: other processes tell/ask actors and subscribe to topics with the
 * external envelope. Every frame is validated (envelope, then the message type's payload schema)
 * before it is routed; a bad frame gets a typed error naming the field, never a crash.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { ExternalRequest, PROTOCOL_VERSION, type ExternalResponse } from '../../protocol/envelope.js';
import { messageSchemas } from '../../protocol/index.js';
import { ActorError } from '../kernel/actor.js';
import type { ActorSystem } from '../kernel/system.js';
import type { Transport } from './transport.js';

const requestCheck = TypeCompiler.Compile(ExternalRequest);
const payloadChecks = new Map<string, TypeCheck<TSchema>>();

export function payloadCheck(type: string): TypeCheck<TSchema> | undefined {
  let c = payloadChecks.get(type);
  if (!c) {
    const s = messageSchemas[type];
    if (!s) return undefined;
    c = TypeCompiler.Compile(s.request);
    payloadChecks.set(type, c);
  }
  return c;
}

/** Describe the first validation problem as `field: what was expected`. */
export function firstError(check: TypeCheck<TSchema>, value: unknown, root: string): string {
  // For the envelope union, report against the branch named by `op` so the message is useful.
  const e = check.Errors(value).First();
  if (!e) return `${root}: invalid`;
  const field = e.path ? `${root}${e.path.replace(/\//g, '.')}` : root;
  return `${field}: ${e.message}`;
}

function envelopeError(value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'frame: expected a JSON object';
  const v = value as Record<string, unknown>;
  if (v.v !== PROTOCOL_VERSION) return `v: expected protocol version ${PROTOCOL_VERSION}, got ${JSON.stringify(v.v)}`;
  const branch = ExternalRequest.anyOf.find((s) => {
    const op = (s.properties.op as { const?: string; anyOf?: Array<{ const: string }> });
    return op.const === v.op || op.anyOf?.some((x) => x.const === v.op);
  });
  if (!branch) return `op: expected one of hello, ask, tell, sub, unsub, pub; got ${JSON.stringify(v.op)}`;
  return firstError(TypeCompiler.Compile(branch), value, 'frame');
}

export interface WebSocketOptions {
  host: string;
  port: number;
  maxPayloadBytes: number;
  token?: string;
  log: Logger;
  /**
   * Serve on this HTTP server's upgrades (the gateway's) instead of listening on host:port; the
   * gateway then decides who may upgrade and checks hello tokens (its token set and lockout).
   */
  attach?: {
    server: HttpServer;
    /** Null to accept, else the refusal (status, JSON body, extra headers). */
    verifyUpgrade(req: IncomingMessage): { status: number; body: string; headers?: Record<string, string> } | null;
    /** The hello token from `addr`: true when it is accepted (failures count toward the lockout). */
    authenticate(token: string, addr: string): boolean;
  };
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests' };

export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  readonly token: string;
  private server: WebSocketServer | null = null;
  private readonly opts: WebSocketOptions;
  private nextClient = 1;

  constructor(opts: WebSocketOptions) {
    this.opts = opts;
    this.token = opts.token ?? randomBytes(24).toString('hex');
  }

  start(sys: ActorSystem): Promise<{ url: string }> {
    const attach = this.opts.attach;
    if (attach) {
      const server = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxPayloadBytes });
      server.on('connection', (ws, req: IncomingMessage) => this.serve(sys, ws, req));
      attach.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const refused = attach.verifyUpgrade(req);
        if (refused) {
          const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(refused.body)), connection: 'close', ...refused.headers };
          socket.end(`HTTP/1.1 ${refused.status} ${REASONS[refused.status] ?? 'Error'}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${refused.body}`);
          return;
        }
        server.handleUpgrade(req, socket, head, (ws) => server.emit('connection', ws, req));
      });
      this.server = server;
      const addr = attach.server.address() as { address: string; port: number };
      const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
      return Promise.resolve({ url: `ws://${host}:${addr.port}` });
    }
    return new Promise((resolve, reject) => {
      const server = new WebSocketServer({ host: this.opts.host, port: this.opts.port, maxPayload: this.opts.maxPayloadBytes });
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        server.on('error', (err) => this.opts.log.error({ err }, 'endpoint error'));
        const addr = server.address() as { address: string; port: number };
        const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
        resolve({ url: `ws://${host}:${addr.port}` });
      });
      server.on('connection', (ws, req: IncomingMessage) => this.serve(sys, ws, req));
      this.server = server;
    });
  }

  private serve(sys: ActorSystem, ws: WebSocket, upgrade: IncomingMessage): void {
    const addr = upgrade.socket.remoteAddress ?? 'unknown';
    const client = `client/${this.nextClient++}`;
    const log = this.opts.log.child({ client });
    let authed = false;
    const subs = new Map<string, () => void>();
    // Replies come back from actor threads in batches: cork the socket for the rest of the tick so a
    // batch leaves in one write instead of one syscall per frame.
    const sock = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      sock?.uncork();
    };
    const send = (msg: ExternalResponse) => {
      if (ws.readyState !== ws.OPEN) return;
      if (sock && !corked) {
        corked = true;
        sock.cork();
        process.nextTick(uncork);
      }
      ws.send(JSON.stringify(msg));
    };
    const fail = (id: number | undefined, err: ActorError) =>
      id === undefined ? send({ v: 1, op: 'error', error: err.toJSON() }) : send({ v: 1, op: 'reply', id, ok: false, error: err.toJSON() });

    ws.on('error', (err) => {
      // Oversized frames end here (ws closes with 1009); the service carries on.
      log.warn({ err: err.message }, 'client connection error');
    });
    ws.on('close', () => {
      for (const off of subs.values()) off();
      subs.clear();
      // Its asks settle now (a listener per ask would cost more than the routing itself).
      sys.router.cancelFrom(client, 'shutting_down', `${client} closed its connection`);
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return fail(undefined, new ActorError('invalid_message', 'frame: expected a JSON text frame, got binary'));
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch (err) {
        return fail(undefined, new ActorError('invalid_message', `frame: not valid JSON (${(err as Error).message})`));
      }
      const id = typeof (msg as { id?: unknown })?.id === 'number' ? (msg as { id: number }).id : undefined;
      if (!requestCheck.Check(msg)) return fail(id, new ActorError('invalid_message', envelopeError(msg)));
      const req = msg as ExternalRequest;
      if (req.op === 'hello') {
        const accepted = this.opts.attach ? this.opts.attach.authenticate(req.token, addr) : tokenMatches(req.token, this.token);
        if (!accepted) {
          fail(undefined, new ActorError('unauthorized', 'token: does not match this service'));
          ws.close(4001, 'unauthorized');
          return;
        }
        authed = true;
        return send({ v: 1, op: 'welcome', server: `rustyclaw pid ${process.pid}` });
      }
      if (!authed) return fail(id, new ActorError('unauthorized', 'send {"op":"hello","token":...} first'));
      switch (req.op) {
        case 'ask':
        case 'tell': {
          const payload = req.payload ?? {};
          const check = payloadCheck(req.type);
          if (check && !check.Check(payload)) return fail(id, new ActorError('invalid_message', firstError(check, payload, 'payload')));
          if (req.op === 'tell') {
            try {
              void sys.router.tell(client, req.to, req.type, payload);
            } catch (err) {
              fail(undefined, err instanceof ActorError ? err : new ActorError('handler_error', String(err)));
            }
            return;
          }
          sys.router.ask(client, req.to, req.type, payload, { timeoutMs: req.timeout_ms }).then(
            (p) => send({ v: 1, op: 'reply', id: req.id, ok: true, payload: p }),
            (err: ActorError) => fail(req.id, err),
          );
          return;
        }
        case 'sub':
          if (!subs.has(req.topic)) {
            subs.set(
              req.topic,
              sys.router.subscribe(req.topic, (payload, topic) => {
                // A slow consumer loses events rather than growing the service's memory.
                if (ws.bufferedAmount > 8 * 1048576) return;
                send({ v: 1, op: 'event', topic, payload });
              }),
            );
          }
          return;
        case 'unsub':
          subs.get(req.topic)?.();
          subs.delete(req.topic);
          return;
        case 'pub':
          sys.router.publish(req.topic, req.payload ?? null);
          return;
      }
    });
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const c of s.clients) c.terminate();
    // Attached: the gateway closes the HTTP server; this closes only the WebSocket side.
    await new Promise<void>((r) => s.close(() => r()));
  }
}

function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
