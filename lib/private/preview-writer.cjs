// The host-file preview's writer, run in a worker thread that lib/private/preview.ts
// starts at the beginning of a stack's synth, so that the file system's work overlaps
// cdktf's. It receives the files host by host. While every file received is already in
// `final` with the same bytes and mode, it only reads; then, on `end`, if `final` holds
// exactly those files, it is left alone. Otherwise the whole preview is written into
// `partial`, a directory of its own, which replaces `final` on `end`. Nothing is written
// into `final`: a failed synth (`abort`) leaves it as it was, and nothing in it (a link
// someone put there) is ever written through. Plain JavaScript: a worker loads it as it is.
"use strict";
const fs = require("fs");
const path = require("path");
const { parentPort, workerData } = require("worker_threads");

const { partial, final, state, reply } = workerData;
// The cells of `state` (an Int32Array on shared memory), as preview.ts names them.
const DONE = 0;
const PROGRESS = 1;
const ABORT = 2;

// Files are created with their mode less the process's umask: an old file is compared with that.
const umask = process.umask();

let failure;
function attempt(what, act) {
  if (failure !== undefined) return;
  try {
    act();
  } catch (e) {
    failure = `${what}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Every entry under `dir` (relative path -> "file" or "other"), without following links; directories are walked. */
function entries(dir) {
  const found = new Map();
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else found.set(p, e.isFile() ? "file" : "other");
    }
  };
  walk("");
  return found;
}

/** The old preview's files, while every file received so far is among them unchanged; undefined once one is not. */
let same;
try {
  if (fs.lstatSync(final).isDirectory()) same = entries(final);
} catch {
  // No old preview (or none readable): the new one is written.
}
const received = [];
let writing = false;
const made = new Set();

function unchanged(rel, content, mode) {
  if (same.get(rel) !== "file") return false;
  const fd = fs.openSync(path.join(final, rel), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    if ((fs.fstatSync(fd).mode & 0o7777) !== (mode & ~umask)) return false;
    return fs.readFileSync(fd, "utf8") === content;
  } finally {
    fs.closeSync(fd);
  }
}

function write(host, files) {
  for (const [file, content, mode] of files) {
    const target = path.join(partial, host, file);
    const parent = path.dirname(target);
    if (!made.has(parent)) {
      attempt(parent, () => fs.mkdirSync(parent, { recursive: true }));
      made.add(parent);
    }
    attempt(target, () => fs.writeFileSync(target, content, { mode }));
  }
}

function startWriting() {
  writing = true;
  same = undefined;
  attempt(partial, () => {
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial);
  });
  made.add(partial);
  for (const m of received.splice(0)) write(m.host, m.files);
}

if (same === undefined) startWriting();
Atomics.add(state, PROGRESS, 1);

parentPort.on("message", (message) => {
  if (message.end === undefined) {
    if (Atomics.load(state, ABORT) === 0 && failure === undefined) {
      if (writing) {
        write(message.host, message.files);
      } else {
        received.push(message);
        let kept = true;
        try {
          kept = message.files.every(([file, content, mode]) => unchanged(`${message.host}${file}`, content, mode));
        } catch {
          kept = false;
        }
        if (kept) for (const [file] of message.files) same.delete(`${message.host}${file}`);
        else startWriting();
      }
    }
    Atomics.add(state, PROGRESS, 1);
    return;
  }
  if (Atomics.load(state, ABORT) === 0 && failure === undefined && !writing && same.size > 0) {
    // Every file is as it was, but the old preview has more (a guest that left the code).
    startWriting();
  }
  if (Atomics.load(state, ABORT) !== 0 || failure !== undefined) {
    try {
      fs.rmSync(partial, { recursive: true, force: true });
    } catch {
      // The failure already recorded (or the abort) is what the synth reports.
    }
  } else if (writing) {
    attempt(final, () => {
      fs.rmSync(final, { recursive: true, force: true });
      fs.renameSync(partial, final);
    });
  }
  reply.postMessage({ failure });
  reply.close();
  parentPort.close();
  Atomics.store(state, DONE, 1);
  Atomics.notify(state, DONE);
});
