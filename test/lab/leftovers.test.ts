/**
 * Which recorded labs are removed, and which are left alone: records in
 * /run/cdktf-xen-lab with owners (and removers) that are child processes of
 * this test, alive or ended. Needs root (/run). The whole removal of a real
 * lab is in lab.test.ts and package.test.ts.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { forgetLab, LAB_RECORDS, recordLab, removeDeadLabs } from "../../lib/lab/leftovers";
import { describeWith } from "../support/tools";

const boot = () => fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
const startOf = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
};

/** A process that lives until `end`, with what tells it apart from a later one of the same PID. */
function aProcess(): { owner: { pid: number; start: string; boot: string }; end: () => Promise<void> } {
  const child = spawn("sleep", ["600"], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return {
    owner: { pid: child.pid!, start: startOf(child.pid!), boot: boot() },
    end: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

describeWith(["root"], "labs left behind: which are removed", () => {
  const made: string[] = [];
  /** A recorded lab `prefix` with a folder of its own (holding one file), under the record's `name`. */
  const record = (prefix: string, owner: object, opts: { name?: string; folder?: string } = {}) => {
    const workdir = opts.folder ?? fs.mkdtempSync(path.join(os.tmpdir(), `cdktf-xen-lab-${prefix}-`));
    fs.writeFileSync(path.join(workdir, "state.json"), "{}");
    fs.mkdirSync(LAB_RECORDS, { recursive: true, mode: 0o700 });
    const file = path.join(LAB_RECORDS, opts.name ?? `${prefix}.json`);
    fs.writeFileSync(file, JSON.stringify({ prefix, workdir, owner }));
    made.push(file, workdir);
    return { workdir, file };
  };
  afterEach(() => {
    for (const f of made.splice(0)) fs.rmSync(f, { recursive: true, force: true });
  });

  it("a lab whose owner ended goes, folder and record; one whose owner lives stays, and so does one whose owner's PID came back as another process", async () => {
    const ended = aProcess();
    const living = aProcess();
    try {
      await ended.end();
      const gone = record("cx0tgone", ended.owner);
      const kept = record("cx0tlive", living.owner);
      // The PID of a living process, with another start time: the owner is not that process.
      const reused = record("cx0treus", { ...living.owner, start: String(Number(living.owner.start) - 1) });
      const removed = removeDeadLabs().filter((r) => r.prefix.startsWith("cx0t"));
      expect(removed).toEqual([
        { prefix: "cx0tgone", workdir: gone.workdir, ownerPid: ended.owner.pid, hosts: 0, processes: 0 },
        { prefix: "cx0treus", workdir: reused.workdir, ownerPid: living.owner.pid, hosts: 0, processes: 0 },
      ]);
      expect([gone, kept, reused].map((r) => [fs.existsSync(r.workdir), fs.existsSync(r.file)])).toEqual([
        [false, false],
        [true, true],
        [false, false],
      ]);
    } finally {
      await living.end();
    }
  });

  it("a lab being removed by a living process is left to it; one whose remover ended too is taken over", async () => {
    const owner = aProcess();
    const remover = aProcess();
    try {
      await owner.end();
      const r = remover.owner;
      const claimed = record("cx0tclmd", owner.owner, { name: `cx0tclmd.json.removing-${r.pid}-${r.start}` });
      expect(removeDeadLabs().filter((x) => x.prefix.startsWith("cx0t"))).toEqual([]);
      expect([fs.existsSync(claimed.workdir), fs.existsSync(claimed.file)]).toEqual([true, true]);
      await remover.end();
      expect(removeDeadLabs().filter((x) => x.prefix.startsWith("cx0t")).map((x) => x.prefix)).toEqual(["cx0tclmd"]);
      expect([fs.existsSync(claimed.workdir), fs.existsSync(claimed.file)]).toEqual([false, false]);
    } finally {
      await remover.end();
    }
  });

  it("a lab's record is never written over another's of the same prefix, and goes with forgetLab", () => {
    const first = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-lab-cx0tsame-"));
    const second = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-lab-cx0tsame-"));
    const file = path.join(LAB_RECORDS, "cx0tsame.json");
    made.push(first, second, file);
    recordLab("cx0tsame", first);
    expect(() => recordLab("cx0tsame", second)).toThrow(/^the lab records its owner in \/run\/cdktf-xen-lab, so that a lab whose process is killed is removed by the next: EEXIST/);
    expect([JSON.parse(fs.readFileSync(file, "utf8")).workdir, fs.readdirSync(LAB_RECORDS).filter((f) => f.startsWith("cx0tsame"))]).toEqual([first, ["cx0tsame.json"]]);
    forgetLab("cx0tsame");
    expect(fs.existsSync(file)).toBe(false);
  });

  it("a record that names a folder not of its own lab leads to nothing being removed", async () => {
    const owner = aProcess();
    await owner.end();
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "not-a-lab-"));
    const r = record("cx0tfrgn", owner.owner, { folder: elsewhere });
    expect(removeDeadLabs().filter((x) => x.prefix.startsWith("cx0t"))).toEqual([]);
    expect([fs.existsSync(elsewhere), fs.existsSync(path.join(elsewhere, "state.json")), fs.existsSync(r.file)]).toEqual([true, true, true]);
  });
});
