// A small JSON reader/writer for tools (AssemblyScript). Values are a tagged tree; a parse error
// aborts the tool with a message naming the offset (AssemblyScript has no exceptions).

export const NULL: i32 = 0;
export const BOOL: i32 = 1;
export const NUM: i32 = 2;
export const STR: i32 = 3;
export const ARR: i32 = 4;
export const OBJ: i32 = 5;

export class JValue {
  kind: i32 = NULL;
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  items: Array<JValue> = new Array<JValue>();
  keys: Array<string> = new Array<string>();

  static str(s: string): JValue { const v = new JValue(); v.kind = STR; v.s = s; return v; }
  static num(n: f64): JValue { const v = new JValue(); v.kind = NUM; v.n = n; return v; }
  static arr(): JValue { const v = new JValue(); v.kind = ARR; return v; }

  get(key: string): JValue | null {
    if (this.kind != OBJ) return null;
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return this.items[i];
    return null;
  }
  getString(key: string, dflt: string): string {
    const v = this.get(key);
    return v != null && v.kind == STR ? v.s : dflt;
  }
  getBool(key: string, dflt: bool): bool {
    const v = this.get(key);
    return v != null && v.kind == BOOL ? v.b : dflt;
  }
  getNum(key: string, dflt: f64): f64 {
    const v = this.get(key);
    return v != null && v.kind == NUM ? v.n : dflt;
  }

  stringify(): string {
    const out = new Array<string>();
    write(this, out);
    return out.join("");
  }
}

function write(v: JValue, out: Array<string>): void {
  if (v.kind == NULL) out.push("null");
  else if (v.kind == BOOL) out.push(v.b ? "true" : "false");
  else if (v.kind == NUM) {
    if (!isFinite(v.n)) out.push("null");
    else if (v.n == Math.floor(v.n) && Math.abs(v.n) < 9007199254740992) out.push(i64(v.n).toString());
    else out.push(v.n.toString());
  } else if (v.kind == STR) out.push(quote(v.s));
  else if (v.kind == ARR) {
    out.push("[");
    for (let i = 0; i < v.items.length; i++) { if (i) out.push(","); write(v.items[i], out); }
    out.push("]");
  } else {
    out.push("{");
    for (let i = 0; i < v.keys.length; i++) { if (i) out.push(","); out.push(quote(v.keys[i])); out.push(":"); write(v.items[i], out); }
    out.push("}");
  }
}

const HEX = "0123456789abcdef";

export function quote(s: string): string {
  const out = new Array<string>();
  out.push("\"");
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34 || c == 92 || c < 32) {
      if (i > start) out.push(s.substring(start, i));
      if (c == 34) out.push("\\\"");
      else if (c == 92) out.push("\\\\");
      else if (c == 10) out.push("\\n");
      else if (c == 13) out.push("\\r");
      else if (c == 9) out.push("\\t");
      else out.push("\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15));
      start = i + 1;
    }
  }
  if (start < s.length) out.push(s.substring(start));
  out.push("\"");
  return out.join("");
}

class Parser {
  pos: i32 = 0;
  depth: i32 = 0;
  constructor(public src: string) {}

  fail(what: string): void {
    abort("invalid JSON at offset " + this.pos.toString() + ": " + what);
  }
  ws(): void {
    while (this.pos < this.src.length) {
      const c = this.src.charCodeAt(this.pos);
      if (c == 32 || c == 9 || c == 10 || c == 13) this.pos++;
      else break;
    }
  }
  value(): JValue {
    this.ws();
    if (this.pos >= this.src.length) this.fail("unexpected end");
    const c = this.src.charCodeAt(this.pos);
    const v = new JValue();
    if (c == 123) { // {
      if (++this.depth > 256) this.fail("nested too deeply");
      v.kind = OBJ;
      this.pos++;
      this.ws();
      if (this.src.charCodeAt(this.pos) == 125) { this.pos++; this.depth--; return v; }
      while (true) {
        this.ws();
        if (this.src.charCodeAt(this.pos) != 34) this.fail("expected a string key");
        v.keys.push(this.string());
        this.ws();
        if (this.src.charCodeAt(this.pos) != 58) this.fail("expected ':'");
        this.pos++;
        v.items.push(this.value());
        this.ws();
        const d = this.src.charCodeAt(this.pos);
        this.pos++;
        if (d == 125) break;
        if (d != 44) this.fail("expected ',' or '}'");
      }
      this.depth--;
    } else if (c == 91) { // [
      if (++this.depth > 256) this.fail("nested too deeply");
      v.kind = ARR;
      this.pos++;
      this.ws();
      if (this.src.charCodeAt(this.pos) == 93) { this.pos++; this.depth--; return v; }
      while (true) {
        v.items.push(this.value());
        this.ws();
        const d = this.src.charCodeAt(this.pos);
        this.pos++;
        if (d == 93) break;
        if (d != 44) this.fail("expected ',' or ']'");
      }
      this.depth--;
    } else if (c == 34) {
      v.kind = STR;
      v.s = this.string();
    } else if (this.src.startsWith("true", this.pos)) { v.kind = BOOL; v.b = true; this.pos += 4; }
    else if (this.src.startsWith("false", this.pos)) { v.kind = BOOL; this.pos += 5; }
    else if (this.src.startsWith("null", this.pos)) { this.pos += 4; }
    else if (c == 45 || (c >= 48 && c <= 57)) {
      const start = this.pos;
      this.pos++;
      while (this.pos < this.src.length) {
        const d = this.src.charCodeAt(this.pos);
        if ((d >= 48 && d <= 57) || d == 46 || d == 101 || d == 69 || d == 43 || d == 45) this.pos++;
        else break;
      }
      v.kind = NUM;
      v.n = parseFloat(this.src.substring(start, this.pos));
      if (isNaN(v.n)) this.fail("bad number");
    } else this.fail("unexpected character");
    return v;
  }
  string(): string {
    this.pos++; // opening quote
    const out = new Array<string>();
    let start = this.pos;
    while (true) {
      if (this.pos >= this.src.length) this.fail("unterminated string");
      const c = this.src.charCodeAt(this.pos);
      if (c == 34) break;
      if (c == 92) {
        if (this.pos > start) out.push(this.src.substring(start, this.pos));
        const e = this.src.charCodeAt(this.pos + 1);
        this.pos += 2;
        if (e == 110) out.push("\n");
        else if (e == 116) out.push("\t");
        else if (e == 114) out.push("\r");
        else if (e == 98) out.push("\b");
        else if (e == 102) out.push("\f");
        else if (e == 117) {
          const code = I32.parseInt(this.src.substring(this.pos, this.pos + 4), 16);
          if (this.pos + 4 > this.src.length) this.fail("bad \\u escape");
          out.push(String.fromCharCode(code));
          this.pos += 4;
        } else out.push(String.fromCharCode(e));
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    if (this.pos > start) out.push(this.src.substring(start, this.pos));
    this.pos++;
    return out.join("");
  }
}

export function parse(src: string): JValue {
  const p = new Parser(src);
  const v = p.value();
  p.ws();
  if (p.pos != src.length) p.fail("trailing characters");
  return v;
}
