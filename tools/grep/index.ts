// grep: fixed-string search through workspace files. Arguments: {pattern, path?: ".",
// ignore_case?: false, max_matches?: 100}. Output: "path:line: text" per match.
import { readArgs, out, fail } from "../lib/io";
import { openRead, openDir, readAll, readDir, close, errnoName } from "../lib/fs";

const args = readArgs();
const pattern = args.getString("pattern", "");
const root = args.getString("path", ".");
const ignoreCase = args.getBool("ignore_case", false);
const maxMatches = <i32>args.getNum("max_matches", 100);
if (pattern.length == 0) fail("grep: 'pattern' must not be empty");
const needle = ignoreCase ? pattern.toLowerCase() : pattern;
const lines = new Array<string>();
let matches = 0;
let files = 0;

function join(dir: string, name: string): string {
  return dir == "." ? name : dir + "/" + name;
}

function searchFile(path: string): void {
  const f = openRead(path);
  if (f.errno != 0) return;
  const r = readAll(f.fd, 4 * 1024 * 1024);
  close(f.fd);
  if (r.errno != 0) return;
  for (let i = 0; i < r.data.length && i < 8192; i++) if (r.data[i] == 0) return; // binary
  files++;
  const text = String.UTF8.decode(r.data.slice(0).buffer);
  const all = text.split("\n");
  for (let i = 0; i < all.length && matches < maxMatches; i++) {
    const line = all[i];
    if ((ignoreCase ? line.toLowerCase() : line).indexOf(needle) >= 0) {
      matches++;
      lines.push(path + ":" + (i + 1).toString() + ": " + (line.length > 300 ? line.substring(0, 300) + "…" : line));
    }
  }
}

function walk(dir: string, depth: i32): void {
  if (depth > 32 || matches >= maxMatches) return;
  const d = openDir(dir);
  if (d.errno == 54) { searchFile(dir); return; }
  if (d.errno != 0) {
    if (depth == 0) fail("grep: cannot open '" + dir + "': " + errnoName(d.errno));
    return;
  }
  const r = readDir(d.fd);
  close(d.fd);
  const names = new Array<string>();
  for (let i = 0; i < r.entries.length; i++) names.push(r.entries[i].name);
  names.sort();
  for (let i = 0; i < names.length && matches < maxMatches; i++) {
    let e = r.entries[0];
    for (let k = 0; k < r.entries.length; k++) if (r.entries[k].name == names[i]) e = r.entries[k];
    if (e.name.startsWith(".")) continue;
    if (e.isDir) walk(join(dir, e.name), depth + 1);
    else if (e.isFile) searchFile(join(dir, e.name));
  }
}

walk(root, 0);
if (lines.length == 0) out("no matches for \"" + pattern + "\" in " + files.toString() + " files");
else out(lines.join("\n") + (matches >= maxMatches ? "\n[… stopped at " + maxMatches.toString() + " matches]" : ""));
