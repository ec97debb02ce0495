// Workspace file access for tools through raw WASI calls (AssemblyScript). Paths are relative to
// the first preopen (fd 3, usually /workspace); a leading "/workspace/" is accepted and dropped.
// The runner decides what is reachable: `..`, other absolute paths and symlinks leading out fail.

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "path_open")
declare function path_open(fd: u32, dirflags: u32, path: usize, path_len: usize, oflags: u32, rights_base: u64, rights_inh: u64, fdflags: u32, fd_out: usize): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: u32, iovs: usize, iovs_len: usize, nread: usize): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovs_len: usize, nwritten: usize): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_close")
declare function fd_close(fd: u32): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_readdir")
declare function fd_readdir(fd: u32, buf: usize, len: usize, cookie: u64, used: usize): u32;

export const PREOPEN: u32 = 3;
const RIGHTS_READ: u64 = (1 << 1) | (1 << 2) | (1 << 21); // fd_read, fd_seek, fd_filestat_get
const RIGHTS_DIR: u64 = (1 << 14) | (1 << 13) | (1 << 18) | (1 << 1); // fd_readdir, path_open, path_filestat_get, fd_read
const RIGHTS_WRITE: u64 = (1 << 6) | (1 << 22); // fd_write, fd_filestat_set_size

export class FsResult {
  errno: u32 = 0;
  fd: u32 = 0;
}

const scratch = memory.data(64);

export function errnoName(e: u32): string {
  if (e == 2) return "permission denied (acces)";
  if (e == 8) return "bad descriptor (badf)";
  if (e == 20) return "already exists (exist)";
  if (e == 28) return "invalid argument (inval)";
  if (e == 31) return "is a directory (isdir)";
  if (e == 44) return "no such file or directory (noent)";
  if (e == 54) return "not a directory (notdir)";
  if (e == 63) return "operation not permitted (perm)";
  if (e == 69) return "read-only file system (rofs)";
  if (e == 76) return "outside what this tool may reach (notcapable)";
  return "errno " + e.toString();
}

/** The path as the runner's preopen sees it. */
export function guestRelative(path: string): string {
  if (path == "/workspace") return ".";
  if (path.startsWith("/workspace/")) return path.substring(11);
  if (path.length == 0) return ".";
  return path;
}

export function open(path: string, oflags: u32, rights: u64): FsResult {
  const p = String.UTF8.encode(guestRelative(path));
  const r = new FsResult();
  r.errno = path_open(PREOPEN, 0, changetype<usize>(p), <usize>p.byteLength, oflags, rights, rights, 0, scratch);
  if (r.errno == 0) r.fd = load<u32>(scratch);
  return r;
}

export function openRead(path: string): FsResult { return open(path, 0, RIGHTS_READ); }
export function openDir(path: string): FsResult { return open(path, 2, RIGHTS_DIR | RIGHTS_READ); }
export function openWrite(path: string): FsResult { return open(path, 1 | 8, RIGHTS_WRITE | RIGHTS_READ); }

/** Read at most `max` bytes; `truncated` tells whether more was there. */
export class ReadResult {
  errno: u32 = 0;
  data: Uint8Array = new Uint8Array(0);
  truncated: bool = false;
}

export function readAll(fd: u32, max: i32): ReadResult {
  const r = new ReadResult();
  const buf = new Uint8Array(max + 1);
  let n = 0;
  while (n < max + 1) {
    store<usize>(scratch, buf.dataStart + <usize>n);
    store<usize>(scratch, <usize>(max + 1 - n), 4);
    const e = fd_read(fd, scratch, 1, scratch + 8);
    if (e != 0) { r.errno = e; return r; }
    const got = <i32>load<u32>(scratch + 8);
    if (got == 0) break;
    n += got;
  }
  r.truncated = n > max;
  r.data = buf.subarray(0, n > max ? max : n);
  return r;
}

export function writeAll(fd: u32, data: ArrayBuffer): u32 {
  let off = 0;
  while (off < data.byteLength) {
    store<usize>(scratch, changetype<usize>(data) + <usize>off);
    store<usize>(scratch, <usize>(data.byteLength - off), 4);
    const e = fd_write(fd, scratch, 1, scratch + 8);
    if (e != 0) return e;
    off += <i32>load<u32>(scratch + 8);
  }
  return 0;
}

export function close(fd: u32): void { fd_close(fd); }

export class DirEntry {
  name: string = "";
  isDir: bool = false;
  isFile: bool = false;
}

export class DirResult {
  errno: u32 = 0;
  entries: Array<DirEntry> = new Array<DirEntry>();
}

export function readDir(fd: u32): DirResult {
  const r = new DirResult();
  const size = 8192;
  const buf = new Uint8Array(size);
  let cookie: u64 = 0;
  while (true) {
    const e = fd_readdir(fd, buf.dataStart, size, cookie, scratch);
    if (e != 0) { r.errno = e; return r; }
    const used = <i32>load<u32>(scratch);
    let off = 0;
    let progressed = false;
    while (off + 24 <= used) {
      const next = load<u64>(buf.dataStart + <usize>off);
      const namlen = <i32>load<u32>(buf.dataStart + <usize>off + 16);
      const type = load<u8>(buf.dataStart + <usize>off + 20);
      if (off + 24 + namlen > used) break;
      const name = String.UTF8.decodeUnsafe(buf.dataStart + <usize>off + 24, <usize>namlen);
      cookie = next;
      progressed = true;
      off += 24 + namlen;
      if (name == "." || name == "..") continue;
      const d = new DirEntry();
      d.name = name;
      d.isDir = type == 3;
      d.isFile = type == 4;
      r.entries.push(d);
    }
    if (used < size || !progressed) break;
  }
  return r;
}
