/** A host's files picked by their paths, in byte order: by a test, or by a shell wildcard as glob(3) and wordexp(3) expand it. */
import type { FileSet } from "./hosts";

// The lists are array literals filled by push, not the results of filter or map: V8 then gives an empty list
// the same shape as a full one (the literal remembers what it came to hold), and the model's code, which is
// handed both, is not compiled again for the other (a guest's reader was, twice in every 50-dom0 synth).

/** The paths of `files` that `wanted` takes, in byte order. */
export function pathsMatching(files: FileSet, wanted: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const p of Object.keys(files)) if (wanted(p)) out.push(p);
  return out.sort(byteOrder);
}

/** Strings in byte order (strcmp; the paths here are ASCII). */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The files whose paths `wanted` takes, path and text, in byte order of their paths. */
export function filesMatching(files: FileSet, wanted: (path: string) => boolean): [string, string][] {
  return withTexts(files, pathsMatching(files, wanted));
}

/** Each of `paths` with its text. */
export function withTexts(files: FileSet, paths: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const p of paths) out.push([p, files[p]]);
  return out;
}

/** Paths in byte order of their file names (strcmp, as systemd orders a configuration folder's files). */
export function byFileName(a: string, b: string): number {
  return byteOrder(a.slice(a.lastIndexOf("/") + 1), b.slice(b.lastIndexOf("/") + 1));
}

/** A shell wildcard (`*`, `?` and `[...]`, none matching `/`) as an expression that matches a whole path. */
export function wildcardPattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
}

/** Patterns as expressions, kept: hosts of one fleet name the same few (a guest's sites, sshd's Include). */
const compiled = new Map<string, RegExp>();

/** The files of `files` a wildcard path names (`*`, `?` and `[...]`, within one path component), in byte order. */
export function globbed(files: FileSet, pattern: string): string[] {
  let re = compiled.get(pattern);
  if (re === undefined) {
    if (compiled.size >= 64) compiled.clear();
    compiled.set(pattern, (re = wildcardPattern(pattern)));
  }
  const matches = re;
  return pathsMatching(files, (p) => matches.test(p));
}
