/**
 * Finding the running service from any directory. A service keeps its endpoint file in its own data
 * dir; `rustyclaw start` also leaves a pointer in the user's default data dir
 * (`~/.rustyclaw/run/services/<pid>.json`), so a service started on another data dir (a project's
 * config file) is found by commands run elsewhere without naming that dir again.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultDataDir } from '../config/data-dir.js';
import { endpointFile, type EndpointInfo } from '../client/index.js';
import { pidAlive, runningService } from '../service.js';

export function registryDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultDataDir(env), 'run', 'services');
}

/** Leave a pointer to a started service; returns the function that removes it. */
export function announce(dataDir: string, pid = process.pid): () => void {
  const dir = registryDir();
  const file = path.join(dir, `${pid}.json`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify({ pid, data_dir: dataDir }), { mode: 0o600 });
  } catch {
    // Discovery from other directories is a convenience; the service runs without it.
  }
  return () => rmSync(file, { force: true });
}

export interface Found { info: EndpointInfo; dataDir: string }

/** Services announced in the registry that are still alive (stale pointers are removed). */
export function announced(): Found[] {
  const dir = registryDir();
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: Found[] = [];
  for (const n of names) {
    try {
      const p = JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as { pid: number; data_dir: string };
      const info = pidAlive(p.pid) ? runningService(p.data_dir) : null;
      if (info && info.pid === p.pid) out.push({ info, dataDir: p.data_dir });
      else rmSync(path.join(dir, n), { force: true });
    } catch {
      // a pointer being written or garbage: skip it
    }
  }
  return out;
}

export class NoServiceError extends Error {
  constructor(dataDir: string, detail?: string) {
    super(
      `no running RustyClaw service for data dir ${dataDir} (no live ${endpointFile(dataDir)})${detail ? `; ${detail}` : ''}. ` +
        "Start one with 'rustyclaw start' (with the same -d/--config), or add --in-process to run this command on a tree booted inside this command",
    );
    this.name = 'NoServiceError';
  }
}

/**
 * The service for this data dir; when the data dir was not named (default), also a single service
 * announced from elsewhere. Several candidates: an error listing them (the user picks one with -d).
 */
export function findService(dataDir: string, dataDirExplicit: boolean): Found | null {
  const own = runningService(dataDir);
  if (own) return { info: own, dataDir };
  if (dataDirExplicit) return null;
  const others = announced().filter((f) => f.dataDir !== dataDir);
  if (others.length === 1) return others[0];
  if (others.length > 1) {
    throw new NoServiceError(dataDir, `${others.length} services run on other data dirs (${others.map((o) => `-d ${o.dataDir} (pid ${o.info.pid})`).join(', ')}); pick one with -d`);
  }
  return null;
}
