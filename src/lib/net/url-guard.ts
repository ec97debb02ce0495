/**
 * Static URL check for the SSRF guard: parse the URL exactly the way the request will (WHATWG,
 * Node's `URL`), then judge the scheme and host. Numeric hosts in any spelling are normalised by
 * WHATWG to a dotted quad; spellings WHATWG rejects but lenient parsers wrap around are decoded
 * with our own inet_aton parser only to explain the block — an unparseable URL is always blocked.
 */
import { classifyAddress, parseIPv4Lenient, parseIPv4Strict, parseIPv6, parseCidr, cidrContains, formatIPv4, type Cidr, type AddressVerdict } from './ip.js';

export interface UrlPolicyOptions {
  /** Schemes that may be fetched at all (lower case, without ':'). */
  allowedSchemes?: string[];
  /** Extra host names / suffixes to block (`.corp`, `db.example.com`). Matched case-insensitively. */
  blockedHosts?: string[];
  /** Host names allowed even though they look internal (exact match). */
  allowedHosts?: string[];
  /** CIDRs allowed even though they are in a blocked range (e.g. a LAN service the user trusts). */
  allowedCidrs?: string[];
  /** Extra CIDRs to block on top of the built-in special-purpose ranges. */
  blockedCidrs?: string[];
  /** Allow single-label names like `intranet` (default false: they resolve through search domains). */
  allowSingleLabelHosts?: boolean;
  /** Longest URL accepted (characters). */
  maxUrlLength?: number;
}

export interface UrlVerdict {
  allowed: boolean;
  reason?: string;
  /** Literal address of the host, when the host is an IP. */
  address?: string;
  /** Host as WHATWG parsed it (lower case, punycode). */
  host?: string;
  /** Blocked range or rule name, for stats. */
  rule?: string;
}

/** Internal-only names and suffixes (RFC 6761/6762/8375, cloud metadata, cluster DNS). */
export const DEFAULT_BLOCKED_HOSTS = [
  'localhost', '.localhost', '.localdomain', '.local', '.internal', '.intranet', '.lan', '.home.arpa',
  '.corp', '.private', '.consul', '.svc', '.cluster.local', '.in-addr.arpa', '.ip6.arpa', '.test', '.invalid',
  'metadata', 'metadata.google.internal', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.com',
  'rancher-metadata', 'ip6-localhost', 'ip6-loopback', 'kubernetes', 'kubernetes.default',
];

export const DEFAULT_ALLOWED_SCHEMES = ['http', 'https', 'ws', 'wss'];

export class UrlPolicy {
  readonly schemes: Set<string>;
  readonly blockedExact = new Set<string>();
  readonly blockedSuffixes: string[] = [];
  readonly allowedHosts: Set<string>;
  readonly allowedCidrs: Cidr[];
  readonly blockedCidrs: Cidr[];
  readonly allowSingleLabel: boolean;
  readonly maxUrlLength: number;

  constructor(opts: UrlPolicyOptions = {}) {
    this.schemes = new Set((opts.allowedSchemes ?? DEFAULT_ALLOWED_SCHEMES).map((s) => s.toLowerCase().replace(/:$/, '')));
    for (const h of [...DEFAULT_BLOCKED_HOSTS, ...(opts.blockedHosts ?? [])]) {
      const n = h.toLowerCase().replace(/\.+$/, '');
      if (n.startsWith('.')) this.blockedSuffixes.push(n);
      else {
        this.blockedExact.add(n);
      }
    }
    this.allowedHosts = new Set((opts.allowedHosts ?? []).map((h) => h.toLowerCase().replace(/\.+$/, '')));
    this.allowedCidrs = (opts.allowedCidrs ?? []).map(parseCidr);
    this.blockedCidrs = (opts.blockedCidrs ?? []).map(parseCidr);
    this.allowSingleLabel = opts.allowSingleLabelHosts ?? false;
    this.maxUrlLength = opts.maxUrlLength ?? 8192;
  }

  /** Judges a resolved or literal address against built-in ranges and the configured CIDRs. */
  checkAddress(address: string): UrlVerdict {
    const v: AddressVerdict | null = classifyAddress(address);
    if (!v) return { allowed: false, reason: `not an IP address: ${address}`, rule: 'invalid-address' };
    if (this.allowedCidrs.some((c) => cidrContains(c, address) || cidrContains(c, v.address))) {
      return { allowed: true, address: v.address, rule: 'allowed-cidr' };
    }
    const extra = this.blockedCidrs.find((c) => cidrContains(c, address) || cidrContains(c, v.address));
    if (extra) return { allowed: false, reason: `address ${address} is in blocked range ${extra.text}`, address: v.address, rule: 'blocked-cidr' };
    if (v.blocked) return { allowed: false, reason: `address ${address} is in a non-public range (${v.range})`, address: v.address, rule: v.range };
    return { allowed: true, address: v.address, rule: 'public' };
  }

  checkHostName(host: string): UrlVerdict {
    const name = host.toLowerCase().replace(/\.+$/, '');
    if (this.allowedHosts.has(name)) return { allowed: true, host: name, rule: 'allowed-host' };
    if (name.length === 0) return { allowed: false, reason: 'empty host', host: name, rule: 'invalid-host' };
    if (this.blockedExact.has(name)) return { allowed: false, reason: `host "${name}" is internal-only`, host: name, rule: 'internal-host' };
    for (const suf of this.blockedSuffixes) {
      if (name.endsWith(suf) || name === suf.slice(1)) return { allowed: false, reason: `host "${name}" is under internal-only suffix ${suf}`, host: name, rule: 'internal-host' };
    }
    if (!name.includes('.') && !this.allowSingleLabel) {
      return { allowed: false, reason: `single-label host "${name}" resolves through local search domains`, host: name, rule: 'single-label-host' };
    }
    return { allowed: true, host: name, rule: 'hostname' };
  }

  /** Static check (no DNS). Hostnames that pass still need their resolved address checked. */
  checkUrl(raw: unknown): UrlVerdict {
    if (typeof raw !== 'string') return { allowed: false, reason: 'url must be a string', rule: 'invalid-url' };
    if (raw.length > this.maxUrlLength) return { allowed: false, reason: `url longer than ${this.maxUrlLength} characters`, rule: 'invalid-url' };
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return explainUnparseable(raw);
    }
    const scheme = u.protocol.replace(/:$/, '');
    if (!this.schemes.has(scheme)) return { allowed: false, reason: `scheme "${scheme}:" is not allowed`, host: u.hostname, rule: 'scheme' };
    const host = u.hostname;
    if (host.startsWith('[')) {
      const r = this.checkAddress(host.slice(1, -1));
      return { ...r, host };
    }
    if (parseIPv4Strict(host) !== null) return { ...this.checkAddress(host), host };
    // WHATWG turns every numeric spelling into a dotted quad; a numeric-looking name left here is suspicious.
    const lenient = parseIPv4Lenient(host);
    if (lenient) {
      const inner = this.checkAddress(formatIPv4(lenient.value));
      return { ...inner, allowed: false, host, reason: `numeric host "${host}" is ambiguous (${formatIPv4(lenient.value)})`, rule: inner.rule ?? 'ambiguous-host' };
    }
    return this.checkHostName(host);
  }
}

/** Explains why an unparseable URL is blocked; names the address it would reach in lenient parsers. */
function explainUnparseable(raw: string): UrlVerdict {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]{0,30}:[/\\]*(?:[^@/\\?#]{0,512}@)?([^/\\?#:]{1,255})/.exec(raw.trim());
  const host = m?.[1];
  if (host) {
    const lenient = parseIPv4Lenient(host);
    if (lenient) {
      return { allowed: false, reason: `invalid URL; numeric host "${host}" would wrap to ${formatIPv4(lenient.value)} in lenient parsers`, host, address: formatIPv4(lenient.value), rule: 'invalid-url' };
    }
    if (parseIPv6(host)) return { allowed: false, reason: 'invalid URL', host, rule: 'invalid-url' };
  }
  return { allowed: false, reason: 'invalid URL (fail closed)', rule: 'invalid-url' };
}
