/**
 * SsrfGuard: the actor-side URL check. Static rules come from the shared `src/lib/net` guard (the
 * same code `safeFetch` uses); with `resolve`, the host is resolved and every address checked.
 * Callers that then connect must still go through `safeFetch`, which pins the connection to the
 * address it checked (a separate check-then-fetch would be open to DNS rebinding).
 */
import { UrlPolicy, type UrlPolicyOptions, type UrlVerdict } from '../../src/lib/net/url-guard.js';
import { resolveAndCheck, systemResolver, type Resolver } from '../../src/lib/net/fetch.js';
import { isIP } from 'node:net';

export interface SsrfConfig { allowed_schemes?: string[]; blocked_hosts?: string[]; allowed_hosts?: string[]; allowed_cidrs?: string[]; blocked_cidrs?: string[]; allow_single_label_hosts?: boolean; resolve_dns?: boolean }

export class SsrfGuard {
  readonly policy: UrlPolicy;
  private readonly resolveDefault: boolean;
  constructor(cfg: SsrfConfig = {}, private readonly resolver: Resolver = systemResolver) {
    const opts: UrlPolicyOptions = {
      allowedSchemes: cfg.allowed_schemes, blockedHosts: cfg.blocked_hosts, allowedHosts: cfg.allowed_hosts,
      allowedCidrs: cfg.allowed_cidrs, blockedCidrs: cfg.blocked_cidrs, allowSingleLabelHosts: cfg.allow_single_label_hosts,
    };
    this.policy = new UrlPolicy(opts);
    this.resolveDefault = cfg.resolve_dns ?? true;
  }

  async check(url: string, resolve = this.resolveDefault): Promise<UrlVerdict> {
    const v = this.policy.checkUrl(url);
    if (!v.allowed || !resolve || !v.host || v.rule === 'allowed-host') return v;
    const host = v.host.replace(/^\[|\]$/g, '');
    if (isIP(host)) return v;
    const r = await resolveAndCheck(host, this.policy, this.resolver);
    return { allowed: r.allowed, reason: r.reason, address: r.address, host: r.host, rule: r.rule };
  }
}
