/**
 * The untrusted-content wrapper: the edited text between an opening and a closing marker, built in
 * one join with them (a flat string: a concatenation would be flattened again when the reply is
 * cloned, ~1 ms per MB), with every marker forged inside it neutralised (`<` → `&lt;`), so the
 * closing marker cannot be forged from inside the content.
 */
import { editParts, type Edit } from './sanitizer.js';

/**
 * The output text as the input's edited pieces: `text` with `edits` applied, then `tail`. `marked`:
 * the input holds the markers' word (`untrusted_content`, in any case as a non-Unicode `/i` pattern
 * folds it) somewhere.
 */
export interface Body { text: string; edits: Edit[]; tail: string; marked: boolean }

/** Forged `<untrusted_content` / `</untrusted_content` markers inside wrapped content. */
const FORGED_MARKER_RE = /<\/?untrusted_content/gi;

/** `head` + the edited body + `close`; `head` must end and `close` begin with a newline. */
export function wrapEdited(head: string, body: Body, close: string): string {
  const joints: number[] = [];
  const parts = editParts(body.text, body.edits, [head], joints);
  parts.push(body.tail, close);
  const wrapped = parts.join('');
  // Joints in the wrapped text: the replacements, and the tail as one more after the last piece.
  for (let i = 0; i < joints.length; i++) joints[i] += head.length;
  const tailEnd = wrapped.length - close.length;
  joints.push(tailEnd - body.tail.length, tailEnd);
  return neutraliseMarkers(wrapped, head.length, close.length, body.marked ? undefined : joints);
}

/** Longest forged marker (`</untrusted_content`). */
const MARKER_REACH = 19;

/**
 * `wrapped` with every forged marker between its head and its closing marker neutralised (`<` → `&lt;`),
 * so the closing marker cannot be forged from inside the content. A marker cannot reach into the head
 * or the closing marker: both end and begin with a newline, which no marker contains.
 *
 * `joints` ([start, end) of each replacement in `wrapped`), when the input holds no `untrusted_content`:
 * then no marker lies inside one piece of the input, so every marker overlaps a joint or straddles one
 * (markers do not overlap each other), and only MARKER_REACH characters around each joint are searched.
 */
export function neutraliseMarkers(wrapped: string, headLength: number, closeLength: number, joints?: number[]): string {
  const end = wrapped.length - closeLength;
  let at: number[] = [];
  const scan = (from: number, to: number, sub: string) => {
    FORGED_MARKER_RE.lastIndex = 0;
    for (let m = FORGED_MARKER_RE.exec(sub); m !== null && from + m.index < to; m = FORGED_MARKER_RE.exec(sub)) at.push(from + m.index);
  };
  if (!joints) scan(headLength, end, wrapped.slice(headLength));
  else {
    for (let i = 0; i < joints.length; i += 2) {
      const from = Math.max(headLength, joints[i] - MARKER_REACH + 1);
      const to = Math.min(end, joints[i + 1] + MARKER_REACH - 1);
      if (from < to) scan(from, to, wrapped.slice(from, to));
    }
    if (at.length > 1) at = [...new Set(at)].sort((a, b) => a - b);
  }
  if (at.length === 0) return wrapped;
  const parts: string[] = [];
  let pos = 0;
  for (const a of at) {
    parts.push(wrapped.slice(pos, a), '&lt;');
    pos = a + 1;
  }
  parts.push(wrapped.slice(pos));
  return parts.join('');
}
