/** What the compiled library reads beside its JavaScript, copied by the build and by the benchmark's compile. */
import * as fs from "fs";
import * as path from "path";

/** Files under `dir` (relative to it) whose names end in one of `endings`. */
export function filesUnder(dir: string, endings: string[]): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => endings.some((e) => f.endsWith(e)) && fs.statSync(path.join(dir, f)).isFile());
}

/** What the compiled library reads beside its JavaScript: the deploy's shell sources and the lab's C parser. */
export function copyAssets(sourceLib: string, outLib: string): void {
  for (const f of filesUnder(sourceLib, [".sh", ".c"])) {
    fs.mkdirSync(path.dirname(path.join(outLib, f)), { recursive: true });
    fs.copyFileSync(path.join(sourceLib, f), path.join(outLib, f));
  }
}
