/**
 * Safety evaluation: precision/recall per category on labelled JSON Lines sets.
 *
 *   node dist/bench/eval/safety.js [--data DIR] [--fixtures DIR] [--threshold 0.35] [--clean DIR ...] [--json]
 *
 * DIR holds any of secrets.jsonl / injection.jsonl / ssrf.jsonl in the format of
 * ../shared/data/safety/README.md (the default DIR), so users can measure on their own traffic.
 * Also reported: a plain keyword-list baseline for injection, the false-positive rate of the leak
 * detector on ordinary prose and code rows, and the same metrics on test/fixtures/safety/.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LeakDetector } from '../../actors/safety/leak-detector.js';
import { InjectionDetector, keywordBaseline } from '../../actors/safety/injection-detector.js';
import { heldBack } from '../../actors/safety/injection-classifier.js';
import { UrlPolicy } from '../../src/lib/net/url-guard.js';

const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), existsSync(new URL('../../../package.json', import.meta.url)) ? '../../..' : '../..');

interface Metric { precision: number; recall: number; n: number; tp: number; fp: number; fn: number; tn: number; f1: number }
function metric(tp: number, fp: number, fn: number, tn: number): Metric {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  const r = (x: number) => Math.round(x * 10000) / 10000;
  return { precision: r(precision), recall: r(recall), f1: r(f1), n: tp + fp + fn + tn, tp, fp, fn, tn };
}

function readJsonl(file: string): any[] {
  const rows: any[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      rows.push(JSON.parse(line));
    } catch (e) {
      throw new Error(`${file}:${i + 1}: invalid JSON (${(e as Error).message})`, { cause: e });
    }
  });
  return rows;
}

/** Function words per language: enough to label a prompt's language for the per-language breakdown. */
const STOPWORDS: Record<string, string[]> = {
  en: ['the', 'and', 'you', 'is', 'to', 'of', 'what', 'your', 'all', 'are', 'this', 'how'],
  de: ['der', 'die', 'und', 'ist', 'du', 'nicht', 'das', 'ich', 'wie', 'alle', 'mit', 'sie', 'was', 'zu'],
  fr: ['le', 'la', 'les', 'et', 'est', 'vous', 'tu', 'des', 'une', 'pour', 'que', 'pas', 'tout'],
  es: ['el', 'los', 'las', 'y', 'es', 'que', 'tu', 'por', 'una', 'para', 'como', 'todo', 'todas'],
  it: ['il', 'gli', 'che', 'non', 'sono', 'per', 'una', 'tutte', 'tutto', 'come', 'della', 'di'],
  pt: ['o', 'os', 'que', 'não', 'você', 'para', 'uma', 'como', 'todas', 'do', 'da', 'em'],
  nl: ['de', 'het', 'een', 'en', 'je', 'niet', 'van', 'dat', 'alle', 'wat', 'hoe', 'zijn'],
  pl: ['i', 'nie', 'się', 'jest', 'to', 'na', 'w', 'co', 'jak', 'wszystkie', 'mi', 'że'],
  hr: ['i', 'je', 'se', 'da', 'su', 'na', 'ne', 'što', 'sve', 'kako', 'mi', 'ti'],
};
/** Language of a text by function-word counts ("zh" for CJK, "other" when nothing matches). */
export function guessLanguage(text: string): string {
  if (/[\u4e00-\u9fff]/.test(text)) return 'zh';
  const words = text.toLowerCase().normalize('NFC').split(/[^\p{L}]+/u).slice(0, 400);
  let best = 'other';
  let bestN = 0;
  for (const [lang, sw] of Object.entries(STOPWORDS)) {
    const set = new Set(sw);
    const n = words.filter((w) => set.has(w)).length;
    if (n > bestN) { best = lang; bestN = n; }
  }
  return best;
}

export interface EvalReport {
  categories: Record<string, Metric>;
  baseline?: { injection_keywords?: Metric; injection_rules_only?: Metric };
  injection?: { per_family: Record<string, Metric>; per_language: Record<string, Metric>; splits: Record<string, Metric>; splits_rules_only: Record<string, Metric> };
  clean_false_positive_rate?: { prose_and_code: number; n: number; all_clean: number; n_all: number };
  per_kind_recall?: Record<string, { recall: number; n: number }>;
  skipped?: { ssrf_needs_network: number };
  misses?: Record<string, string[]>;
  /** Rows longer than the old 1 M-character inspection limit (fully scanned since issue 16). */
  beyond_old_limit?: Record<string, number>;
}

/** The inspection limit before issue 16: text past it was never looked at in inspect modes. */
const OLD_LIMIT_CHARS = 1_000_000;

export function evaluateDir(dir: string, opts: { threshold?: number } = {}): EvalReport {
  const report: EvalReport = { categories: {}, beyond_old_limit: { secrets: 0, injection: 0 } };
  const leaks = new LeakDetector();
  const misses: Record<string, string[]> = {};
  const miss = (cat: string, s: string) => ((misses[cat] ??= []).length < 20 ? misses[cat].push(s) : 0);

  const secretsFile = path.join(dir, 'secrets.jsonl');
  if (existsSync(secretsFile)) {
    let tp = 0, fp = 0, fn = 0, tn = 0, fpProse = 0, nProse = 0;
    const kinds: Record<string, [number, number]> = {};
    for (const r of readJsonl(secretsFile)) {
      if (String(r.text).length > OLD_LIMIT_CHARS) (report.beyond_old_limit ??= {}).secrets = (report.beyond_old_limit.secrets ?? 0) + 1;
      const found = leaks.scan(String(r.text)).filter((f) => f.category === 'secret');
      const pos = r.label === 'secret';
      if (pos) {
        const k = (kinds[r.kind ?? 'unknown'] ??= [0, 0]);
        k[1]++;
        if (found.length) { tp++; k[0]++; } else { fn++; miss('secrets', `FN ${r.kind}`); }
      } else {
        if (found.length) { fp++; miss('secrets', `FP ${r.kind}: ${found.map((f) => f.rule).join(',')}`); } else tn++;
        if (r.kind === 'prose' || r.kind === 'code') { nProse++; if (found.length) fpProse++; }
      }
    }
    report.categories.secrets = metric(tp, fp, fn, tn);
    report.clean_false_positive_rate = { prose_and_code: nProse ? Math.round((fpProse / nProse) * 10000) / 10000 : 0, n: nProse, all_clean: fp + tn ? Math.round((fp / (fp + tn)) * 10000) / 10000 : 0, n_all: fp + tn };
    report.per_kind_recall = Object.fromEntries(Object.entries(kinds).sort().map(([k, [hit, n]]) => [k, { recall: Math.round((hit / n) * 1000) / 1000, n }]));
  }

  const injFile = path.join(dir, 'injection.jsonl');
  if (existsSync(injFile)) {
    const det = new InjectionDetector();
    const rulesOnly = new InjectionDetector({ classifier: null });
    const th = opts.threshold ?? 0.35;
    const c = [0, 0, 0, 0];
    const b = [0, 0, 0, 0];
    const ro = [0, 0, 0, 0];
    const groups: Record<string, Record<string, number[]>> = { per_family: {}, per_language: {}, held_back: {}, held_back_rules_only: {} };
    const add = (m: number[], pred: boolean, pos: boolean) => { m[pos ? (pred ? 0 : 2) : pred ? 1 : 3]++; };
    const addTo = (g: string, key: string, pred: boolean, pos: boolean) => add((groups[g][key] ??= [0, 0, 0, 0]), pred, pos);
    for (const r of readJsonl(injFile)) {
      const text = String(r.text);
      if (text.length > OLD_LIMIT_CHARS) (report.beyond_old_limit ??= {}).injection = (report.beyond_old_limit.injection ?? 0) + 1;
      const pos = r.label === 'injection';
      const pred = det.detect(text).score >= th;
      const predRules = rulesOnly.detect(text).score >= th;
      add(c, pred, pos);
      add(ro, predRules, pos);
      if (pred !== pos) miss('injection', `${pos ? 'FN' : 'FP'} ${r.type ?? ''}`);
      add(b, keywordBaseline(text), pos);
      // Families: the row's own label (`type` in the shared set, `family` elsewhere); benign rows count in "benign".
      addTo('per_family', String(r.family ?? r.type ?? (pos ? 'injection' : 'benign')), pred, pos);
      addTo('per_language', String(r.lang ?? r.language ?? guessLanguage(text)), pred, pos);
      // The classifier's training split is not an evaluation: the held-back fifth (heldBack()) is.
      const split = heldBack({ text, type: r.type, source: r.source }) ? 'held_back' : 'training_split';
      addTo('held_back', split, pred, pos);
      addTo('held_back_rules_only', split, predRules, pos);
    }
    report.categories.injection = metric(c[0], c[1], c[2], c[3]);
    report.baseline = { injection_keywords: metric(b[0], b[1], b[2], b[3]), injection_rules_only: metric(ro[0], ro[1], ro[2], ro[3]) };
    const m = (g: Record<string, number[]>) => Object.fromEntries(Object.entries(g).sort().map(([k, v]) => [k, metric(v[0], v[1], v[2], v[3])]));
    report.injection = { per_family: m(groups.per_family), per_language: m(groups.per_language), splits: m(groups.held_back), splits_rules_only: m(groups.held_back_rules_only) };
  }

  const ssrfFile = path.join(dir, 'ssrf.jsonl');
  if (existsSync(ssrfFile)) {
    const policy = new UrlPolicy();
    // "positive" = blocked: precision = share of blocks that were right, recall = share of bad URLs blocked.
    let tp = 0, fp = 0, fn = 0, tn = 0, skipped = 0;
    for (const r of readJsonl(ssrfFile)) {
      if (r.check && r.check !== 'static') { skipped++; continue; }
      const blocked = !policy.checkUrl(String(r.url)).allowed;
      const pos = r.label === 'block';
      if (pos && blocked) tp++;
      else if (pos) { fn++; miss('ssrf', `FN ${r.url}`); }
      else if (blocked) { fp++; miss('ssrf', `FP ${r.url}`); }
      else tn++;
    }
    report.categories.ssrf = metric(tp, fp, fn, tn);
    report.skipped = { ssrf_needs_network: skipped };
  }
  if (Object.keys(misses).length) report.misses = misses;
  return report;
}

/**
 * Leak-detector findings on a directory of ordinary text files that should contain no credentials
 * (e.g. source trees, docs): every finding there is a false positive (or a real leak worth knowing).
 */
export function scanCleanDir(dir: string): { files: number; mb: number; files_with_findings: number; file_rate: number; per_mb: number; rules: Record<string, number> } {
  const leaks = new LeakDetector();
  const exts = /\.(?:js|mjs|cjs|ts|tsx|jsx|md|txt|json|ya?ml|toml|py|go|rs|java|rb|sh|html|css)$/i;
  let files = 0, chars = 0, withFindings = 0, total = 0;
  const rules: Record<string, number> = {};
  const walk = (d: string, depth: number) => {
    if (depth > 20) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.git') walk(p, depth + 1);
      } else if (e.isFile() && exts.test(e.name) && statSync(p).size < 5_000_000) {
        const text = readFileSync(p, 'utf8');
        files++;
        chars += text.length;
        const found = leaks.scan(text).filter((f) => f.category === 'secret');
        if (found.length) withFindings++;
        total += found.length;
        for (const f of found) rules[f.rule] = (rules[f.rule] ?? 0) + 1;
      }
    }
  };
  walk(dir, 0);
  const r4 = (x: number) => Math.round(x * 10000) / 10000;
  return { files, mb: r4(chars / 1e6), files_with_findings: withFindings, file_rate: r4(files ? withFindings / files : 0), per_mb: r4(chars ? total / (chars / 1e6) : 0), rules };
}

function printReport(title: string, r: EvalReport): void {
  console.log(`\n== ${title}`);
  console.log('category   precision  recall   f1      n     (tp/fp/fn/tn)');
  for (const [k, m] of Object.entries(r.categories)) {
    console.log(`${k.padEnd(10)} ${m.precision.toFixed(4).padEnd(10)} ${m.recall.toFixed(4).padEnd(8)} ${m.f1.toFixed(4).padEnd(7)} ${String(m.n).padEnd(5)} (${m.tp}/${m.fp}/${m.fn}/${m.tn})`);
  }
  const kb = r.baseline?.injection_keywords;
  if (kb) console.log(`injection keyword-list baseline: precision ${kb.precision.toFixed(4)} recall ${kb.recall.toFixed(4)} f1 ${kb.f1.toFixed(4)}`);
  const ro = r.baseline?.injection_rules_only;
  if (ro) console.log(`injection pattern families alone (no classifier): precision ${ro.precision.toFixed(4)} recall ${ro.recall.toFixed(4)} f1 ${ro.f1.toFixed(4)}`);
  if (r.injection) {
    for (const [name, g] of [['split (combined)', r.injection.splits], ['split (rules only)', r.injection.splits_rules_only], ['family', r.injection.per_family], ['language', r.injection.per_language]] as const) {
      console.log(`injection per ${name}: ${Object.entries(g).map(([k, m]) => `${k} p=${m.precision.toFixed(3)} r=${m.recall.toFixed(3)} (n=${m.n})`).join('; ')}`);
    }
  }
  if (r.clean_false_positive_rate) console.log(`leak false-positive rate: prose+code ${r.clean_false_positive_rate.prose_and_code} (n=${r.clean_false_positive_rate.n}), all clean rows ${r.clean_false_positive_rate.all_clean} (n=${r.clean_false_positive_rate.n_all})`);
  if (r.beyond_old_limit) console.log(`rows longer than the old 1 M-character limit (now scanned in full): ${Object.entries(r.beyond_old_limit).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.skipped?.ssrf_needs_network) console.log(`ssrf: ${r.skipped.ssrf_needs_network} rows need DNS/redirects and were skipped offline (covered by unit tests with a loopback server)`);
  if (r.misses) for (const [k, v] of Object.entries(r.misses)) console.log(`misses ${k}: ${v.join(' | ')}`);
}

function main(argv: string[]): void {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const dir = path.resolve(get('--data') ?? path.join(repoRoot, '../shared/data/safety'));
  const fixtures = path.resolve(get('--fixtures') ?? path.join(repoRoot, 'test/fixtures/safety'));
  const threshold = get('--threshold') !== undefined ? Number(get('--threshold')) : undefined;
  if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) throw new Error('--threshold must be between 0 and 1');
  if (!existsSync(dir)) throw new Error(`--data ${dir}: directory not found`);
  const main = evaluateDir(dir, { threshold });
  if (Object.keys(main.categories).length === 0) throw new Error(`--data ${dir}: no secrets.jsonl, injection.jsonl or ssrf.jsonl found`);
  const fx = existsSync(fixtures) ? evaluateDir(fixtures, { threshold }) : undefined;
  // --clean DIR (repeatable): leak findings on text that should hold no secrets.
  const cleanDirs = argv.flatMap((a, i) => (a === '--clean' && argv[i + 1] ? [path.resolve(argv[i + 1])] : []));
  for (const c of cleanDirs) if (!existsSync(c)) throw new Error(`--clean ${c}: directory not found`);
  const clean = cleanDirs.map((c) => ({ dir: c, ...scanCleanDir(c) }));
  if (argv.includes('--json')) {
    const strip = (r: EvalReport) => ({ ...r, categories: Object.fromEntries(Object.entries(r.categories).map(([k, m]) => [k, m])), misses: undefined });
    console.log(JSON.stringify({ data: dir, ...strip(main), ...(fx ? { fixtures: strip(fx) } : {}), ...(clean.length ? { clean_dirs: clean } : {}) }));
  } else {
    printReport(`data: ${dir}`, main);
    if (fx) printReport(`own cases: ${fixtures}`, fx);
    for (const c of clean) {
      console.log(`\n== clean text: ${c.dir}\n${c.files} files, ${c.mb} MB: ${c.files_with_findings} files with a secret finding (${(c.file_rate * 100).toFixed(2)} %), ${c.per_mb} findings/MB ${JSON.stringify(c.rules)}`);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`eval:safety: ${(e as Error).message}`);
    process.exit(1);
  }
}
