/**
 * Shared outbound networking: the one fetch every tool and provider uses (`safeFetch`, SSRF-guarded,
 * DNS pinned, redirects re-checked; `trusted: true` for user-configured local services) and the URL
 * / address classification behind it. See docs/safety.md.
 */
export { safeFetch, SsrfBlockedError, resolveAndCheck, guardedLookup, systemResolver, safeUrlForLog, type SafeFetchInit, type Resolver } from './fetch.js';
export { UrlPolicy, DEFAULT_BLOCKED_HOSTS, DEFAULT_ALLOWED_SCHEMES, type UrlPolicyOptions, type UrlVerdict } from './url-guard.js';
export { classifyAddress, classifyIPv4, classifyIPv6, parseIPv4Lenient, parseIPv4Strict, parseIPv6, parseCidr, cidrContains, formatIPv4, type AddressVerdict, type Cidr } from './ip.js';
