// stdin/stdout helpers for WASI command tools (AssemblyScript + @assemblyscript/wasi-shim).
import { JValue, parse } from "./json";

/** All of stdin as UTF-8 text (the runner writes the arguments object there). */
export function readStdin(): string {
  const chunks = new Array<ArrayBuffer>();
  let total = 0;
  while (true) {
    const buf = new ArrayBuffer(65536);
    const n = process.stdin.read(buf);
    if (n <= 0) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (let i = 0; i < chunks.length; i++) {
    all.set(Uint8Array.wrap(chunks[i]), o);
    o += chunks[i].byteLength;
  }
  return String.UTF8.decode(all.buffer);
}

export function readArgs(): JValue {
  const text = readStdin();
  return parse(text.length ? text : "{}");
}

export function out(s: string): void {
  process.stdout.write(s);
}

/** Report a failure on stderr (the tool's log) and exit with status 1. */
export function fail(msg: string): void {
  process.stderr.write(msg + "\n");
  process.exit(1);
}
