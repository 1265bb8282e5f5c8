/** The worker threads the synth waits for (the preview's writer): answers, failures, cancel, and a worker that stalls. */
import * as path from "path";
import { SyncWorker } from "../lib/private/sync-worker";

const script = path.join(__dirname, "support", "echo-worker");

describe("SyncWorker", () => {
  it("answers in order, each to its ticket, with the data it was started with", () => {
    const w = new SyncWorker(script, "re: ");
    try {
      const a = w.ask({ echo: "a" });
      const b = w.ask({ echo: "b" });
      expect(w.wait(b)).toBe("re: b");
      expect(w.wait(a)).toBe("re: a");
      w.cancel();
      expect(w.wait(w.ask({ echo: "c" }))).toBe("re: c (cancelled)");
    } finally {
      w.stop();
    }
  });

  it("a failure in a message that wants no answer comes with the next answer", () => {
    const w = new SyncWorker(script, "");
    try {
      w.send({ fail: "disk full" });
      expect(() => w.wait(w.ask({ echo: "x" }))).toThrow("disk full");
      expect(w.wait(w.ask({ echo: "y" }))).toBe("y");
    } finally {
      w.stop();
    }
  });

  it("a worker that makes no progress is given up on, naming it", () => {
    const w = new SyncWorker(script, "", { stallMs: 1500 });
    w.wait(w.ask({ echo: "started" }));
    expect(() => w.wait(w.ask({ hang: true }))).toThrow(`cdktf-xen: a worker thread (${script}) made no progress for 1.5 s`);
  });
});
