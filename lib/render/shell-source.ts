/**
 * Shell kept as real `.sh` files in the library's source tree (so that
 * shellcheck reads the very source in CI), inlined into the scripts that run
 * on hosts. The build copies them beside the compiled modules.
 */
import * as fs from "fs";
import * as path from "path";

/**
 * The text of the shell file `file` (relative to `dir`, the caller's
 * `__dirname`) as it is inlined: its leading `##` lines, which document the
 * file, left out, and its final newline.
 */
export function shellSource(dir: string, file: string): string {
  const where = path.join(dir, file);
  let text = read.get(where);
  if (text === undefined) {
    const lines = fs.readFileSync(where, "utf8").replace(/\n$/, "").split("\n");
    let first = 0;
    while (first < lines.length && lines[first].startsWith("##")) first++;
    read.set(where, (text = lines.slice(first).join("\n")));
  }
  return text;
}

/** Each file is read once per process. */
const read = new Map<string, string>();
