// files: read, list or write files in the workspace (what the manifest's preopen allows).
// Arguments: {op: "read"|"list"|"write", path: string, content?: string, max_bytes?: number}.
import { readArgs, out, fail } from "../lib/io";
import { openRead, openDir, openWrite, readAll, readDir, writeAll, close, errnoName } from "../lib/fs";

const args = readArgs();
const op = args.getString("op", "read");
const path = args.getString("path", ".");
const maxBytes = <i32>args.getNum("max_bytes", 65536);

if (op == "read") {
  const f = openRead(path);
  if (f.errno != 0) fail("files: cannot open '" + path + "': " + errnoName(f.errno));
  const r = readAll(f.fd, maxBytes);
  close(f.fd);
  if (r.errno == 31) fail("files: '" + path + "' is a directory (use op: list)");
  if (r.errno != 0) fail("files: cannot read '" + path + "': " + errnoName(r.errno));
  for (let i = 0; i < r.data.length; i++) if (r.data[i] == 0) fail("files: '" + path + "' is a binary file");
  out(String.UTF8.decode(r.data.slice(0).buffer));
  if (r.truncated) out("\n[… truncated at " + maxBytes.toString() + " bytes; pass max_bytes to read more]");
} else if (op == "list") {
  const d = openDir(path);
  if (d.errno != 0) fail("files: cannot open directory '" + path + "': " + errnoName(d.errno));
  const r = readDir(d.fd);
  close(d.fd);
  if (r.errno != 0) fail("files: cannot list '" + path + "': " + errnoName(r.errno));
  const names = new Array<string>();
  for (let i = 0; i < r.entries.length; i++) names.push(r.entries[i].isDir ? r.entries[i].name + "/" : r.entries[i].name);
  names.sort();
  out(names.length ? names.join("\n") : "(empty directory)");
} else if (op == "write") {
  const f = openWrite(path);
  if (f.errno != 0) fail("files: cannot write '" + path + "': " + errnoName(f.errno));
  const data = String.UTF8.encode(args.getString("content", ""));
  const e = writeAll(f.fd, data);
  close(f.fd);
  if (e != 0) fail("files: cannot write '" + path + "': " + errnoName(e));
  out("wrote " + data.byteLength.toString() + " bytes to " + path);
} else fail("files: unknown op '" + op + "' (read, list, write)");
