/**
 * Reads a document for indexing and refuses what can't be text, naming the file and the problem:
 * empty files, files over the size limit, binary files, encodings other than UTF-8 / UTF-16 (BOM).
 */
import fs from 'node:fs';

export class InputError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'InputError';
    this.code = code;
  }
}

export function decodeText(buf: Uint8Array, where: string, maxBytes: number): string {
  if (buf.length === 0) throw new InputError('empty_input', `${where} is empty: nothing to index`);
  if (buf.length > maxBytes) {
    throw new InputError('input_too_large', `${where} is ${buf.length} bytes, over the limit memory.max_file_bytes = ${maxBytes}`);
  }
  let text: string;
  if (buf[0] === 0xff && buf[1] === 0xfe) text = new TextDecoder('utf-16le').decode(buf.subarray(2));
  else if (buf[0] === 0xfe && buf[1] === 0xff) text = new TextDecoder('utf-16be').decode(buf.subarray(2));
  else {
    const head = buf.subarray(0, 8192);
    if (head.includes(0)) throw new InputError('binary_input', `${where} looks binary (NUL bytes): only text files can be indexed`);
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf);
    } catch {
      throw new InputError('unsupported_encoding', `${where} is not valid UTF-8 (nor UTF-16 with a BOM); convert it to UTF-8 first`);
    }
  }
  // Control characters other than whitespace mean binary data that happened to decode.
  let ctrl = 0;
  const sample = Math.min(text.length, 65536);
  for (let i = 0; i < sample; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) ctrl++;
  }
  if (ctrl > sample * 0.01) throw new InputError('binary_input', `${where} looks binary (${ctrl} control characters in the first ${sample})`);
  if (text.trim() === '') throw new InputError('empty_input', `${where} contains only whitespace: nothing to index`);
  return text;
}

export function readTextFile(file: string, maxBytes: number): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new InputError('file_not_found', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isFile()) throw new InputError('not_a_file', `${file} is not a regular file`);
  // Check the size before reading so a 100 MB file is never loaded.
  if (st.size > maxBytes) {
    throw new InputError('input_too_large', `${file} is ${st.size} bytes, over the limit memory.max_file_bytes = ${maxBytes}`);
  }
  // A file may change or vanish while it is read: read it again once, then name the problem.
  for (let attempt = 0; ; attempt++) {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(code === 'ENOENT' ? 'file_not_found' : 'read_failed', `cannot read ${file}: ${code ?? (e as Error).message}${code === 'ENOENT' ? ' (deleted while being added?)' : ''}`);
    }
    let after: fs.Stats | null;
    try {
      after = fs.statSync(file);
    } catch {
      after = null;
    }
    if (after && after.size === buf.length && after.mtimeMs === st.mtimeMs) return decodeText(buf, file, maxBytes);
    if (attempt >= 1) throw new InputError('file_changed', `${file} changed while it was being read (${after ? `size ${st.size} → ${after.size}` : 'it was deleted'}); try again when it is no longer being written`);
    if (!after) throw new InputError('file_not_found', `cannot read ${file}: it was deleted while being added`);
    st = after;
    if (st.size > maxBytes) throw new InputError('input_too_large', `${file} is ${st.size} bytes, over the limit memory.max_file_bytes = ${maxBytes}`);
  }
}
