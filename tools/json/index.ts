// json: jq-like paths over a JSON value. Arguments: {input: <value or JSON text>, path: ".a.b[0]",
// raw?: bool}. Paths: `.` `.key` `."quoted key"` `.["key"]` `[N]` `[-N]` `[]` (every element or
// value), chained, then optional `| length`, `| keys`, `| type`. Each result on its own line.
import { JValue, parse, quote, NULL, BOOL, NUM, STR, ARR, OBJ } from "../lib/json";
import { readArgs, out, fail } from "../lib/io";

function typeName(v: JValue): string {
  if (v.kind == NULL) return "null";
  if (v.kind == BOOL) return "boolean";
  if (v.kind == NUM) return "number";
  if (v.kind == STR) return "string";
  if (v.kind == ARR) return "array";
  return "object";
}

function isIdent(c: i32, first: bool): bool {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || (!first && ((c >= 48 && c <= 57) || c == 45));
}

function field(stream: Array<JValue>, key: string): Array<JValue> {
  const next = new Array<JValue>();
  for (let i = 0; i < stream.length; i++) {
    const v = stream[i];
    if (v.kind == OBJ) { const f = v.get(key); next.push(f != null ? f : new JValue()); }
    else if (v.kind == NULL) next.push(new JValue());
    else fail("json: cannot index " + typeName(v) + " with \"" + key + "\"");
  }
  return next;
}

function index(stream: Array<JValue>, n: i32): Array<JValue> {
  const next = new Array<JValue>();
  for (let i = 0; i < stream.length; i++) {
    const v = stream[i];
    if (v.kind == ARR) {
      const k = n < 0 ? v.items.length + n : n;
      next.push(k >= 0 && k < v.items.length ? v.items[k] : new JValue());
    } else if (v.kind == NULL) next.push(new JValue());
    else fail("json: cannot index " + typeName(v) + " with a number");
  }
  return next;
}

function each(stream: Array<JValue>): Array<JValue> {
  const next = new Array<JValue>();
  for (let i = 0; i < stream.length; i++) {
    const v = stream[i];
    if (v.kind == ARR || v.kind == OBJ) for (let k = 0; k < v.items.length; k++) next.push(v.items[k]);
    else fail("json: cannot iterate over " + typeName(v));
  }
  return next;
}

function apply(fn: string, stream: Array<JValue>): Array<JValue> {
  const next = new Array<JValue>();
  for (let i = 0; i < stream.length; i++) {
    const v = stream[i];
    if (fn == "length") {
      if (v.kind == ARR || v.kind == OBJ) next.push(JValue.num(<f64>v.items.length));
      else if (v.kind == STR) next.push(JValue.num(<f64>v.s.length));
      else if (v.kind == NULL) next.push(JValue.num(0));
      else fail("json: " + typeName(v) + " has no length");
    } else if (fn == "keys") {
      if (v.kind != OBJ) fail("json: " + typeName(v) + " has no keys");
      const a = JValue.arr();
      const sorted = v.keys.slice(0);
      sorted.sort();
      for (let k = 0; k < sorted.length; k++) a.items.push(JValue.str(sorted[k]));
      next.push(a);
    } else if (fn == "type") next.push(JValue.str(typeName(v)));
    else fail("json: unknown function '" + fn + "' (length, keys, type)");
  }
  return next;
}

function evaluate(path: string, root: JValue): Array<JValue> {
  let stream = new Array<JValue>();
  stream.push(root);
  const parts = path.split("|");
  const p = parts[0].trim();
  let i = 0;
  if (p.length == 0) fail("json: empty path (use . for the whole input)");
  while (i < p.length) {
    const c = p.charCodeAt(i);
    if (c == 46) { // .
      i++;
      if (i < p.length && p.charCodeAt(i) == 34) {
        const end = p.indexOf("\"", i + 1);
        if (end < 0) fail("json: unterminated quoted key in path");
        stream = field(stream, p.substring(i + 1, end));
        i = end + 1;
      } else if (i < p.length && isIdent(p.charCodeAt(i), true)) {
        const start = i;
        while (i < p.length && isIdent(p.charCodeAt(i), false)) i++;
        stream = field(stream, p.substring(start, i));
      }
    } else if (c == 91) { // [
      const end = p.indexOf("]", i);
      if (end < 0) fail("json: missing ] in path");
      const inner = p.substring(i + 1, end).trim();
      if (inner.length == 0) stream = each(stream);
      else if (inner.charCodeAt(0) == 34) stream = field(stream, parse(inner).s);
      else {
        const n = I32.parseInt(inner, 10);
        if (isNaN(<f64>F64.parseFloat(inner))) fail("json: bad index [" + inner + "]");
        stream = index(stream, n);
      }
      i = end + 1;
    } else if (c == 32) i++;
    else fail("json: unexpected '" + String.fromCharCode(c) + "' at position " + i.toString() + " of the path");
  }
  for (let k = 1; k < parts.length; k++) stream = apply(parts[k].trim(), stream);
  return stream;
}

const args = readArgs();
const input = args.get("input");
const path = args.getString("path", ".");
const raw = args.getBool("raw", false);
if (input == null) fail("json: argument 'input' is required");
let root = input!;
if (root.kind == STR && args.getBool("parse", true)) {
  const t = root.s.trim();
  if (t.startsWith("{") || t.startsWith("[")) root = parse(t);
}
const results = evaluate(path, root);
const lines = new Array<string>();
for (let i = 0; i < results.length; i++) {
  const r = results[i];
  lines.push(raw && r.kind == STR ? r.s : r.stringify());
}
out(lines.join("\n") + "\n");
