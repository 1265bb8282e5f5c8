/**
 * The host-file preview's writer, run in a worker thread (see preview.ts). It
 * receives the files host by host. While every file received is already in
 * `final` with the same bytes and mode, it only reads; then, at the end, if
 * `final` holds exactly those files, it is left alone. Otherwise the whole
 * preview is made in `partial`, a directory of its own, which replaces
 * `final` at the end: a file that `final` holds with the same bytes and mode
 * is hard-linked from there (no new file, no bytes written), any other is
 * written. Nothing is written into `final`: a cancelled synth leaves it as it
 * was, and nothing in it (a link someone put there) is ever written through.
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

/** Every entry under `dir` (relative path: a regular file or not), without following links; directories are walked. */
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

/** The old preview's entries (true: a regular file), as they were when the synth started. */
let old: ReadonlyMap<string, boolean> | undefined;
try {
  if (fs.lstatSync(final).isDirectory()) old = entries(final);
} catch {
  // No old preview (or none readable): the new one is written.
}
/** The old preview's files not yet received, while every file received is among them unchanged; undefined once one is not. */
let same = old && new Map(old);
const received: { host: string; files: readonly [string, string, number][] }[] = [];
const made = new Set<string>();

/** The old preview's files found unchanged, by path: what they were when compared. */
const verified = new Map<string, fs.Stats>();

/** The old preview's file `rel` when it is a regular file with these bytes and mode: its identity; else undefined. Compared once. */
function unchanged(rel: string, content: string, mode: number): fs.Stats | undefined {
  const known = verified.get(rel);
  if (known) return known;
  if (old?.get(rel) !== true) return undefined;
  const fd = fs.openSync(path.join(final, rel), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || (st.mode & 0o7777) !== (mode & ~umask)) return undefined;
    if (fs.readFileSync(fd, "utf8") !== content) return undefined;
    verified.set(rel, st);
    return st;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `target` as a hard link to the old preview's `rel` when that file is
 * unchanged, and is still the file compared once linked; true when so.
 */
function linked(rel: string, content: string, mode: number, target: string): boolean {
  try {
    const was = unchanged(rel, content, mode);
    if (!was) return false;
    fs.linkSync(path.join(final, rel), target);
    const now = fs.lstatSync(target);
    // The same inode, not written since it was compared.
    if (now.ino === was.ino && now.dev === was.dev && now.size === was.size && now.mtimeMs === was.mtimeMs) return true;
    fs.unlinkSync(target);
  } catch {
    // Not linked (another file system, a file that changed meanwhile, ...): written instead.
  }
  return false;
}

function write(host: string, files: readonly [string, string, number][]): void {
  for (const [file, content, mode] of files) {
    const target = path.join(partial, host, file);
    const parent = path.dirname(target);
    if (!made.has(parent)) {
      attempt(parent, () => fs.mkdirSync(parent, { recursive: true }));
      made.add(parent);
    }
    attempt(target, () => linked(`${host}${file}`, content, mode, target) || fs.writeFileSync(target, content, { mode }));
  }
}

function startWriting(): void {
  same = undefined;
  attempt(partial, () => {
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial);
  });
  made.add(partial);
  for (const m of received.splice(0)) write(m.host, m.files);
}

if (same === undefined) startWriting();

serveSync((message: PreviewMessage, cancelled): string | undefined => {
  if (!("end" in message)) {
    if (cancelled() || failure !== undefined) return undefined;
    if (same === undefined) {
      write(message.host, message.files);
      return undefined;
    }
    received.push(message);
    let kept: boolean;
    try {
      kept = message.files.every(([file, content, mode]) => same!.get(`${message.host}${file}`) === true && unchanged(`${message.host}${file}`, content, mode) !== undefined);
    } catch {
      kept = false;
    }
    if (kept) for (const [file] of message.files) same.delete(`${message.host}${file}`);
    else startWriting();
    return undefined;
  }
  // Every file is as it was, but the old preview has more (a guest that left the code): written anew.
  if (!cancelled() && failure === undefined && same !== undefined && same.size > 0) startWriting();
  if (cancelled() || failure !== undefined) {
    try {
      fs.rmSync(partial, { recursive: true, force: true });
    } catch {
      // The failure already recorded (or the cancel) is what the synth reports.
    }
  } else if (same === undefined) {
    attempt(final, () => {
      fs.rmSync(final, { recursive: true, force: true });
      fs.renameSync(partial, final);
    });
  }
  return failure;
});
