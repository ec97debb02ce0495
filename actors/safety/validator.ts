/**
 * Validator: turns whatever arrived (string, Buffer, Uint8Array, other) into checked text, and checks
 * JSON values (tool arguments) for size, depth and shape without recursion, so deeply nested input
 * cannot overflow the stack.
 */
export interface ValidationIssue { rule: string; category: 'encoding' | 'size' | 'json'; severity: 'low' | 'medium' | 'high' | 'critical'; message: string; path?: string }

export interface TextLimits {
  /** Largest input accepted at all (UTF-8 bytes or string length × 3 as an upper bound). */
  maxInputBytes: number;
}

export interface DecodedText { text: string; issues: ValidationIssue[]; tooLarge: boolean; binary: boolean }

/** Share of control bytes (excluding tab/LF/CR) in the first 8 KB above which input counts as binary. */
const BINARY_RATIO = 0.1;

export function decodeInput(input: unknown, limits: TextLimits): DecodedText {
  const issues: ValidationIssue[] = [];
  let bytes: Uint8Array | undefined;
  let text: string;
  if (typeof input === 'string') {
    if (input.length > limits.maxInputBytes) return { text: '', issues: [{ rule: 'size.too_large', category: 'size', severity: 'high', message: `text of ${input.length} characters exceeds the ${limits.maxInputBytes} limit` }], tooLarge: true, binary: false };
    text = input;
    const wf = text as unknown as { isWellFormed(): boolean; toWellFormed(): string };
    if (!wf.isWellFormed()) {
      issues.push({ rule: 'encoding.lone_surrogate', category: 'encoding', severity: 'medium', message: 'text contains unpaired UTF-16 surrogates; replaced with U+FFFD' });
      text = wf.toWellFormed();
    }
  } else if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
    if (bytes.byteLength > limits.maxInputBytes) return { text: '', issues: [{ rule: 'size.too_large', category: 'size', severity: 'high', message: `input of ${bytes.byteLength} bytes exceeds the ${limits.maxInputBytes} limit` }], tooLarge: true, binary: false };
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      issues.push({ rule: 'encoding.invalid_utf8', category: 'encoding', severity: 'medium', message: 'input is not valid UTF-8; invalid sequences replaced with U+FFFD' });
      text = new TextDecoder('utf-8').decode(bytes);
    }
  } else if (isBase64Bytes(input)) {
    const approx = Math.floor((input.base64.length * 3) / 4);
    if (approx > limits.maxInputBytes + 2) return { text: '', issues: [{ rule: 'size.too_large', category: 'size', severity: 'high', message: `input of about ${approx} bytes exceeds the ${limits.maxInputBytes} limit` }], tooLarge: true, binary: false };
    return decodeInput(base64Bytes(input.base64), limits);
  } else {
    throw new TypeError(`text must be a string, bytes or {base64}, got ${input === null ? 'null' : typeof input}`);
  }
  const binary = looksBinary(text);
  if (binary) issues.push({ rule: 'encoding.binary', category: 'encoding', severity: 'high', message: 'input looks like binary data, not text' });
  return { text, issues, tooLarge: false, binary };
}

function isBase64Bytes(v: unknown): v is { base64: string } {
  return typeof v === 'object' && v !== null && typeof (v as { base64?: unknown }).base64 === 'string';
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (Buffer.from silently skips bad characters, which would scan different bytes than were sent). */
function base64Bytes(b64: string): Uint8Array {
  const clean = b64.length > 0 && b64.length % 4 !== 0 && !b64.endsWith('=') ? b64 + '='.repeat(4 - (b64.length % 4)) : b64;
  if (clean.length % 4 !== 0 || !BASE64_RE.test(clean)) {
    const bad = clean.search(/[^A-Za-z0-9+/=]/);
    throw new Base64Error(bad >= 0 ? `text.base64: invalid character ${JSON.stringify(clean[bad])} at offset ${bad}` : `text.base64: length ${b64.length} is not a valid base64 length`);
  }
  return Buffer.from(clean, 'base64');
}

/** A `{base64}` text that is not valid base64 (the actor answers invalid_message). */
export class Base64Error extends Error {}

function looksBinary(text: string): boolean {
  const n = Math.min(text.length, 8192);
  if (n === 0) return false;
  let ctrl = 0, replaced = 0, nul = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) nul = true;
    if (c < 32 && c !== 9 && c !== 10 && c !== 13) ctrl++;
    else if (c === 0xfffd) replaced++;
  }
  // NUL never occurs in text; undecodable bytes in bulk mean a binary file, a few mean a bad encoding.
  return nul || ctrl / n > BINARY_RATIO || (n >= 64 && replaced / n > 0.3);
}

export interface JsonLimits { maxBytes: number; maxDepth: number; maxKeys: number; maxStringLength: number; maxArrayLength: number }
export const DEFAULT_JSON_LIMITS: JsonLimits = { maxBytes: 1 << 20, maxDepth: 64, maxKeys: 10_000, maxStringLength: 1 << 20, maxArrayLength: 100_000 };

/** A JSON-Schema subset: type, properties, required, additionalProperties, items, enum, min/max(Length). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  minLength?: number; maxLength?: number; minimum?: number; maximum?: number; minItems?: number; maxItems?: number;
}

/** Nesting depth of a JSON text, counted in one pass without parsing (strings skipped). */
export function jsonTextDepth(s: string): number {
  let depth = 0, max = 0, inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inStr) {
      if (c === 92) i++;
      else if (c === 34) inStr = false;
    } else if (c === 34) inStr = true;
    else if (c === 123 || c === 91) { if (++depth > max) max = depth; }
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

export function validateJson(input: unknown, schema?: JsonSchema, limits: JsonLimits = DEFAULT_JSON_LIMITS): { ok: boolean; value?: unknown; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  let value = input;
  if (typeof input === 'string') {
    if (input.length > limits.maxBytes) return { ok: false, issues: [{ rule: 'json.too_large', category: 'json', severity: 'high', message: `JSON text longer than ${limits.maxBytes} characters` }] };
    const depth = jsonTextDepth(input);
    if (depth > limits.maxDepth) return { ok: false, issues: [{ rule: 'json.too_deep', category: 'json', severity: 'high', message: `JSON nested ${depth} levels deep (limit ${limits.maxDepth})` }] };
    try {
      value = JSON.parse(input);
    } catch (e) {
      return { ok: false, issues: [{ rule: 'json.invalid', category: 'json', severity: 'medium', message: `invalid JSON: ${(e as Error).message}` }] };
    }
  }
  // Iterative walk: depth, counts, string sizes, and the schema at each node.
  const stack: Array<{ v: unknown; path: string; depth: number; schema?: JsonSchema }> = [{ v: value, path: '$', depth: 0, schema }];
  let keys = 0;
  const push = (rule: string, message: string, path: string) => issues.push({ rule, category: 'json', severity: 'medium', message: `${path}: ${message}`, path });
  while (stack.length > 0 && issues.length < 50) {
    const { v, path, depth, schema: sc } = stack.pop()!;
    if (depth > limits.maxDepth) { push('json.too_deep', `nested deeper than ${limits.maxDepth}`, path); break; }
    if (sc) checkNode(v, sc, path, push);
    if (typeof v === 'string' && v.length > limits.maxStringLength) push('json.string_too_long', `string longer than ${limits.maxStringLength}`, path);
    else if (Array.isArray(v)) {
      if (v.length > limits.maxArrayLength) { push('json.array_too_long', `array longer than ${limits.maxArrayLength}`, path); continue; }
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1, schema: sc?.items });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      keys += entries.length;
      if (keys > limits.maxKeys) { push('json.too_many_keys', `more than ${limits.maxKeys} keys in total`, path); break; }
      for (const [k, child] of entries) {
        const childSchema = sc?.properties?.[k] ?? (typeof sc?.additionalProperties === 'object' ? sc.additionalProperties : undefined);
        stack.push({ v: child, path: `${path}.${k}`, depth: depth + 1, schema: childSchema });
      }
    }
  }
  return { ok: issues.length === 0, value, issues };
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function checkNode(v: unknown, s: JsonSchema, path: string, push: (rule: string, msg: string, path: string) => void): void {
  const t = typeOf(v);
  if (s.type) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((x) => x === t || (x === 'number' && t === 'integer'))) { push('json.schema', `expected ${types.join('|')}, got ${t}`, path); return; }
  }
  if (s.enum && !s.enum.some((e) => e === v)) push('json.schema', `value not in enum`, path);
  if (typeof v === 'string') {
    if (s.minLength !== undefined && v.length < s.minLength) push('json.schema', `shorter than ${s.minLength}`, path);
    if (s.maxLength !== undefined && v.length > s.maxLength) push('json.schema', `longer than ${s.maxLength}`, path);
  }
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) push('json.schema', `below minimum ${s.minimum}`, path);
    if (s.maximum !== undefined && v > s.maximum) push('json.schema', `above maximum ${s.maximum}`, path);
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) push('json.schema', `fewer than ${s.minItems} items`, path);
    if (s.maxItems !== undefined && v.length > s.maxItems) push('json.schema', `more than ${s.maxItems} items`, path);
  }
  if (t === 'object') {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) push('json.schema', `missing required property "${r}"`, path);
    if (s.additionalProperties === false && s.properties) {
      for (const k of Object.keys(o)) if (!(k in s.properties)) push('json.schema', `unexpected property "${k}"`, path);
    }
  }
}
