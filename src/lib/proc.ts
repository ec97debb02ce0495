/**
 * What /proc says about a process or thread (Linux). Elsewhere every reader returns undefined and
 * callers fall back to what the platform offers (`kill(pid, 0)`, the progress rule).
 */
import { readFileSync } from 'node:fs';

/** USER_HZ is 100 on Linux: /proc's clock ticks are 10 ms. */
export const CLK_TCK_MS = 10;

/**
 * The fields of `/proc/<which>/stat` after the command name, which may hold spaces and parens:
 * index 0 is the state (field 3 in proc(5)), so field N of proc(5) is index N - 3.
 */
export function procStat(which: string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${which}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** A process as /proc sees it: whether it still runs, and when it started. */
export interface ProcInfo {
  /** False once it exited, even before its parent reaps it (state Z or X). */
  alive: boolean;
  /**
   * Start time in clock ticks since boot (proc(5) field 22). With the pid it names one process for
   * the machine's uptime: a pid reused by another process has another start time.
   */
  startTicks: number;
}

/** Undefined when the process is gone or there is no /proc. */
export function procInfo(pid: number | 'self'): ProcInfo | undefined {
  const f = procStat(String(pid));
  if (!f) return undefined;
  return { alive: f[0] !== 'Z' && f[0] !== 'X', startTicks: Number(f[19]) };
}

/** CPU time (ms) a process has used (utime + stime), or null when it cannot be read. */
export function processCpuMs(pid: number): number | null {
  const f = procStat(String(pid));
  return f ? (Number(f[11]) + Number(f[12])) * CLK_TCK_MS : null;
}

/** CPU time (ms) a thread of this process has used (utime + stime), or null when it cannot be read. */
export function threadCpuMs(tid: number): number | null {
  if (!tid) return null;
  const f = procStat(`self/task/${tid}`);
  return f ? (Number(f[11]) + Number(f[12])) * CLK_TCK_MS : null;
}
