/**
 * Incremental Server-Sent Events parser (WHATWG rules: `event:`/`data:`/`id:` fields, multi-line
 * data joined by "\n", comments starting with ":", events dispatched on a blank line, CR/LF/CRLF).
 */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Longest line accepted (a stream that never sends a newline would otherwise grow without bound). */
export const MAX_SSE_LINE = 16 * 1024 * 1024;

export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  /** `buf` holds lines not scanned yet (a push stopped by its callback throwing). */
  private unscanned = false;
  private readonly decoder = new TextDecoder();

  /**
   * Feed bytes or text; returns the events completed by this piece. With `emit`, each event is
   * handed to it the moment its blank line is parsed (and none is returned): a network read that
   * holds a whole burst of events then delivers its first one before the rest is split (first
   * body chunk → first delta, `provider` bench burst mode: 130–208 µs p50 before, 101–191 after;
   * see docs/decisions.md).
   */
  push(chunk: Uint8Array | string, emit?: (ev: SseEvent) => void): SseEvent[] {
    // Only the new text (and a CR left at the end) can hold a line end: no rescanning of a long line.
    const scanFrom = this.unscanned ? 0 : Math.max(0, this.buf.length - 1);
    this.unscanned = false;
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: SseEvent[] = [];
    let start = 0;
    let done = false;
    try {
      for (let from = scanFrom; ; from = start) {
        const nl = this.findLineEnd(from);
        if (nl < 0) break;
        const line = this.buf.slice(start, nl);
        start = nl + (this.buf[nl] === '\r' && this.buf[nl + 1] === '\n' ? 2 : 1);
        this.line(line, out);
        if (emit && out.length) emit(out.pop()!);
      }
      done = true;
    } finally {
      // Also when `emit` throws: the lines already handled are not parsed again by a later push,
      // and the ones after them (complete lines, never scanned) are by the next one.
      this.buf = this.buf.slice(start);
      if (!done) this.unscanned = true;
    }
    if (this.buf.length > MAX_SSE_LINE) throw new Error(`event-stream line longer than ${MAX_SSE_LINE} characters without a line break`);
    return out;
  }

  /** End of stream: a final event without its blank line is still dispatched. */
  end(): SseEvent[] {
    const out: SseEvent[] = this.unscanned ? this.push('') : [];
    if (this.buf.length) {
      this.line(this.buf, out);
      this.buf = '';
    }
    this.line('', out);
    return out;
  }

  private findLineEnd(from: number): number {
    for (let i = from; i < this.buf.length; i++) {
      const c = this.buf.charCodeAt(i);
      if (c === 10) return i;
      if (c === 13) {
        // a lone CR at the very end may be the first half of CRLF: wait for more
        if (i === this.buf.length - 1) return -1;
        return i;
      }
    }
    return -1;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length) {
        out.push({ event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) });
      }
      this.event = '';
      this.data = [];
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
    // Not WHATWG: older llama.cpp servers report a failed stream as an `error: {json}` line
    // (then `data: [DONE]`). Surfaced as an `error` event so its message is not lost.
    else if (field === 'error') {
      this.event = 'error';
      this.data.push(value);
    }
  }
}
