/**
 * The host-file preview (`hosts/<hostId>/<path>` beside cdk.tf.json), written
 * by a worker thread (preview-writer.ts) while cdktf synthesizes the stack:
 * creating thousands of files costs the file system more than rendering them
 * costs us, and it need not wait for cdktf. Files that differ from the old
 * preview are written into a directory of their own and put in its place
 * only when the synth succeeds; a failed synth leaves the old preview as it
 * was.
 */
import * as path from "path";
import type { HostFile } from "../model";
import type { PreviewMessage, PreviewPlaces } from "./preview-writer";
import { SyncWorker } from "./sync-worker";

/** The preview of one stack being written. */
export class PreviewWriter {
  private readonly worker: SyncWorker;

  /** Starts comparing with `<dir>/hosts` and writing what differs into `<dir>/.hosts.partial`; `dir` must exist. */
  constructor(private readonly dir: string) {
    this.worker = new SyncWorker(path.join(__dirname, "preview-writer"), { partial: path.join(dir, ".hosts.partial"), final: path.join(dir, "hosts") } satisfies PreviewPlaces);
  }

  /** Queues the files of one host, under `hostId/`. */
  add(hostId: string, files: readonly HostFile[]): void {
    this.worker.send({ host: hostId, files: files.map((f) => [f.path, f.content, parseInt(f.mode, 8)]) } satisfies PreviewMessage);
  }

  /** Waits until every queued file is compared or written, then brings `<dir>/hosts` up to date. */
  finish(): void {
    const failure = this.end();
    if (failure !== undefined) throw new Error(`cdktf-xen: writing the host preview in ${path.join(this.dir, "hosts")} failed: ${failure}`);
  }

  /** Drops what is queued and removes what was written; the old preview stays. */
  abort(): void {
    this.worker.cancel();
    this.end();
  }

  private end(): string | undefined {
    try {
      return this.worker.wait<string | undefined>(this.worker.ask({ end: true } satisfies PreviewMessage));
    } finally {
      this.worker.stop();
    }
  }
}
