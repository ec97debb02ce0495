/**
 * Which files `memory.add {path}` may read. Memory hits go into model prompts, so the service
 * must not become a way to read files the asker could not: a path is accepted only under a
 * configured root (the agents' workspaces, `memory.workspace.paths`, `memory.roots`), with
 * symlinks resolved before the check, and only if the file is readable by the user who owns that
 * root (and by the uid the client states, which can only make the check stricter).
 *
 * Why the root's owner and not the client's word: a uid sent with the request cannot be trusted
 * (any client can claim any number), while the owner of a workspace folder is a fact of the
 * filesystem. A root-only file (e.g. /etc/shadow, or a hard link to it) inside a user's workspace
 * is refused even when the service runs as root and could read it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from './file-reader.js';

export interface PathGuardOptions {
  roots: string[];
  /** Refuse files the root's owner could not read (default true). */
  ownerReadableOnly: boolean;
}

interface Root {
  dir: string;
  uid: number;
  gids: number[];
}

/** Group ids of a user from /etc/passwd and /etc/group (primary and supplementary). */
function groupsOf(uid: number): number[] {
  const gids = new Set<number>();
  let name: string | null = null;
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 3 && Number(f[2]) === uid) {
        name = f[0];
        gids.add(Number(f[3]));
        break;
      }
    }
    if (name) {
      for (const line of fs.readFileSync('/etc/group', 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length > 3 && f[3].split(',').includes(name)) gids.add(Number(f[2]));
      }
    }
  } catch {
    /* no passwd/group files: only the user's own and world permissions count */
  }
  return [...gids];
}

export function canRead(st: fs.Stats, uid: number, gids: number[]): boolean {
  if (uid === 0) return true;
  if (st.uid === uid) return (st.mode & 0o400) !== 0;
  if (gids.includes(st.gid)) return (st.mode & 0o040) !== 0;
  return (st.mode & 0o004) !== 0;
}

export class PathGuard {
  private roots: Root[] = [];
  private readonly names: string[];

  constructor(private readonly opts: PathGuardOptions) {
    this.names = [...new Set(opts.roots.map((r) => path.resolve(r)))];
    this.refresh();
  }

  /** Resolve the roots again (a root may be created after start, e.g. an agent's workspace). */
  refresh(): void {
    const out: Root[] = [];
    for (const r of this.names) {
      try {
        const dir = fs.realpathSync(r);
        const st = fs.statSync(dir);
        out.push({ dir, uid: st.uid, gids: groupsOf(st.uid) });
      } catch {
        /* not there (yet): nothing can be under it */
      }
    }
    this.roots = out;
  }

  describe(): string {
    return this.names.length ? this.names.join(', ') : '(none configured)';
  }

  /**
   * The real path of `target` if it may be indexed, else an InputError naming the roots.
   * `clientUid`: the uid the client says it runs as (checked in addition, never instead).
   */
  check(target: string, clientUid?: number): { real: string; isDir: boolean; verify: (file: string, st: fs.Stats) => void } {
    const abs = path.resolve(target);
    let real: string;
    try {
      real = fs.realpathSync(abs);
    } catch (e) {
      throw new InputError('file_not_found', `cannot read ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.refresh();
    const root = this.roots.filter((r) => real === r.dir || real.startsWith(r.dir + path.sep)).sort((a, b) => b.dir.length - a.dir.length)[0];
    if (!root) {
      const via = real !== abs ? ` (it resolves to ${real})` : '';
      throw new InputError('path_outside_roots', `${abs}${via} is outside the folders memory may read: ${this.describe()}. Add its folder to memory.roots in rustyclaw.yaml to allow it`);
    }
    const clientGids = clientUid !== undefined ? groupsOf(clientUid) : [];
    const verify = (file: string, st: fs.Stats) => {
      if (!this.opts.ownerReadableOnly) return;
      if (!canRead(st, root.uid, root.gids)) {
        throw new InputError('not_readable_by_owner', `${file} is not readable by uid ${root.uid}, the owner of ${root.dir} (mode ${(st.mode & 0o777).toString(8)}, owner ${st.uid}); the service will not index what the workspace's owner could not read`);
      }
      if (clientUid !== undefined && !canRead(st, clientUid, clientGids)) {
        throw new InputError('not_readable_by_client', `${file} is not readable by uid ${clientUid}, the user who asked (mode ${(st.mode & 0o777).toString(8)}, owner ${st.uid})`);
      }
    };
    const st = fs.statSync(real);
    if (!st.isDirectory()) verify(real, st);
    return { real, isDir: st.isDirectory(), verify };
  }
}

/** The default roots: every agent's workspace (explicit or under <data_dir>/workspaces), workspace paths, extra roots. */
export function defaultRoots(dataDir: string, agents: unknown, workspacePaths: string[], extra: string[]): string[] {
  const roots = [path.join(dataDir, 'workspaces'), ...workspacePaths, ...extra];
  if (Array.isArray(agents)) for (const a of agents) if (a && typeof a.workspace === 'string' && a.workspace) roots.push(a.workspace);
  return roots.map((r) => path.resolve(r));
}
