/**
 * IP address parsing and classification for the SSRF guard.
 *
 * Everything here works on numbers, not strings, so every spelling of an address (decimal, octal,
 * hex, short forms, IPv4-mapped / NAT64 / 6to4 / IPv4-compatible IPv6) lands in the same range check.
 * The rule is fail closed: only globally routable unicast space is "public"; anything special-purpose
 * in the IANA registries is blocked unless the caller explicitly allows a CIDR.
 */
import { isIP } from 'node:net';

export interface AddressVerdict {
  /** true when the address is in a blocked (non-public) range. */
  blocked: boolean;
  /** Name of the range that decided, e.g. `loopback`, `private`, `cloud-metadata`, `public`. */
  range: string;
  /** Canonical text of the address that was classified (embedded IPv4 for mapped forms). */
  address: string;
}

/** Parses strict dotted-quad decimal (what WHATWG URL serialises). */
export function parseIPv4Strict(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const p = Number(m[i]);
    if (p > 255) return null;
    n = n * 256 + p;
  }
  return n;
}

/**
 * inet_aton-style parsing: 1–4 parts, each decimal, octal (leading 0) or hex (0x), the last part
 * filling the remaining bytes. Values that overflow are reduced modulo 2^32 the way lenient parsers
 * wrap them, so callers can say what such a host would really reach. Returns null when the text is
 * not numeric at all.
 */
export function parseIPv4Lenient(s: string): { value: number; overflow: boolean } | null {
  let host = s;
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 64) return null;
  const parts = host.split('.');
  if (parts.length > 4) return null;
  const nums: bigint[] = [];
  for (const p of parts) {
    let v: bigint;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) v = p.length === 2 ? 0n : BigInt(p);
    else if (/^0[0-7]+$/.test(p)) v = BigInt('0o' + p.slice(1));
    else if (/^\d+$/.test(p)) v = BigInt(p);
    else return null;
    nums.push(v);
  }
  let overflow = false;
  let value = 0n;
  for (let i = 0; i < nums.length - 1; i++) {
    if (nums[i] > 255n) overflow = true;
    value = value * 256n + (nums[i] & 255n);
  }
  const restBytes = BigInt(5 - nums.length);
  const last = nums[nums.length - 1];
  const limit = 1n << (8n * restBytes);
  if (last >= limit) overflow = true;
  value = value * limit + (last % limit);
  return { value: Number(value & 0xffffffffn), overflow };
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses an IPv6 literal (optionally bracketed, optional zone id, optional trailing dotted IPv4) to 8 words. */
export function parseIPv6(input: string): number[] | null {
  let s = input;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.length === 0 || s.length > 64 || isIP(s) !== 6) return null;
  const lastColon = s.lastIndexOf(':');
  const lastPart = s.slice(lastColon + 1);
  if (lastPart.includes('.')) {
    // Trailing dotted IPv4 (::ffff:127.0.0.1): rewrite it as two hex words.
    const v4n = parseIPv4Strict(lastPart);
    if (v4n === null) return null;
    s = s.slice(0, lastColon + 1) + (v4n >>> 16).toString(16) + ':' + (v4n & 0xffff).toString(16);
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const toWords = (h: string) => (h === '' ? [] : h.split(':').map((w) => parseInt(w, 16)));
  const head = toWords(halves[0]);
  const rest = halves.length === 2 ? toWords(halves[1]) : [];
  const total = head.length + rest.length;
  if (halves.length === 1 && total !== 8) return null;
  if (total > 8) return null;
  const zeros = new Array(8 - total).fill(0);
  const words = halves.length === 2 ? [...head, ...zeros, ...rest] : head;
  if (words.length !== 8 || words.some((w) => !(w >= 0 && w <= 0xffff))) return null;
  return words;
}

interface V4Range { base: number; bits: number; name: string }
const v4 = (cidr: string, name: string): V4Range => {
  const [a, b] = cidr.split('/');
  return { base: parseIPv4Strict(a)!, bits: Number(b), name };
};

/** Non-public IPv4 space (IANA special-purpose registry) plus cloud metadata addresses. Most specific first. */
const BLOCKED_V4: V4Range[] = [
  v4('169.254.169.254/32', 'cloud-metadata'),
  v4('169.254.170.2/32', 'cloud-metadata'),
  v4('100.100.100.200/32', 'cloud-metadata'),
  v4('192.0.0.192/32', 'cloud-metadata'),
  v4('168.63.129.16/32', 'cloud-metadata'),
  v4('255.255.255.255/32', 'broadcast'),
  v4('0.0.0.0/8', 'this-network'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'shared-cgnat'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'ietf-protocol'),
  v4('192.0.2.0/24', 'documentation'),
  v4('192.31.196.0/24', 'as112'),
  v4('192.52.193.0/24', 'amt'),
  v4('192.88.99.0/24', '6to4-relay'),
  v4('192.168.0.0/16', 'private'),
  v4('192.175.48.0/24', 'as112'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

function inV4(n: number, r: { base: number; bits: number }): boolean {
  if (r.bits === 0) return true;
  const mask = r.bits === 32 ? 0xffffffff : (~(0xffffffff >>> r.bits)) >>> 0;
  return ((n & mask) >>> 0) === ((r.base & mask) >>> 0);
}

export interface Cidr { v: 4 | 6; words: number[]; bits: number; text: string }

/** Parses `a.b.c.d/n` or `x::y/n` (a bare address means a single host). Throws with a clear message. */
export function parseCidr(text: string): Cidr {
  const [addr, bitsText, extra] = text.trim().split('/');
  if (extra !== undefined) throw new Error(`invalid CIDR "${text}"`);
  const v4n = parseIPv4Strict(addr);
  if (v4n !== null) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`invalid prefix length in CIDR "${text}"`);
    return { v: 4, words: [v4n >>> 16, v4n & 0xffff], bits, text };
  }
  const w = parseIPv6(addr);
  if (!w) throw new Error(`invalid address in CIDR "${text}"`);
  const bits = bitsText === undefined ? 128 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw new Error(`invalid prefix length in CIDR "${text}"`);
  return { v: 6, words: w, bits, text };
}

function wordsMatch(a: number[], b: number[], bits: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= 16) {
    const m = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((a[i] & m) !== (b[i] & m)) return false;
  }
  return true;
}

export function cidrContains(c: Cidr, address: string): boolean {
  const n = parseIPv4Strict(address);
  if (n !== null) return c.v === 4 && wordsMatch([n >>> 16, n & 0xffff], c.words, c.bits);
  const w = parseIPv6(address);
  return !!w && c.v === 6 && wordsMatch(w, c.words, c.bits);
}

export function classifyIPv4(n: number): AddressVerdict {
  const address = formatIPv4(n);
  for (const r of BLOCKED_V4) if (inV4(n, r)) return { blocked: true, range: r.name, address };
  return { blocked: false, range: 'public', address };
}

const hex = (w: number[]) => w.map((x) => x.toString(16)).join(':');

export function classifyIPv6(w: number[]): AddressVerdict {
  const address = hex(w);
  const isZero = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  const embedded = (hi: number, lo: number, via: string): AddressVerdict => {
    const inner = classifyIPv4(((hi << 16) >>> 0) + lo);
    return { ...inner, range: inner.blocked ? `${via}:${inner.range}` : inner.range };
  };
  if (isZero(0, 8)) return { blocked: true, range: 'unspecified', address };
  if (isZero(0, 7) && w[7] === 1) return { blocked: true, range: 'loopback', address };
  if (isZero(0, 5) && w[5] === 0xffff) return embedded(w[6], w[7], 'ipv4-mapped');
  if (isZero(0, 4) && w[4] === 0xffff && w[5] === 0) return embedded(w[6], w[7], 'ipv4-translated');
  if (isZero(0, 6)) return embedded(w[6], w[7], 'ipv4-compatible');
  if (w[0] === 0x64 && w[1] === 0xff9b && isZero(2, 6)) return embedded(w[6], w[7], 'nat64');
  if (w[0] === 0x64 && w[1] === 0xff9b && w[2] === 1) return { blocked: true, range: 'nat64-local', address };
  if (w[0] === 0x2002) return embedded(w[1], w[2], '6to4');
  if (w[0] === 0x2001 && w[1] === 0) return { blocked: true, range: 'teredo', address };
  if (w[0] === 0x2001 && w[1] === 0xdb8) return { blocked: true, range: 'documentation', address };
  if (w[0] === 0x3fff && w[1] < 0x1000) return { blocked: true, range: 'documentation', address };
  if (w[0] === 0x2001 && w[1] < 0x200) return { blocked: true, range: 'ietf-protocol', address };
  if (w[0] === 0x0100 && isZero(1, 4)) return { blocked: true, range: 'discard', address };
  if ((w[0] & 0xfe00) === 0xfc00) {
    const meta = w[0] === 0xfd00 && w[1] === 0xec2 && isZero(2, 7) && w[7] === 0x254;
    return { blocked: true, range: meta ? 'cloud-metadata' : 'unique-local', address };
  }
  if ((w[0] & 0xffc0) === 0xfe80) return { blocked: true, range: 'link-local', address };
  if ((w[0] & 0xffc0) === 0xfec0) return { blocked: true, range: 'site-local', address };
  if ((w[0] & 0xff00) === 0xff00) return { blocked: true, range: 'multicast', address };
  // Only 2000::/3 is allocated global unicast; everything else is reserved: fail closed.
  if ((w[0] & 0xe000) !== 0x2000) return { blocked: true, range: 'reserved', address };
  return { blocked: false, range: 'public', address };
}

/** Classifies a literal IP address (v4 dotted quad or v6); null when the text is not an IP literal. */
export function classifyAddress(address: string): AddressVerdict | null {
  const n = parseIPv4Strict(address);
  if (n !== null) return classifyIPv4(n);
  const w = parseIPv6(address);
  if (w) return classifyIPv6(w);
  return null;
}
