/**
 * The host-file preview's writer, run in a worker thread (see preview.ts). It
 * receives the files host by host and compares each with the old preview
 * (`final`, walked without following links when the synth starts). A file
 * that is not there as a regular file with the same bytes and mode is staged:
 * written into `partial`, a directory of its own. At the end of a synth that
 * succeeded, the old preview is brought up to date in place: what no host
 * receives any more is removed, and each staged file is renamed into it (a
 * rename replaces the entry that was there, a link included: nothing is ever
 * written through a link, nor is a directory behind one entered). Unchanged
 * files are left as they are, so a synth of unchanged code only reads, and
 * one after a small change touches only what changed. Without an old preview,
 * `partial` becomes `final`. A cancelled synth removes `partial` and leaves
 * `final` as it was.
 */
import * as fs from "fs";
import * as path from "path";
import { serveSync, syncWorkerData } from "./sync-worker";

/** Where the preview goes, as preview.ts gives it. */
export interface PreviewPlaces {
  readonly partial: string;
  readonly final: string;
}

/** A host's files: [absolute path, content, mode as a number]. */
export type PreviewMessage = { readonly host: string; readonly files: readonly [string, string, number][] } | { readonly end: true };

const { partial, final } = syncWorkerData<PreviewPlaces>();
// Files are created with their mode less the process's umask: an old file is compared with that.
const umask = process.umask();

let failure: string | undefined;
function attempt(what: string, act: () => void): void {
  if (failure !== undefined) return;
  try {
    act();
  } catch (e) {
    failure = `${what}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Every entry under `dir` but its directories (relative path: a regular file or not), without following links. */
function entries(dir: string): Map<string, boolean> {
  const found = new Map<string, boolean>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else found.set(p, e.isFile());
    }
  };
  walk("");
  return found;
}

/**
 * The old preview's entries not received (yet), true for a regular file, as
 * they were when the synth started; undefined when there is no old preview
 * (`final` is not a directory).
 */
let left: Map<string, boolean> | undefined;
try {
  if (fs.lstatSync(final).isDirectory()) left = entries(final);
} catch {
  // No old preview (or none readable): the new one is written whole.
}

/** Files written into `partial` (paths relative to it, as to `final`), to be renamed into `final` at the end. */
const staged: string[] = [];
const made = new Set<string>();

/** Whether the old preview's `rel` is a regular file with these bytes and mode. */
function unchanged(rel: string, content: string, mode: number): boolean {
  if (left?.get(rel) !== true) return false;
  const fd = fs.openSync(path.join(final, rel), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const st = fs.fstatSync(fd);
    return st.isFile() && (st.mode & 0o7777) === (mode & ~umask) && st.size === Buffer.byteLength(content) && fs.readFileSync(fd, "utf8") === content;
  } finally {
    fs.closeSync(fd);
  }
}

function stage(rel: string, content: string, mode: number): void {
  if (!made.has(partial)) {
    // What a killed synth left there goes first.
    attempt(partial, () => {
      fs.rmSync(partial, { recursive: true, force: true });
      fs.mkdirSync(partial);
    });
    made.add(partial);
  }
  const target = path.join(partial, rel);
  const parent = path.dirname(target);
  if (!made.has(parent)) {
    attempt(parent, () => fs.mkdirSync(parent, { recursive: true }));
    made.add(parent);
  }
  attempt(target, () => fs.writeFileSync(target, content, { mode }));
  staged.push(rel);
}

function receive(host: string, files: readonly [string, string, number][]): void {
  for (const [file, content, mode] of files) {
    const rel = `${host}${file}`;
    let same = false;
    try {
      same = unchanged(rel, content, mode);
    } catch {
      // Unreadable, or no longer a file: written anew.
    }
    left?.delete(rel);
    if (!same) stage(rel, content, mode);
  }
}

/**
 * Brings `final` up to date: what no host receives any more goes, then each
 * staged file is renamed into place. Every directory on the way is checked to
 * be a directory, not a link to one (an entry that is not is replaced by one).
 */
function update(old: ReadonlyMap<string, boolean>): void {
  const real = new Set<string>(["."]);
  /** Whether `final`'s `rel` is a directory, every directory above it too; `make` replaces what is not by one. */
  const directory = (rel: string, make: boolean): boolean => {
    if (real.has(rel)) return true;
    if (!directory(path.dirname(rel), make)) return false;
    const at = path.join(final, rel);
    const st = fs.lstatSync(at, { throwIfNoEntry: false });
    if (!st?.isDirectory()) {
      if (!make) return false;
      if (st) fs.rmSync(at, { force: true });
      fs.mkdirSync(at);
    }
    real.add(rel);
    return true;
  };
  const emptied = new Set<string>();
  for (const rel of old.keys()) {
    if (!directory(path.dirname(rel), false)) continue;
    fs.rmSync(path.join(final, rel), { force: true });
    for (let d = path.dirname(rel); d !== "."; d = path.dirname(d)) emptied.add(d);
  }
  // Deepest first: a directory left empty goes once the ones below it have.
  for (const d of [...emptied].sort((a, b) => b.length - a.length)) {
    try {
      if (directory(d, false)) fs.rmdirSync(path.join(final, d));
      real.delete(d);
    } catch {
      // Not empty: it still holds files of the preview.
    }
  }
  for (const rel of staged) {
    directory(path.dirname(rel), true);
    const from = path.join(partial, rel);
    const target = path.join(final, rel);
    try {
      fs.renameSync(from, target);
    } catch (e) {
      // A rename replaces a file or a link, not a directory: a directory where a file goes (one left empty) is removed.
      if ((e as NodeJS.ErrnoException).code !== "EISDIR") throw e;
      fs.rmSync(target, { recursive: true });
      fs.renameSync(from, target);
    }
  }
  fs.rmSync(partial, { recursive: true, force: true });
}

serveSync((message: PreviewMessage, cancelled): string | undefined => {
  if (!("end" in message)) {
    if (!cancelled() && failure === undefined) receive(message.host, message.files);
    return undefined;
  }
  if (cancelled() || failure !== undefined) {
    try {
      fs.rmSync(partial, { recursive: true, force: true });
    } catch {
      // The failure already recorded (or the cancel) is what the synth reports.
    }
    return failure;
  }
  // An update that fails part way leaves some files new and some old; the next synth compares them again and completes it.
  attempt(left ? `${final}, left updated in part (the next synth completes it)` : final, () => {
    if (left) return update(left);
    // No old preview: the staged one is the preview (an entry by its name that is not a directory goes).
    fs.rmSync(final, { recursive: true, force: true });
    if (made.has(partial)) fs.renameSync(partial, final);
    else fs.mkdirSync(final);
  });
  return failure;
});
