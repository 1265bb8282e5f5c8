/**
 * The host-file preview (`hosts/<hostId>/<path>` beside cdk.tf.json), written
 * by a worker thread while cdktf synthesizes the stack: creating thousands of
 * files costs the file system more than rendering them costs us, and it need
 * not wait for cdktf. The files go into a directory of their own that
 * replaces the old preview only when the synth succeeds; a failed synth
 * leaves the old preview as it was.
 */
import * as path from "path";
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from "worker_threads";
import type { HostFile } from "../model";

/** Cells of the state shared with the worker (see preview-writer.cjs). */
const DONE = 0;
const PROGRESS = 1;
const ABORT = 2;

/** How long the worker may go without writing a host's files before the synth gives up on it. */
const STALL_MS = 60_000;

/** The preview of one stack being written. */
export class PreviewWriter {
  private readonly state = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  private readonly worker: Worker;
  private readonly reply: MessagePort;

  /** Starts writing into `<dir>/.hosts.partial`, to become `<dir>/hosts`; `dir` must exist. */
  constructor(private readonly dir: string) {
    const channel = new MessageChannel();
    this.reply = channel.port1;
    this.worker = new Worker(path.join(__dirname, "preview-writer.cjs"), {
      workerData: { partial: path.join(dir, ".hosts.partial"), final: path.join(dir, "hosts"), state: this.state, reply: channel.port2 },
      transferList: [channel.port2],
    });
    // Never what keeps a process alive: finish() and abort() wait for it.
    this.worker.unref();
  }

  /** Queues the files of one host, under `hostId/`. */
  add(hostId: string, files: readonly HostFile[]): void {
    this.worker.postMessage({ host: hostId, files: files.map((f) => [f.path, f.content, parseInt(f.mode, 8)]) });
  }

  /** Waits until every queued file is written, then puts the new preview in place of the old one. */
  finish(): void {
    const failure = this.end();
    if (failure !== undefined) throw new Error(`cdktf-xen: writing the host preview in ${path.join(this.dir, "hosts")} failed: ${failure}`);
  }

  /** Drops what is queued and removes what was written; the old preview stays. */
  abort(): void {
    Atomics.store(this.state, ABORT, 1);
    this.end();
  }

  private end(): string | undefined {
    this.worker.postMessage({ end: true });
    let progress = Atomics.load(this.state, PROGRESS);
    let since = Date.now();
    while (Atomics.wait(this.state, DONE, 0, 1000) === "timed-out") {
      const now = Atomics.load(this.state, PROGRESS);
      if (now !== progress) {
        progress = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        void this.worker.terminate();
        return `its writer (a worker thread running ${path.join(__dirname, "preview-writer.cjs")}) made no progress for ${STALL_MS / 1000} s`;
      }
    }
    const answer = receiveMessageOnPort(this.reply)?.message as { failure?: string } | undefined;
    this.reply.close();
    void this.worker.terminate();
    return answer?.failure;
  }
}
