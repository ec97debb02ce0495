/**
 * Built-in credential formats, written from the providers' documented token formats (the same
 * formats gitleaks encodes). Every pattern has bounded quantifiers and starts with a literal or a
 * narrow class, so matching is linear in the input; `hints` are literal substrings, one of which
 * must occur in the text before the regex runs at all (cheap `indexOf` prefilter).
 */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface FormatRule {
  /** Rule id without the category prefix, e.g. `aws_access_key`. */
  id: string;
  severity: Severity;
  /** Sticky regex tried where an anchor occurs; the secret is capture group `group` (default 0). */
  re: RegExp;
  group?: number;
  /**
   * Literal anchors (found case-insensitively in one combined pass over the text); the match starts
   * at the anchor unless `start` says otherwise. A rule without anchors runs as a full-text scan.
   */
  hints: string[];
  hintsLower?: boolean;
  /** For rules without literal anchors: a global regex finding anchor positions in a full-text scan. */
  scanRe?: RegExp;
  /**
   * The character every scanRe match starts with, and a cheap necessary condition at such a position:
   * the scan then visits only those positions (indexOf) instead of running scanRe over the text.
   */
  scanChar?: string;
  scanAt?: (text: string, at: number) => boolean;
  /** Where the match starts, given the anchor position (for anchors in the middle of a token). */
  start?: (text: string, anchorAt: number) => number;
  /**
   * Characters that may not precede the match (checked in code: a leading lookbehind would stop V8
   * from using its fast literal search). Default: letters, digits and '_'.
   */
  leftBoundary?: RegExp;
  /** Extra check on the captured secret. */
  validate?: (secret: string) => boolean;
  /** The part of the secret the placeholder filter looks at (a fixed run like Twitter's 22 `A`s is not filler). */
  placeholderPart?: (secret: string) => string;
}

/** A base64 text that decodes to a signed JWT (JWTs wrapped in base64 config values). */
function base64Jwt(s: string): boolean {
  const t = Buffer.from(s, 'base64').toString('latin1');
  return /^eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}\s*$/.test(t);
}

const E = '(?![A-Za-z0-9_])';
const r = (src: string, flags = 'y') => new RegExp(src, flags);

/** Walks back over the digits before a `:AA` anchor (Telegram bot id). */
function backOverDigits(text: string, at: number): number {
  let s = at;
  while (s > 0 && at - s < 16 && text.charCodeAt(s - 1) >= 48 && text.charCodeAt(s - 1) <= 57) s--;
  return s;
}

/**
 * Start of `\d{15,16}` right before a separator anchor: the leftmost place a scan for it would match
 * (16 digits back when there are more; a longer digit run is then refused by the left boundary).
 */
function backBeforeSeparator(text: string, at: number): number {
  let d = 0;
  while (d < 16 && at - d > 0 && text.charCodeAt(at - d - 1) >= 48 && text.charCodeAt(at - d - 1) <= 57) d++;
  return d >= 15 ? at - d : -1;
}

export const FORMAT_RULES: FormatRule[] = [
  { id: 'aws_access_key', severity: 'critical', hints: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'A3T'], re: r(`((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})${E}`), group: 1 },
  { id: 'github_pat', severity: 'critical', hints: ['ghp_'], re: r(`(ghp_[A-Za-z0-9]{36,255})${E}`), group: 1 },
  { id: 'github_oauth_token', severity: 'critical', hints: ['gho_', 'ghu_', 'ghs_', 'ghr_'], re: r(`(gh[ousr]_[A-Za-z0-9]{36,255})${E}`), group: 1 },
  { id: 'github_fine_grained_pat', severity: 'critical', hints: ['github_pat_'], re: r(`(github_pat_[A-Za-z0-9_]{50,255})${E}`), group: 1 },
  { id: 'gitlab_token', severity: 'critical', hints: ['glpat-', 'gloas-', 'gldt-', 'glrt-', 'glcbt-', 'glptt-', 'glsoat-', 'glft-', 'glimt-', 'glagent-', 'glffct-'], re: r(`(gl(?:pat|oas|dt|rt|cbt|ptt|soat|ft|imt|agent|ffct)-[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'slack_token', severity: 'critical', hints: ['xoxa-', 'xoxb-', 'xoxp-', 'xoxo-', 'xoxs-', 'xoxr-', 'xoxe-'], re: r(`(xox[abposre]-(?:\\d{6,13}-){1,3}[A-Za-z0-9]{16,64})(?![A-Za-z0-9-])`), group: 1 },
  { id: 'slack_webhook_url', severity: 'high', hints: ['hooks.slack.com'], re: r(`(hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9_]{8,20}/[A-Za-z0-9_]{8,20}/[A-Za-z0-9_]{16,64})`), group: 1 },
  { id: 'stripe_secret_key', severity: 'critical', hints: ['sk_test_', 'sk_live_', 'sk_prod_', 'rk_test_', 'rk_live_', 'rk_prod_'], re: r(`((?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,247})${E}`), group: 1 },
  // Documented shape: 93 characters and a closing `AA` (a near miss with another suffix is not a key).
  { id: 'anthropic_api_key', severity: 'critical', hints: ['sk-ant-'], re: r(`(sk-ant-(?:api|admin|sid)\\d{2}-[A-Za-z0-9_-]{93}AA)(?![A-Za-z0-9_-])`), group: 1 },
  // Not after another token character, `-` included: in `sk-sk-sk-…` only the first anchor is tried (each
  // attempt backtracks through up to 400 characters; 1 MB of it took 5 s).
  { id: 'openai_api_key', severity: 'critical', hints: ['sk-'], leftBoundary: /[A-Za-z0-9_-]/, re: r(`(sk-(?!ant-)(?:(?:proj|svcacct|admin)-)?(?:[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}|[A-Za-z0-9_-]{40,200}))(?![A-Za-z0-9_-])`), group: 1,
    validate: (s) => /[0-9]/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s) },
  { id: 'google_api_key', severity: 'high', hints: ['AIza'], re: r(`(AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'jwt', severity: 'high', leftBoundary: /[A-Za-z0-9_-]/, hints: ['eyJ'], re: r(`(eyJ[A-Za-z0-9_-]{8,4096}\\.eyJ[A-Za-z0-9_-]{4,8192}\\.[A-Za-z0-9_-]{16,4096})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'npm_token', severity: 'critical', hints: ['npm_'], re: r(`(npm_[A-Za-z0-9]{36})${E}`), group: 1 },
  { id: 'npm_legacy_token', severity: 'critical', hints: ['_authToken'], re: r(`_authToken\\s{0,3}=\\s{0,3}["']?([A-Za-z0-9_+/=-]{20,200})`), group: 1 },
  { id: 'pypi_token', severity: 'critical', hints: ['pypi-AgE'], re: r(`(pypi-AgE[A-Za-z0-9_-]{50,1000})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'sendgrid_api_key', severity: 'critical', hints: ['SG.'], re: r(`(SG\\.[A-Za-z0-9_-]{20,24}\\.[A-Za-z0-9_-]{39,50})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'twilio_api_key', severity: 'high', hints: ['SK'], re: r(`(SK[0-9a-fA-F]{32})${E}`), group: 1 },
  { id: 'huggingface_token', severity: 'critical', hints: ['hf_', 'api_org_'], re: r(`((?:hf_|api_org_)[A-Za-z0-9]{34})${E}`), group: 1 },
  { id: 'telegram_bot_token', leftBoundary: /[0-9]/, severity: 'high', hints: [':AA'], start: backOverDigits, re: r(`(\\d{5,16}:AA[A-Za-z0-9_-]{33})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'mailgun_api_key', severity: 'high', hints: ['key-', 'pubkey-'], re: r(`((?:pub)?key-[0-9a-f]{32})${E}`), group: 1 },
  { id: 'mailchimp_api_key', severity: 'high', hints: ['-us'], start: (_t, at) => at - 32, re: r(`([0-9a-f]{32}-us\\d{1,2})${E}`), group: 1 },
  { id: 'shopify_token', severity: 'critical', hints: ['shpat_', 'shpca_', 'shppa_', 'shpss_'], re: r(`(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})${E}`), group: 1 },
  { id: 'digitalocean_token', severity: 'critical', hints: ['dop_v1_', 'doo_v1_', 'dor_v1_'], re: r(`(do[opr]_v1_[a-f0-9]{64})${E}`), group: 1 },
  { id: 'databricks_token', severity: 'critical', hints: ['dapi'], re: r(`(dapi[a-f0-9]{32}(?:-\\d)?)${E}`), group: 1 },
  { id: 'doppler_token', severity: 'critical', hints: ['dp.pt.', 'dp.st.', 'dp.ct.', 'dp.sa.', 'dp.scim.', 'dp.audit.'], re: r(`(dp\\.(?:pt|st|ct|sa|scim|audit)\\.[A-Za-z0-9]{40,44})${E}`), group: 1 },
  { id: 'linear_api_key', severity: 'high', hints: ['lin_api_'], re: r(`(lin_api_[A-Za-z0-9]{40})${E}`), group: 1 },
  { id: 'age_secret_key', severity: 'critical', hints: ['AGE-SECRET-KEY-1'], re: r(`(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})`), group: 1 },
  { id: 'azure_storage_key', severity: 'critical', hints: ['accountkey=', 'azure', 'storage'], hintsLower: true,
    re: r(`(?:AccountKey=|(?:azure|storage)[A-Za-z_.-]{0,30}["']?\\s{0,3}[:=]\\s{0,3}["']?)([A-Za-z0-9+/]{86}==)`, 'iy'), group: 1 },
  // Discord: base64(user id) . 6 chars . 27-38 chars. Anchored on the `.xxxxxx.` middle (a literal '.'
  // is found fast); `start` walks back over the id part.
  { id: 'discord_bot_token', severity: 'high', hints: [], scanRe: /\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}(?![A-Za-z0-9_-])/g,
    scanChar: '.', scanAt: (text, at) => text.charCodeAt(at + 7) === 46,
    start: (text, at) => {
      let s = at;
      while (s > 0 && at - s < 26 && /[A-Za-z0-9_-]/.test(text[s - 1])) s--;
      return at - s >= 24 && 'MNO'.includes(text[s]) && !(s > 0 && /[A-Za-z0-9_-]/.test(text[s - 1])) ? s : -1;
    },
    re: r(`([MNO][A-Za-z0-9_-]{23,25}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,38})(?![A-Za-z0-9_-])`), group: 1,
    validate: (s) => /\d/.test(s) && /[a-z]/.test(s) && /[A-Z]/.test(s) },
  { id: 'vault_token', severity: 'critical', hints: ['hvs.', 'hvb.'], re: r(`(hv[sb]\\.[A-Za-z0-9_-]{90,300})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'grafana_token', severity: 'high', hints: ['glsa_', 'glc_', 'eyJrIjoi'], re: r(`(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2}|eyJrIjoi[A-Za-z0-9]{70,400}={0,2})`), group: 1 },
  { id: 'postman_api_key', severity: 'high', hints: ['PMAK-'], re: r(`(PMAK-[a-f0-9]{24}-[a-f0-9]{34})${E}`), group: 1 },
  { id: 'new_relic_key', severity: 'high', hints: ['NRAK-', 'NRJS-', 'NRII-', 'NRAA-'], re: r(`(NRAK-[A-Z0-9]{27}|NRJS-[a-f0-9]{19}|NRII-[A-Za-z0-9_-]{32}|NRAA-[a-f0-9]{27})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'pulumi_token', severity: 'critical', hints: ['pul-'], re: r(`(pul-[a-f0-9]{40})${E}`), group: 1 },
  { id: 'perplexity_api_key', severity: 'high', hints: ['pplx-'], re: r(`(pplx-[A-Za-z0-9]{48})${E}`), group: 1 },
  { id: 'heroku_api_key', severity: 'critical', hints: ['HRKU-'], re: r(`(HRKU-AA[A-Za-z0-9_-]{58})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'sentry_token', severity: 'high', hints: ['sntryu_', 'sntrys_'], re: r(`(sntryu_[a-f0-9]{64}|sntrys_eyJ[A-Za-z0-9+/=_-]{50,400})`), group: 1 },
  { id: 'dynatrace_token', severity: 'high', hints: ['dt0c01.'], re: r(`(dt0c01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64})${E}`), group: 1 },
  { id: 'atlassian_token', severity: 'high', hints: ['ATATT3'], re: r(`(ATATT3[A-Za-z0-9_=-]{180,200})`), group: 1 },
  { id: 'gcp_service_account_key', severity: 'critical', hints: ['"private_key_id"'], re: r(`"private_key_id"\\s{0,3}:\\s{0,3}"([a-f0-9]{40})"`), group: 1 },
  { id: 'groq_api_key', severity: 'critical', hints: ['gsk_'], re: r(`(gsk_[A-Za-z0-9]{52})${E}`), group: 1 },
  { id: 'xai_api_key', severity: 'critical', hints: ['xai-'], re: r(`(xai-[A-Za-z0-9]{80})${E}`), group: 1 },
  { id: 'replicate_token', severity: 'high', hints: ['r8_'], re: r(`(r8_[A-Za-z0-9]{37})${E}`), group: 1 },
  { id: 'cloudflare_token', severity: 'high', hints: ['cfut_', 'cfat_'], re: r(`(cf[ua]t_[A-Za-z0-9]{40,60})${E}`), group: 1 },
  { id: 'openrouter_api_key', severity: 'critical', hints: ['sk-or-v1-'], re: r(`(sk-or-v1-[a-f0-9]{64})${E}`), group: 1 },
  { id: 'google_oauth_client_secret', severity: 'critical', hints: ['GOCSPX-'], re: r(`(GOCSPX-[A-Za-z0-9_-]{28})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'slack_app_token', severity: 'critical', hints: ['xapp-'], re: r(`(xapp-\\d-[A-Z0-9]{9,12}-\\d{10,14}-[a-f0-9]{32,64})${E}`), group: 1 },
  { id: 'discord_webhook_url', severity: 'high', hints: ['/api/webhooks/'], re: r(`(/api/webhooks/\\d{15,21}/[A-Za-z0-9_-]{60,80})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'docker_hub_pat', severity: 'critical', hints: ['dckr_pat_'], re: r(`(dckr_pat_[A-Za-z0-9_-]{27,36})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'supabase_token', severity: 'critical', hints: ['sbp_'], re: r(`(sbp_[a-f0-9]{40})${E}`), group: 1 },
  { id: 'planetscale_token', severity: 'critical', hints: ['pscale_'], re: r(`(pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,64})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'notion_token', severity: 'high', hints: ['ntn_'], re: r(`(ntn_[0-9]{11}[A-Za-z0-9]{35})${E}`), group: 1 },
  { id: 'contentful_pat', severity: 'high', hints: ['CFPAT-'], re: r(`(CFPAT-[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'brevo_api_key', severity: 'high', hints: ['xkeysib-'], re: r(`(xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16})${E}`), group: 1 },
  { id: 'square_token', severity: 'critical', hints: ['sq0atp-', 'sq0csp-', 'EAAA'], re: r(`(sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43}|EAAA[A-Za-z0-9_-]{60})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'shippo_token', severity: 'high', hints: ['shippo_'], re: r(`(shippo_(?:live|test)_[a-f0-9]{40})${E}`), group: 1 },
  { id: 'rubygems_api_key', severity: 'high', hints: ['rubygems_'], re: r(`(rubygems_[a-f0-9]{48})${E}`), group: 1 },
  { id: 'terraform_cloud_token', severity: 'critical', hints: ['.atlasv1.'], re: r(`([A-Za-z0-9]{14}\\.atlasv1\\.[A-Za-z0-9_=-]{60,70})(?![A-Za-z0-9_=-])`), group: 1, start: (_t, at) => at - 14 },
  { id: 'prefect_api_key', severity: 'high', hints: ['pnu_'], re: r(`(pnu_[A-Za-z0-9]{36})${E}`), group: 1 },
  { id: 'flyio_token', severity: 'high', hints: ['fo1_', 'fm1r_', 'fm2_'], re: r(`((?:fo1_[A-Za-z0-9_-]{43}|fm1r_[A-Za-z0-9+/=]{100,2000}|fm2_[A-Za-z0-9+/=]{100,2000}))`), group: 1 },
  { id: 'mapbox_secret_token', severity: 'high', hints: ['sk.eyJ'], re: r(`(sk\\.eyJ[A-Za-z0-9_-]{60,300}\\.[A-Za-z0-9_-]{20,40})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'azure_ad_client_secret', severity: 'critical', hints: ['Q~'], start: (_t, at) => at - 4, re: r(`([A-Za-z0-9_~.]{3}\\dQ~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.-])`), group: 1 },
  // ---- second pass: formats the well-known scanners cover (written from the providers' documented shapes)
  { id: 'jwt', severity: 'high', hints: ['ZXlK'], re: r(`(ZXlK[A-Za-z0-9+/]{60,12000}={0,2})(?![A-Za-z0-9+/=])`), group: 1, validate: base64Jwt },
  { id: 'twitter_bearer_token', severity: 'high', hints: ['AAAAAAAAAAAAAAAAAAAAA'], re: r(`(A{22}[A-Za-z0-9%]{80,120})(?![A-Za-z0-9%])`), group: 1,
    placeholderPart: (s) => s.slice(22), validate: (s) => /[a-z]/.test(s.slice(22)) && /[0-9]/.test(s.slice(22)) },
  { id: 'facebook_access_token', severity: 'high', hints: ['EAAC', 'EAAM', 'EAAG'], re: r(`(EAA[CMG][A-Za-z0-9]{80,300})${E}`), group: 1 },
  // `<app id>|<secret>`: anchored on a digit and its separator (`|` or `%7C`), the match starts
  // 15–16 digits before the separator (a bare `|` anchor fired on every `||` of code).
  { id: 'facebook_app_token', severity: 'high', hints: [...'0123456789'].flatMap((d) => [`${d}|`, `${d}%7C`]), start: (text, at) => backBeforeSeparator(text, at + 1), re: r(`(\\d{15,16}(?:\\||%7C)[A-Za-z0-9_-]{27,40})(?![A-Za-z0-9_-])`), group: 1, leftBoundary: /[0-9]/ },
  { id: 'flutterwave_secret_key', severity: 'critical', hints: ['FLWSECK'], re: r(`(FLWSECK(?:_TEST)?-[a-hA-H0-9]{32}-X|FLWSECK_TEST[a-hA-H0-9]{12})${E}`), group: 1 },
  { id: 'sourcegraph_token', severity: 'high', hints: ['sgp_'], re: r(`(sgp_(?:(?:[a-fA-F0-9]{16}|local)_)?[a-fA-F0-9]{40})${E}`), group: 1 },
  { id: 'onepassword_secret_key', severity: 'critical', hints: ['A3-'], re: r(`(A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})(?![A-Z0-9-])`), group: 1 },
  { id: 'onepassword_service_token', severity: 'critical', hints: ['ops_eyJ'], re: r(`(ops_eyJ[A-Za-z0-9+/]{250,4000}={0,3})(?![A-Za-z0-9+/=])`), group: 1 },
  // Bundler: BUNDLE_<HOST with __ for dots> = user:password (gem servers such as contribsys).
  { id: 'bundler_credentials', severity: 'high', hints: ['BUNDLE_'], re: r(`BUNDLE_[A-Z0-9_]{1,100}__[A-Z0-9_]{1,100}["']?[ \\t]{0,3}[:=][ \\t]{0,3}["']?([^\\s"']{6,256})`), group: 1 },
  { id: 'npm_auth', severity: 'critical', hints: ['_auth', '_password'], re: r(`_(?:auth|password)[ \\t]{0,3}=[ \\t]{0,3}["']?([A-Za-z0-9+/=]{8,512})`), group: 1, leftBoundary: /[^\s:]/ },
  // UUID tokens of vendors whose keys have no prefix: only next to the vendor's name.
  { id: 'vendor_uuid_token', severity: 'high', hints: ['snyk', 'heroku', 'hubspot'], hintsLower: true,
    re: r(`(?:snyk|heroku|hubspot)[A-Za-z0-9_.-]{0,30}(?:\\\\?["'\\]]){0,2}[ \\t]{0,3}(?::=|=>|[:=,(])[ \\t]{0,3}(?:\\\\?["'\\x60]){0,1}([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})`, 'iy'), group: 1 },
  { id: 'alibaba_access_key', severity: 'high', hints: ['LTAI'], re: r(`(LTAI[A-Za-z0-9]{20})${E}`), group: 1 },
  { id: 'clojars_token', severity: 'high', hints: ['CLOJARS_'], re: r(`(CLOJARS_[a-z0-9]{60})${E}`, 'iy'), group: 1 },
  { id: 'cloudflare_origin_ca_key', severity: 'high', hints: ['v1.0-'], re: r(`(v1\\.0-[a-f0-9]{24}-[a-f0-9]{146})${E}`), group: 1 },
  { id: 'defined_networking_key', severity: 'high', hints: ['dnkey-'], re: r(`(dnkey-[A-Za-z0-9=_-]{26}-[A-Za-z0-9=_-]{52})(?![A-Za-z0-9=_-])`), group: 1 },
  { id: 'dropbox_token', severity: 'high', hints: ['sl.'], re: r(`(sl\\.(?:u\\.)?[A-Za-z0-9_=-]{130,1000})(?![A-Za-z0-9_=-])`), group: 1 },
  { id: 'duffel_token', severity: 'high', hints: ['duffel_test_', 'duffel_live_'], re: r(`(duffel_(?:test|live)_[A-Za-z0-9_=-]{43})(?![A-Za-z0-9_=-])`), group: 1 },
  { id: 'easypost_api_key', severity: 'high', hints: ['EZAK', 'EZTK'], re: r(`(EZ[AT]K[A-Za-z0-9]{54})${E}`), group: 1 },
  { id: 'frameio_token', severity: 'high', hints: ['fio-u-'], re: r(`(fio-u-[A-Za-z0-9_=-]{64})(?![A-Za-z0-9_=-])`), group: 1 },
  { id: 'harness_token', severity: 'high', hints: ['pat.', 'sat.'], re: r(`((?:pat|sat)\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9]{24}\\.[A-Za-z0-9]{20})${E}`), group: 1 },
  { id: 'infracost_token', severity: 'high', hints: ['ico-'], leftBoundary: /[A-Za-z0-9_./]/, re: r(`(ico-[A-Za-z0-9]{32})${E}`), group: 1, validate: (t) => /[A-Z]/.test(t) && /[a-z]/.test(t.slice(4)) },
  { id: 'intra42_secret', severity: 'high', hints: ['s-s4t2'], re: r(`(s-s4t2(?:ud|af)-[a-f0-9]{64})${E}`), group: 1 },
  { id: 'jfrog_token', severity: 'high', hints: ['AKCp', 'cmVmd'], re: r(`(AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59})${E}`), group: 1 },
  { id: 'nuget_api_key', severity: 'high', hints: ['oy2'], re: r(`(oy2[a-z0-9]{43})${E}`), group: 1 },
  { id: 'octopus_deploy_key', severity: 'high', hints: ['API-'], re: r(`(API-[A-Z0-9]{26})${E}`), group: 1 },
  { id: 'openshift_token', severity: 'high', hints: ['sha256~'], re: r(`(sha256~[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'plaid_access_token', severity: 'high', hints: ['access-sandbox-', 'access-development-', 'access-production-'], re: r(`(access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})${E}`), group: 1 },
  { id: 'readme_api_token', severity: 'high', hints: ['rdme_'], re: r(`(rdme_[a-z0-9]{70})${E}`), group: 1 },
  { id: 'scalingo_token', severity: 'high', hints: ['tk-us-'], re: r(`(tk-us-[A-Za-z0-9_-]{48})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'settlemint_token', severity: 'high', hints: ['sm_pat_', 'sm_aat_', 'sm_sat_'], re: r(`(sm_(?:pat|aat|sat)_[A-Za-z0-9]{16})${E}`), group: 1 },
  { id: 'typeform_token', severity: 'high', hints: ['tfp_'], re: r(`(tfp_[A-Za-z0-9_.=-]{59})(?![A-Za-z0-9_.=-])`), group: 1 },
  { id: 'yandex_token', severity: 'high', hints: ['AQVN', 't1.'], re: r(`(AQVN[A-Za-z0-9_-]{35,38}|t1\\.[A-Za-z0-9_-]{20,200}={0,2}\\.[A-Za-z0-9_-]{86}={0,2})(?![A-Za-z0-9_=-])`), group: 1 },
  { id: 'adobe_client_secret', severity: 'high', hints: ['p8e-'], re: r(`(p8e-[A-Za-z0-9]{32})${E}`, 'iy'), group: 1 },
];
