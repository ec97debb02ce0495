/**
 * Splits a document into chunks of at most `maxTokens` model tokens with about `overlapTokens` of
 * overlap, cutting on markdown headings, paragraphs and sentences (words only as a last resort),
 * and keeps the 1-based line range each chunk came from.
 */

export interface ChunkerOptions {
  maxTokens: number;
  overlapTokens: number;
  /** Counts model tokens of a piece of text (without special tokens). */
  count: (text: string) => number;
}

export interface Chunk {
  text: string;
  startLine: number;
  endLine: number;
  tokens: number;
}

interface Unit {
  text: string;
  startLine: number;
  endLine: number;
  tokens: number;
  /** A markdown heading: a good place to start a chunk. */
  heading: boolean;
}

const HEADING = /^\s{0,3}#{1,6}\s/;
const FENCE = /^\s{0,3}(```|~~~)/;
// Sentence end: . ! ? (optionally followed by quotes/brackets) then whitespace.
const SENTENCE_END = /[.!?。！？]["'”’)\]]*\s+/g;

export function chunkText(text: string, opts: ChunkerOptions): Chunk[] {
  if (opts.maxTokens < 8) throw new Error(`chunk size ${opts.maxTokens} tokens is too small (minimum 8)`);
  const overlap = Math.max(0, Math.min(opts.overlapTokens, Math.floor(opts.maxTokens / 2)));
  const units: Unit[] = [];
  for (const para of paragraphs(text)) splitUnit(para, opts, units);
  return pack(units, opts.maxTokens, overlap);
}

/** Paragraphs: runs of non-blank lines; headings stand alone; fenced code stays together. */
function paragraphs(text: string): Unit[] {
  const lines = text.split(/\r?\n/);
  const out: Unit[] = [];
  let buf: string[] = [];
  let start = 0;
  let inFence = false;
  const flush = (endIdx: number, heading = false) => {
    if (buf.length && buf.some((l) => l.trim() !== '')) {
      out.push({ text: buf.join('\n'), startLine: start + 1, endLine: endIdx + 1, tokens: 0, heading });
    }
    buf = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (FENCE.test(line)) {
      if (!inFence) {
        flush(i - 1);
        start = i;
      }
      buf.push(line);
      inFence = !inFence;
      if (!inFence) flush(i);
      continue;
    }
    if (inFence) {
      buf.push(line);
      continue;
    }
    if (line.trim() === '') {
      flush(i - 1);
      continue;
    }
    if (HEADING.test(line)) {
      flush(i - 1);
      start = i;
      buf.push(line);
      flush(i, true);
      continue;
    }
    if (buf.length === 0) start = i;
    buf.push(line);
  }
  flush(lines.length - 1);
  return out;
}

/** Break a unit that is too long into sentences, then word windows. */
function splitUnit(u: Unit, opts: ChunkerOptions, out: Unit[]): void {
  u.tokens = opts.count(u.text);
  if (u.tokens <= opts.maxTokens) {
    out.push(u);
    return;
  }
  let pieces = splitKeepingLines(u, SENTENCE_END);
  if (pieces.length <= 1) pieces = splitKeepingLines(u, /\n/g);
  if (pieces.length > 1) {
    for (const p of pieces) splitUnit(p, opts, out);
    return;
  }
  // One long sentence: cut into word windows sized by an estimate, then verify each.
  const words = splitKeepingLines(u, /\s+/g);
  let cur = null as Unit | null;
  for (const w of words) {
    w.tokens = opts.count(w.text);
    if (w.tokens > opts.maxTokens) {
      // A single "word" longer than a chunk (e.g. base64): cut by characters.
      for (const piece of cutChars(w, opts)) {
        if (cur) out.push(cur);
        cur = null;
        out.push(piece);
      }
      continue;
    }
    if (cur && cur.tokens + w.tokens > opts.maxTokens) {
      out.push(cur);
      cur = null;
    }
    const prev: Unit | null = cur;
    cur = prev ? { ...prev, text: `${prev.text} ${w.text}`, endLine: w.endLine, tokens: prev.tokens + w.tokens } : { ...w };
  }
  if (cur) out.push(cur);
}

function cutChars(u: Unit, opts: ChunkerOptions): Unit[] {
  const out: Unit[] = [];
  let size = Math.max(8, opts.maxTokens * 2);
  let i = 0;
  while (i < u.text.length) {
    let piece = u.text.slice(i, i + size);
    let t = opts.count(piece);
    while (t > opts.maxTokens && piece.length > 1) {
      size = Math.max(1, Math.floor(piece.length / 2));
      piece = u.text.slice(i, i + size);
      t = opts.count(piece);
    }
    out.push({ text: piece, startLine: u.startLine, endLine: u.endLine, tokens: t, heading: false });
    i += piece.length;
  }
  return out;
}

/** Split a unit's text at a separator regex, tracking the line each piece starts and ends on. */
function splitKeepingLines(u: Unit, sep: RegExp): Unit[] {
  const out: Unit[] = [];
  const re = new RegExp(sep.source, 'g');
  let last = 0;
  let line = u.startLine;
  const push = (from: number, to: number) => {
    const raw = u.text.slice(from, to);
    const lead = raw.length - raw.trimStart().length;
    const piece = raw.trim();
    const startLine = line + countNewlines(u.text, from, from + lead);
    const endLine = startLine + countNewlines(piece, 0, piece.length);
    if (piece) out.push({ text: piece, startLine, endLine, tokens: 0, heading: false });
    line += countNewlines(u.text, from, to);
  };
  let m: RegExpExecArray | null;
  while ((m = re.exec(u.text)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    const end = m.index + m[0].length;
    push(last, end);
    last = end;
  }
  if (last < u.text.length) push(last, u.text.length);
  return out;
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

/** Greedy packing of units into chunks; a heading always starts a new chunk (sections stay apart). */
function pack(units: Unit[], max: number, overlap: number): Chunk[] {
  const chunks: Chunk[] = [];
  let cur: Unit[] = [];
  let curTokens = 0;
  const emit = () => {
    if (!cur.length) return;
    chunks.push({
      // Pieces of one line (sentences, words) rejoin with a space, separate lines with a newline.
      text: cur.map((u, i) => (i === 0 ? '' : cur[i - 1].endLine === u.startLine ? ' ' : '\n') + u.text).join(''),
      startLine: cur[0].startLine,
      endLine: cur[cur.length - 1].endLine,
      tokens: curTokens,
    });
  };
  let fresh = 0; // units in `cur` that are not overlap carried from the previous chunk
  for (const u of units) {
    const wouldOverflow = curTokens + u.tokens > max;
    const headingBreak = u.heading && fresh > 0;
    if (cur.length && fresh > 0 && (wouldOverflow || headingBreak)) {
      emit();
      // Carry trailing units as overlap (never across a heading break, never past the budget).
      const carried: Unit[] = [];
      let t = 0;
      if (!headingBreak) {
        for (let i = cur.length - 1; i >= 0; i--) {
          if (t + cur[i].tokens > overlap || t + cur[i].tokens + u.tokens > max) break;
          carried.unshift(cur[i]);
          t += cur[i].tokens;
        }
      }
      cur = carried;
      curTokens = t;
      fresh = 0;
    } else if (cur.length && fresh === 0 && wouldOverflow) {
      cur = [];
      curTokens = 0;
    }
    cur.push(u);
    curTokens += u.tokens;
    fresh++;
  }
  emit();
  return chunks;
}

const SEGMENT_CHARS = 64 * 1024;

/**
 * `chunkText` for texts of any size without blocking the thread: a long text is cut into segments
 * of about 64 KB at paragraph breaks, each chunked on its own (line numbers kept), yielding to the
 * event loop in between so the actor keeps answering liveness pings (one segment costs tens of
 * milliseconds even for hostile input: long words are counted in slices). `check` runs between
 * segments and may throw (the analysis budget); `onChunks` streams each segment's chunks.
 */
export async function chunkTextAsync(text: string, opts: ChunkerOptions & { check?: () => void; onChunks?: (c: Chunk[]) => void | Promise<void> }): Promise<Chunk[]> {
  if (text.length <= 2 * SEGMENT_CHARS && !opts.onChunks) return chunkText(text, opts);
  const out: Chunk[] = [];
  let start = 0;
  let lineOffset = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + SEGMENT_CHARS);
    if (end < text.length) {
      // Look for a break within the next segment only (a 10 MB single line must not be rescanned per segment).
      const ahead = text.slice(end, end + SEGMENT_CHARS);
      const para = ahead.indexOf('\n\n');
      const nl = ahead.indexOf('\n');
      end += para >= 0 ? para + 2 : nl >= 0 ? nl + 1 : 0;
    }
    const seg = text.slice(start, end);
    const part = chunkText(seg, opts).map((c) => ({ ...c, startLine: c.startLine + lineOffset, endLine: c.endLine + lineOffset }));
    if (opts.onChunks) await opts.onChunks(part);
    else for (const c of part) out.push(c);
    lineOffset += countNewlines(seg, 0, seg.length);
    start = end;
    await new Promise<void>((r) => setImmediate(r));
    opts.check?.();
  }
  return out;
}
