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

/**
 * `NAME='value'` lines, the only text put before a shell source: each value
 * single-quoted (a quote inside written as `'\\''`), so that the shell reads
 * it back as the very string, whatever it holds.
 */
export function shellAssignments(values: readonly (readonly [string, string])[]): string {
  return values
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`${JSON.stringify(name)} is not a shell variable name`);
      return `${name}='${value.replace(/'/g, `'\\''`)}'\n`;
    })
    .join("");
}

/** Each file is read once per process. */
const read = new Map<string, string>();
