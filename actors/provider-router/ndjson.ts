/** Incremental newline-delimited JSON parser (Ollama's streaming format). */
export class NdjsonParser {
  private buf = '';
  private readonly decoder = new TextDecoder();
  /** Line number of the next line, for error messages. */
  private lineNo = 1;

  /** Feed bytes or text; returns the parsed objects. Throws `NdjsonError` on a malformed line. */
  push(chunk: Uint8Array | string): unknown[] {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: unknown[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      this.parse(line, out);
    }
    if (this.buf.length > 16 * 1024 * 1024) throw new NdjsonError(`NDJSON line ${this.lineNo} longer than 16 MiB without a line break`);
    return out;
  }

  end(): unknown[] {
    const out: unknown[] = [];
    const rest = this.buf;
    this.buf = '';
    this.parse(rest, out);
    return out;
  }

  private parse(line: string, out: unknown[]): void {
    const n = this.lineNo++;
    const t = line.trim();
    if (!t) return;
    try {
      out.push(JSON.parse(t));
    } catch {
      throw new NdjsonError(`malformed NDJSON line ${n}: ${t.slice(0, 120)}`);
    }
  }
}

export class NdjsonError extends Error {
  override name = 'NdjsonError';
}
