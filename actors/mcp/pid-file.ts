/**
 * The stdio servers' pids, kept in `<data_dir>/run/mcp-pids.json`. Children are killed with their
 * connection; when the actor itself dies (a crash of its thread, kill -9 of the service) they would
 * outlive it, so the next instance kills those still running the recorded command.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface Entry {
  pid: number;
  command: string;
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

export class PidFile {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly file: string) {}

  /** Kill the children a previous instance left behind (only if the pid still runs their command). */
  reap(log: (msg: string) => void): void {
    let old: Record<string, Entry>;
    try {
      old = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, Entry>;
    } catch {
      return;
    }
    for (const [name, e] of Object.entries(old)) {
      const line = cmdline(e.pid);
      if (!line || !line.includes(path.basename(e.command))) continue;
      try {
        process.kill(e.pid, 'SIGKILL');
        log(`mcp ${name}: killed stdio server pid ${e.pid} left over by a previous instance`);
      } catch {
        // gone meanwhile
      }
    }
    this.write();
  }

  add(name: string, pid: number, command: string): void {
    this.entries.set(name, { pid, command });
    this.write();
  }

  remove(name: string): void {
    if (this.entries.delete(name)) this.write();
  }

  private write(): void {
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.entries)));
      renameSync(tmp, this.file);
    } catch {
      // best effort: the children are still killed with their connections
    }
  }
}
