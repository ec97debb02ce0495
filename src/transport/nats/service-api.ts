/**
 * NATS service API (ADR-32) discovery for one process: `$SRV.PING|INFO|STATS`, each also under
 * `.<name>` and `.<name>.<id>`. One endpoint per actor path this process runs; its metadata carries
 * the path, the message types it handles and their request/reply schemas (JSON), so a stock
 * client can find what to send where. Written here (small) because `@nats-io/services` is a pre-release.
 */
import { messageSchemas } from '../../../protocol/index.js';
import { topicMatches } from '../../kernel/topics.js';

export interface EndpointStats {
  num_requests: number;
  num_errors: number;
  last_error: string;
  processing_time_ns: number;
}

export interface ServiceIdentity {
  name: string;
  id: string;
  version: string;
  metadata: Record<string, string>;
}

/** ADR-32 endpoint names allow letters, digits, `-` and `_`; the path itself is in the metadata. */
export function endpointName(path: string): string {
  return path.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function typesOf(path: string): string[] {
  return Object.entries(messageSchemas)
    .filter(([, s]) => s.to !== undefined && topicMatches(s.to, path))
    .map(([t]) => t)
    .sort();
}

function schemasOf(path: string): string {
  const out: Record<string, { request: unknown; reply: unknown }> = {};
  for (const t of typesOf(path)) out[t] = { request: messageSchemas[t]!.request, reply: messageSchemas[t]!.reply };
  return JSON.stringify(out);
}

export function pingResponse(id: ServiceIdentity): object {
  return { type: 'io.nats.micro.v1.ping_response', ...id };
}

export function infoResponse(id: ServiceIdentity, endpoints: Array<{ path: string; subject: string }>): object {
  return {
    type: 'io.nats.micro.v1.info_response',
    ...id,
    description: `RustyClaw actors of node ${id.metadata.node} in cluster ${id.metadata.cluster}; requests use the JSON envelope of docs/protocol.md`,
    endpoints: endpoints.map((e) => ({
      name: endpointName(e.path),
      subject: e.subject,
      queue_group: 'q',
      metadata: { path: e.path, types: typesOf(e.path).join(','), schemas: schemasOf(e.path) },
    })),
  };
}

export function statsResponse(id: ServiceIdentity, started: string, endpoints: Array<{ path: string; subject: string; stats: EndpointStats }>): object {
  return {
    type: 'io.nats.micro.v1.stats_response',
    ...id,
    started,
    endpoints: endpoints.map((e) => ({
      name: endpointName(e.path),
      subject: e.subject,
      queue_group: 'q',
      num_requests: e.stats.num_requests,
      num_errors: e.stats.num_errors,
      last_error: e.stats.last_error,
      processing_time: e.stats.processing_time_ns,
      average_processing_time: e.stats.num_requests ? Math.round(e.stats.processing_time_ns / e.stats.num_requests) : 0,
    })),
  };
}

/** ADR-32 error header code for one of our error codes (HTTP-like). */
export function serviceErrorCode(code: string): string {
  switch (code) {
    case 'invalid_message':
    case 'unknown_type':
      return '400';
    case 'unauthorized':
      return '401';
    case 'unknown_actor':
      return '404';
    case 'payload_too_large':
      return '413';
    case 'mailbox_full':
      return '429';
    case 'timeout':
      return '504';
    case 'shutting_down':
    case 'actor_stopped':
    case 'bus_unreachable':
      return '503';
    default:
      return '500';
  }
}
