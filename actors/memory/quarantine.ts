/**
 * Crash bookkeeping for the memory index, in small files beside lmdb (never inside an lmdb write:
 * a thread killed inside a write transaction can leave its lock held).
 *
 * - `inflight.json`: what the actor is working on (an add, or a document being re-analysed on
 *   rebuild), written before the work and removed after. Found at the next open, it means the
 *   previous thread crashed or was terminated (stalled) while on that document: one strike.
 * - `quarantine.json`: strikes per document, and the documents with two strikes: those are
 *   refused on add, skipped on rebuild, listed by `memory stats` and removable by `memory delete`.
 */
import fs from 'node:fs';
import path from 'node:path';

export const QUARANTINE_STRIKES = 2;

export interface Attempt {
  op: 'add' | 'rebuild' | 'reindex';
  doc_id: string;
  /** Content hash (adds): the same bytes re-added are what is quarantined. */
  hash?: string;
  path?: string;
  source?: string;
  started: number;
}

export interface QuarantineEntry {
  doc_id: string;
  hash?: string;
  path?: string;
  source?: string;
  op: Attempt['op'];
  strikes: number;
  reason: string;
  at: number;
  /** True once quarantined (two strikes); before that it is only a strike on record. */
  quarantined: boolean;
}

export class CrashLedger {
  private readonly inflightFile: string;
  private readonly file: string;
  private entries = new Map<string, QuarantineEntry>();

  constructor(
    dir: string,
    private readonly log?: { warn(o: unknown, msg?: string): void },
  ) {
    this.inflightFile = path.join(dir, 'inflight.json');
    this.file = path.join(dir, 'quarantine.json');
    try {
      const list = JSON.parse(fs.readFileSync(this.file, 'utf8')) as QuarantineEntry[];
      for (const e of Array.isArray(list) ? list : []) if (e && typeof e.doc_id === 'string') this.entries.set(e.doc_id, e);
    } catch {
      /* none yet, or unreadable: start a new ledger (the index itself is untouched) */
    }
  }

  /** Count a strike for whatever the previous thread left in flight. Returns that attempt, if any. */
  recoverInflight(): QuarantineEntry | null {
    let a: Attempt;
    try {
      a = JSON.parse(fs.readFileSync(this.inflightFile, 'utf8')) as Attempt;
    } catch {
      fs.rmSync(this.inflightFile, { force: true });
      return null;
    }
    fs.rmSync(this.inflightFile, { force: true });
    if (!a || typeof a.doc_id !== 'string') return null;
    const prev = this.entries.get(a.doc_id);
    const strikes = (prev && (prev.hash === a.hash || a.op !== 'add') ? prev.strikes : 0) + 1;
    const e: QuarantineEntry = {
      doc_id: a.doc_id,
      op: a.op,
      strikes,
      at: Date.now(),
      quarantined: strikes >= QUARANTINE_STRIKES,
      reason: `the memory thread crashed or stalled ${strikes} time(s) while on this document (${a.op}, started ${new Date(a.started).toISOString()})`,
      ...(a.hash ? { hash: a.hash } : {}),
      ...(a.path ? { path: a.path } : {}),
      ...(a.source ? { source: a.source } : {}),
    };
    this.entries.set(a.doc_id, e);
    this.save();
    this.log?.warn({ doc: a.doc_id, path: a.path, strikes, quarantined: e.quarantined }, e.quarantined ? 'memory: document quarantined after crashing the memory thread twice' : 'memory: the previous memory thread died while on this document (one strike)');
    return e;
  }

  begin(a: Attempt): void {
    // No fsync: a torn marker reads as invalid JSON and is ignored; the point is the crash case.
    fs.writeFileSync(this.inflightFile, JSON.stringify(a));
  }

  end(): void {
    fs.rmSync(this.inflightFile, { force: true });
  }

  /** The quarantine entry of a document (or of these exact bytes under its id). */
  quarantined(docId: string, hash?: string): QuarantineEntry | undefined {
    const e = this.entries.get(docId);
    if (!e?.quarantined) return undefined;
    if (hash !== undefined && e.hash !== undefined && e.op === 'add' && e.hash !== hash) return undefined; // new content gets a new chance
    return e;
  }

  /** A successful add or delete clears the document's record. */
  clear(docId: string): boolean {
    const had = this.entries.delete(docId);
    if (had) this.save();
    return had;
  }

  list(): QuarantineEntry[] {
    return [...this.entries.values()].filter((e) => e.quarantined);
  }

  all(): QuarantineEntry[] {
    return [...this.entries.values()];
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify([...this.entries.values()], null, 1));
    fs.renameSync(tmp, this.file);
  }
}
