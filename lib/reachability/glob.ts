/** Shell wildcards over a host's files, as glob(3) and wordexp(3) expand them. */
import type { FileSet } from "./hosts";

/** The files of `files` a wildcard path names (`*`, `?` and `[...]`, within one path component), in byte order. */
export function globbed(files: FileSet, pattern: string): string[] {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
  return Object.keys(files)
    .filter((p) => re.test(p))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
