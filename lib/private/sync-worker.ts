/**
 * Worker threads that a synth hands work to, and waits for without leaving
 * its synchronous call: cdktf's synth is synchronous, so the main thread
 * blocks (Atomics.wait) until the answer it needs is there, and reads it
 * with receiveMessageOnPort. The worker's script is the compiled module
 * beside this one; run from the TypeScript sources (this repository's tests
 * and benchmarks), ts-node compiles it in the worker.
 */
import * as fs from "fs";
import { MessageChannel, MessagePort, parentPort, receiveMessageOnPort, Worker, workerData } from "worker_threads";

/** Cells of the state shared with the worker. */
const PROGRESS = 0;
const CANCEL = 1;

/** How long a worker may go without finishing a message before the synth gives up on it. */
const STALL_MS = 60_000;

/** Options of a SyncWorker. */
export interface SyncWorkerOptions {
  /**
   * How long the worker may go without finishing a message before wait() gives up.
   * @default 60 s
   */
  readonly stallMs?: number;
}

interface Envelope {
  readonly id?: number;
  readonly body: unknown;
}

interface Reply {
  readonly id: number;
  readonly value?: unknown;
  readonly error?: string;
}

/** The main thread's end of a worker. */
export class SyncWorker {
  private readonly state = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly replies = new Map<number, Reply>();
  private nextId = 1;

  private readonly stallMs: number;

  /** Starts `script` (a path without its extension), which calls serveSync; `data` is its workerData. */
  constructor(
    private readonly script: string,
    data?: unknown,
    options: SyncWorkerOptions = {},
  ) {
    this.stallMs = options.stallMs ?? STALL_MS;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const compiled = fs.existsSync(`${script}.js`);
    this.worker = new Worker(compiled ? `${script}.js` : `${script}.ts`, {
      workerData: { data, state: this.state, reply: port2 },
      transferList: [port2],
      execArgv: compiled ? [] : ["--require", require.resolve("ts-node/register/transpile-only")],
    });
    // Never what keeps a process alive: whoever needs an answer waits for it.
    this.worker.unref();
  }

  /** Queues a message that wants no answer (a failure in it comes with the next answer). */
  send(body: unknown): void {
    this.worker.postMessage({ body } satisfies Envelope);
  }

  /** Queues a message and returns the ticket to wait for its answer with. */
  ask(body: unknown): number {
    const id = this.nextId++;
    this.worker.postMessage({ id, body } satisfies Envelope);
    return id;
  }

  /** Tells the worker to drop what is queued (it reads this with `cancelled()`). */
  cancel(): void {
    Atomics.store(this.state, CANCEL, 1);
  }

  /** Blocks until the answer to `ticket` is there; throws what the worker threw. */
  wait<T>(ticket: number): T {
    let progress = Atomics.load(this.state, PROGRESS);
    let since = Date.now();
    for (;;) {
      // The worker answers, then counts: read the count first, so that no answer slips between.
      const seen = Atomics.load(this.state, PROGRESS);
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) this.replies.set((m.message as Reply).id, m.message as Reply);
      const reply = this.replies.get(ticket);
      if (reply) {
        this.replies.delete(ticket);
        if (reply.error !== undefined) throw new Error(reply.error);
        return reply.value as T;
      }
      Atomics.wait(this.state, PROGRESS, seen, Math.min(1000, this.stallMs));
      const now = Atomics.load(this.state, PROGRESS);
      if (now !== progress) {
        progress = now;
        since = Date.now();
      } else if (Date.now() - since > this.stallMs) {
        void this.worker.terminate();
        throw new Error(`cdktf-xen: a worker thread (${this.script}) made no progress for ${this.stallMs / 1000} s`);
      }
    }
  }

  /** Stops the worker. */
  stop(): void {
    this.port.close();
    void this.worker.terminate();
  }
}

/**
 * The worker's end: answers every message with `handle`'s value, in order.
 * `cancelled()` is true once the main thread called cancel().
 */
export function serveSync(handle: (body: any, cancelled: () => boolean) => unknown): void {
  const { state, reply } = workerData as { state: Int32Array; reply: MessagePort };
  const cancelled = () => Atomics.load(state, CANCEL) !== 0;
  let failure: string | undefined;
  const count = () => {
    Atomics.add(state, PROGRESS, 1);
    Atomics.notify(state, PROGRESS);
  };
  parentPort!.on("message", (m: Envelope) => {
    let value: unknown;
    try {
      value = handle(m.body, cancelled);
    } catch (e) {
      failure ??= e instanceof Error ? e.message : String(e);
    }
    if (m.id !== undefined) {
      reply.postMessage({ id: m.id, value, error: failure } satisfies Reply);
      failure = undefined;
    }
    count();
  });
  count();
}

/** The data the main thread gave the worker. */
export function syncWorkerData<T>(): T {
  return (workerData as { data: T }).data;
}
