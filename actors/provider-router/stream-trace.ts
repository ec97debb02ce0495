/**
 * Opt-in receive trace for streamed replies, for latency measurements (bench `gateway`):
 * with `RUSTYCLAW_TRACE_STREAMS=<file>` the router notes when each text delta arrived from the
 * provider (epoch ms, sub-ms: `performance.timeOrigin + performance.now()`, comparable across
 * threads and processes of one machine) and appends one JSON line per request once it ends:
 * `{"request_id", "received": [[at, text], …]}`. Nothing is written while tokens flow, so the
 * trace does not delay them.
 */
import { appendFile } from 'node:fs';

const file = process.env.RUSTYCLAW_TRACE_STREAMS;

export interface StreamTrace {
  note(text: string): void;
  end(): void;
}

const off: StreamTrace = { note() {}, end() {} };

export function streamTrace(request_id: string): StreamTrace {
  if (!file) return off;
  const received: Array<[number, string]> = [];
  return {
    note(text) {
      received.push([performance.timeOrigin + performance.now(), text]);
    },
    end() {
      appendFile(file, `${JSON.stringify({ request_id, received })}\n`, () => undefined);
    },
  };
}
