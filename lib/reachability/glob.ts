/** Shell wildcards over a host's files, as glob(3) and wordexp(3) expand them. */
import type { FileSet } from "./hosts";

/** Patterns as expressions, kept: hosts of one fleet name the same few (a guest's sites, sshd's Include). */
const compiled = new Map<string, RegExp>();

/** The files of `files` a wildcard path names (`*`, `?` and `[...]`, within one path component), in byte order. */
export function globbed(files: FileSet, pattern: string): string[] {
  let re = compiled.get(pattern);
  if (re === undefined) {
    if (compiled.size >= 64) compiled.clear();
    compiled.set(pattern, (re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`)));
  }
  const matches = re;
  return Object.keys(files)
    .filter((p) => matches.test(p))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
