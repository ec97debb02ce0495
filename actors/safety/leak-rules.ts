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
  /** Global regex; the secret is capture group `group` (default 0). */
  re: RegExp;
  group?: number;
  /** Literal substrings (case-sensitive unless `hintsLower`); at least one must occur. */
  hints: string[];
  hintsLower?: boolean;
  /** Extra check on the captured secret. */
  validate?: (secret: string) => boolean;
}

const B = '(?<![A-Za-z0-9_])'; // left boundary that also treats '_' as part of a token
const E = '(?![A-Za-z0-9_])';
const r = (src: string, flags = 'g') => new RegExp(src, flags);

export const FORMAT_RULES: FormatRule[] = [
  { id: 'aws_access_key', severity: 'critical', hints: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'A3T'], re: r(`${B}((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})${E}`), group: 1 },
  { id: 'github_pat', severity: 'critical', hints: ['ghp_'], re: r(`${B}(ghp_[A-Za-z0-9]{36,255})${E}`), group: 1 },
  { id: 'github_oauth_token', severity: 'critical', hints: ['gho_', 'ghu_', 'ghs_', 'ghr_'], re: r(`${B}(gh[ousr]_[A-Za-z0-9]{36,255})${E}`), group: 1 },
  { id: 'github_fine_grained_pat', severity: 'critical', hints: ['github_pat_'], re: r(`${B}(github_pat_[A-Za-z0-9_]{50,255})${E}`), group: 1 },
  { id: 'gitlab_token', severity: 'critical', hints: ['gl'], re: r(`${B}(gl(?:pat|oas|dt|rt|cbt|ptt|soat|ft|imt|agent|ffct)-[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'slack_token', severity: 'critical', hints: ['xox'], re: r(`${B}(xox[abposre]-(?:\\d{6,13}-){1,3}[A-Za-z0-9]{16,64})(?![A-Za-z0-9-])`), group: 1 },
  { id: 'slack_webhook_url', severity: 'high', hints: ['hooks.slack.com'], re: r(`(hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9_]{8,20}/[A-Za-z0-9_]{8,20}/[A-Za-z0-9_]{16,64})`), group: 1 },
  { id: 'stripe_secret_key', severity: 'critical', hints: ['sk_', 'rk_'], re: r(`${B}((?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,247})${E}`), group: 1 },
  { id: 'anthropic_api_key', severity: 'critical', hints: ['sk-ant-'], re: r(`${B}(sk-ant-[a-z]{3,8}\\d{2}-[A-Za-z0-9_-]{80,200})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'openai_api_key', severity: 'critical', hints: ['sk-'], re: r(`${B}(sk-(?!ant-)(?:(?:proj|svcacct|admin)-)?(?:[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}|[A-Za-z0-9_-]{40,200}))(?![A-Za-z0-9_-])`), group: 1,
    validate: (s) => /[0-9]/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s) },
  { id: 'google_api_key', severity: 'high', hints: ['AIza'], re: r(`${B}(AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'jwt', severity: 'high', hints: ['eyJ'], re: r(`${B}(eyJ[A-Za-z0-9_-]{8,4096}\\.eyJ[A-Za-z0-9_-]{4,8192}\\.[A-Za-z0-9_-]{16,4096})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'npm_token', severity: 'critical', hints: ['npm_'], re: r(`${B}(npm_[A-Za-z0-9]{36})${E}`), group: 1 },
  { id: 'npm_legacy_token', severity: 'critical', hints: ['_authToken'], re: r(`_authToken\\s{0,3}=\\s{0,3}["']?([A-Za-z0-9_+/=-]{20,200})`), group: 1 },
  { id: 'pypi_token', severity: 'critical', hints: ['pypi-AgE'], re: r(`${B}(pypi-AgE[A-Za-z0-9_-]{50,1000})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'sendgrid_api_key', severity: 'critical', hints: ['SG.'], re: r(`${B}(SG\\.[A-Za-z0-9_-]{20,24}\\.[A-Za-z0-9_-]{39,50})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'twilio_api_key', severity: 'high', hints: ['SK'], re: r(`${B}(SK[0-9a-fA-F]{32})${E}`), group: 1 },
  { id: 'huggingface_token', severity: 'critical', hints: ['hf_', 'api_org_'], re: r(`${B}((?:hf_|api_org_)[A-Za-z0-9]{34})${E}`), group: 1 },
  { id: 'telegram_bot_token', severity: 'high', hints: [':AA'], re: r(`(?<![0-9])(\\d{5,16}:AA[A-Za-z0-9_-]{33})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'mailgun_api_key', severity: 'high', hints: ['key-'], re: r(`${B}((?:pub)?key-[0-9a-f]{32})${E}`), group: 1 },
  { id: 'mailchimp_api_key', severity: 'high', hints: ['-us'], re: r(`${B}([0-9a-f]{32}-us\\d{1,2})${E}`), group: 1 },
  { id: 'shopify_token', severity: 'critical', hints: ['shp'], re: r(`${B}(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})${E}`), group: 1 },
  { id: 'digitalocean_token', severity: 'critical', hints: ['_v1_'], re: r(`${B}(do[opr]_v1_[a-f0-9]{64})${E}`), group: 1 },
  { id: 'databricks_token', severity: 'critical', hints: ['dapi'], re: r(`${B}(dapi[a-f0-9]{32}(?:-\\d)?)${E}`), group: 1 },
  { id: 'doppler_token', severity: 'critical', hints: ['dp.'], re: r(`${B}(dp\\.(?:pt|st|ct|sa|scim|audit)\\.[A-Za-z0-9]{40,44})${E}`), group: 1 },
  { id: 'linear_api_key', severity: 'high', hints: ['lin_api_'], re: r(`${B}(lin_api_[A-Za-z0-9]{40})${E}`), group: 1 },
  { id: 'age_secret_key', severity: 'critical', hints: ['AGE-SECRET-KEY-1'], re: r(`(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})`), group: 1 },
  { id: 'azure_storage_key', severity: 'critical', hints: ['accountkey', 'azure', 'storage'], hintsLower: true,
    re: r(`(?:AccountKey=|(?:azure|storage)[A-Za-z_.-]{0,30}["']?\\s{0,3}[:=]\\s{0,3}["']?)([A-Za-z0-9+/]{86}==)`, 'gi'), group: 1 },
  { id: 'discord_bot_token', severity: 'high', hints: ['.'], re: r(`${B}([MNO][A-Za-z0-9_-]{23,25}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,38})(?![A-Za-z0-9_-])`), group: 1,
    validate: (s) => /\d/.test(s) && /[a-z]/.test(s) && /[A-Z]/.test(s) },
  { id: 'vault_token', severity: 'critical', hints: ['hvs.', 'hvb.'], re: r(`${B}(hv[sb]\\.[A-Za-z0-9_-]{90,300})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'grafana_token', severity: 'high', hints: ['glsa_', 'glc_', 'eyJrIjoi'], re: r(`${B}(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2}|eyJrIjoi[A-Za-z0-9]{70,400}={0,2})`), group: 1 },
  { id: 'postman_api_key', severity: 'high', hints: ['PMAK-'], re: r(`${B}(PMAK-[a-f0-9]{24}-[a-f0-9]{34})${E}`), group: 1 },
  { id: 'new_relic_key', severity: 'high', hints: ['NRAK-', 'NRJS-', 'NRII-', 'NRAA-'], re: r(`${B}(NRAK-[A-Z0-9]{27}|NRJS-[a-f0-9]{19}|NRII-[A-Za-z0-9_-]{32}|NRAA-[a-f0-9]{27})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'pulumi_token', severity: 'critical', hints: ['pul-'], re: r(`${B}(pul-[a-f0-9]{40})${E}`), group: 1 },
  { id: 'perplexity_api_key', severity: 'high', hints: ['pplx-'], re: r(`${B}(pplx-[A-Za-z0-9]{48})${E}`), group: 1 },
  { id: 'heroku_api_key', severity: 'critical', hints: ['HRKU-'], re: r(`${B}(HRKU-AA[A-Za-z0-9_-]{58})(?![A-Za-z0-9_-])`), group: 1 },
  { id: 'sentry_token', severity: 'high', hints: ['sntry'], re: r(`${B}(sntryu_[a-f0-9]{64}|sntrys_eyJ[A-Za-z0-9+/=_-]{50,400})`), group: 1 },
  { id: 'dynatrace_token', severity: 'high', hints: ['dt0c01.'], re: r(`${B}(dt0c01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64})${E}`), group: 1 },
  { id: 'atlassian_token', severity: 'high', hints: ['ATATT3'], re: r(`${B}(ATATT3[A-Za-z0-9_=-]{180,200})`), group: 1 },
  { id: 'gcp_service_account_key', severity: 'critical', hints: ['"private_key_id"'], re: r(`"private_key_id"\\s{0,3}:\\s{0,3}"([a-f0-9]{40})"`), group: 1 },
  { id: 'groq_api_key', severity: 'critical', hints: ['gsk_'], re: r(`${B}(gsk_[A-Za-z0-9]{52})${E}`), group: 1 },
  { id: 'xai_api_key', severity: 'critical', hints: ['xai-'], re: r(`${B}(xai-[A-Za-z0-9]{80})${E}`), group: 1 },
  { id: 'replicate_token', severity: 'high', hints: ['r8_'], re: r(`${B}(r8_[A-Za-z0-9]{37})${E}`), group: 1 },
  { id: 'cloudflare_token', severity: 'high', hints: ['cfut_', 'cfat_'], re: r(`${B}(cf[ua]t_[A-Za-z0-9]{40,60})${E}`), group: 1 },
];
