/** A host's files picked by their paths, in byte order: by a test, or by a shell wildcard as glob(3) and wordexp(3) expand it. */
import type { FileSet } from "./hosts";

/** The paths of `files` that `wanted` takes, in byte order. */
export function pathsMatching(files: FileSet, wanted: (path: string) => boolean): string[] {
  return Object.keys(files)
    .filter(wanted)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The files whose paths `wanted` takes, path and text, in byte order of their paths. */
export function filesMatching(files: FileSet, wanted: (path: string) => boolean): [string, string][] {
  return pathsMatching(files, wanted).map((p) => [p, files[p]]);
}

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
  return pathsMatching(files, (p) => matches.test(p));
}
