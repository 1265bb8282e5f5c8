/**
 * Which recorded runs (labs, test runs) are removed, and which are left
 * alone: records in /run/cdktf-xen-lab with owners (and removers) that are
 * child processes of this test, alive or ended; and a real jest run of this
 * project's, killed. Needs root (/run). The whole removal of a real lab is in
 * lab.test.ts and package.test.ts.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { addNetns, deleteNetns, forgetRun, hostsDir, LAB_RECORDS, recordRun, removeDeadRuns } from "../../lib/lab/leftovers";
import { killQuietly, running, statFields } from "../../lib/lab/processes";
import { SandboxHost } from "../../lib/lab/sandbox-host";
import { describeWith, run, tempDir } from "../support/tools";

const MINUTES = 60 * 1000;

const boot = () => fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
const startOf = (pid: number) => statFields(pid)![19];

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
  /** A recorded lab (or test run) `prefix` with a folder of its own (holding one file; in `inside`, else in the temporary directory), under the record's `name`. */
  const record = (prefix: string, owner: object, opts: { name?: string; folder?: string; kind?: "lab" | "test"; inside?: string } = {}) => {
    const workdir = opts.folder ?? fs.mkdtempSync(path.join(opts.inside ?? os.tmpdir(), `cdktf-xen-${opts.kind ?? "lab"}-${prefix}-`));
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
      const removed = removeDeadRuns().filter((r) => r.prefix.startsWith("cx0t"));
      expect(removed).toEqual([
        { kind: "lab", prefix: "cx0tgone", workdir: gone.workdir, ownerPid: ended.owner.pid, hosts: 0, namespaces: 0, processes: 0 },
        { kind: "lab", prefix: "cx0treus", workdir: reused.workdir, ownerPid: living.owner.pid, hosts: 0, namespaces: 0, processes: 0 },
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
      expect(removeDeadRuns().filter((x) => x.prefix.startsWith("cx0t"))).toEqual([]);
      expect([fs.existsSync(claimed.workdir), fs.existsSync(claimed.file)]).toEqual([true, true]);
      await remover.end();
      expect(removeDeadRuns().filter((x) => x.prefix.startsWith("cx0t")).map((x) => x.prefix)).toEqual(["cx0tclmd"]);
      expect([fs.existsSync(claimed.workdir), fs.existsSync(claimed.file)]).toEqual([false, false]);
    } finally {
      await remover.end();
    }
  });

  it("a lab's record is never written over another's of the same prefix, and goes with forgetRun", () => {
    const first = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-lab-cx0tsame-"));
    const second = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-lab-cx0tsame-"));
    const file = path.join(LAB_RECORDS, "cx0tsame.json");
    made.push(first, second, file);
    recordRun("cx0tsame", first);
    expect(() => recordRun("cx0tsame", second)).toThrow(/^the lab records its owner in \/run\/cdktf-xen-lab, so that a lab whose process is killed is removed by the next: EEXIST/);
    expect([JSON.parse(fs.readFileSync(file, "utf8")).workdir, fs.readdirSync(LAB_RECORDS).filter((f) => f.startsWith("cx0tsame"))]).toEqual([first, ["cx0tsame.json"]]);
    forgetRun("cx0tsame");
    expect(fs.existsSync(file)).toBe(false);
  });

  it("a run's record names a folder made for it: another folder is refused", () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "not-a-lab-"));
    made.push(elsewhere);
    for (const [prefix, folder] of [["cx0tfold", elsewhere], ["cx0tfold", path.join(os.tmpdir(), "cdktf-xen-lab-cx0tother-abcdef")], ["x/../cx", path.join(os.tmpdir(), "cdktf-xen-lab-x/../cx-abcdef")], ["cx0tfold", "cdktf-xen-test-cx0tfold-abcdef"]]) {
      expect(() => recordRun(prefix, folder)).toThrow(`a run's prefix is cx and letters or digits, and its folder cdktf-xen-lab-PREFIX-... or cdktf-xen-test-PREFIX-...: not ${prefix} and ${folder}`);
    }
    expect(fs.readdirSync(LAB_RECORDS).filter((f) => f.startsWith("cx0tfold") || f.startsWith("x"))).toEqual([]);
  });

  it("a record that names a folder not of its own lab leads to nothing being removed", async () => {
    const owner = aProcess();
    await owner.end();
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "not-a-lab-"));
    const r = record("cx0tfrgn", owner.owner, { folder: elsewhere });
    expect(removeDeadRuns().filter((x) => x.prefix.startsWith("cx0t"))).toEqual([]);
    expect([fs.existsSync(elsewhere), fs.existsSync(path.join(elsewhere, "state.json")), fs.existsSync(r.file)]).toEqual([true, true, true]);
  });
});

describeWith(["root", "nsenter", "unshare", "ip"], "test runs left behind: their namespaces and sandbox hosts", () => {
  const namespaces = () => run("ip", ["netns", "list"]).stdout;
  /** What a test left of a run in `folder` when it failed: its processes, hosts, namespace, records and folder. */
  const removeLeft = (folder: string, netns: string, pids: readonly number[], files: readonly string[]) => {
    for (const pid of pids) killQuietly(pid);
    for (const host of SandboxHost.madeIn(hostsDir(folder))) host.destroy();
    deleteNetns(folder, netns);
    for (const f of [...files, folder]) fs.rmSync(f, { recursive: true, force: true });
  };

  it("a test run whose owner ended goes (a namespace named in its folder and what runs in it, its sandbox hosts, a lab in its folder first), but not while a living lab is in its folder", async () => {
    const owner = aProcess();
    const labOwner = aProcess();
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-test-cx0ttrun-"));
    const file = path.join(LAB_RECORDS, "cx0ttrun.json");
    const lab = fs.mkdtempSync(path.join(folder, "cdktf-xen-lab-cx0tinlb-"));
    const labFile = path.join(LAB_RECORDS, "cx0tinlb.json");
    const started: number[] = [];
    try {
      addNetns(folder, "cx0ttns");
      const inNamespace = spawn("ip", ["netns", "exec", "cx0ttns", "sleep", "600"], { detached: true, stdio: "ignore" });
      started.push(inNamespace.pid!);
      const host = SandboxHost.create("cx0tth", hostsDir(folder));
      const onHost = Number(host.sh("setsid sleep 600 >/dev/null 2>&1 </dev/null & echo $!").stdout);
      started.push(onHost);
      fs.writeFileSync(file, JSON.stringify({ prefix: "cx0ttrun", workdir: folder, owner: owner.owner }));
      fs.writeFileSync(labFile, JSON.stringify({ prefix: "cx0tinlb", workdir: lab, owner: labOwner.owner }));
      await owner.end();
      // The lab in its folder lives: the test run stays, all of it.
      expect(removeDeadRuns().filter((r) => r.prefix.startsWith("cx0t"))).toEqual([]);
      expect([fs.existsSync(file), fs.existsSync(folder), namespaces().includes("cx0ttns"), namespaces().includes("cx0tth"), started.filter(running).length]).toEqual([true, true, true, true, 2]);
      await labOwner.end();
      expect(removeDeadRuns().filter((r) => r.prefix.startsWith("cx0t"))).toEqual([
        { kind: "lab", prefix: "cx0tinlb", workdir: lab, ownerPid: labOwner.owner.pid, hosts: 0, namespaces: 0, processes: 0 },
        { kind: "test run", prefix: "cx0ttrun", workdir: folder, ownerPid: owner.owner.pid, hosts: 1, namespaces: 1, processes: 2 },
      ]);
      expect([fs.existsSync(file), fs.existsSync(labFile), fs.existsSync(folder), namespaces().includes("cx0ttns"), namespaces().includes("cx0tth"), started.filter(running)]).toEqual([false, false, false, false, false, []]);
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain("cx0tth");
    } finally {
      await owner.end();
      await labOwner.end();
      removeLeft(folder, "cx0ttns", started, [file, labFile]);
    }
  });

  it("a namespace another has is not named in the run's folder: ip's failure takes the name back", () => {
    const first = tempDir();
    const second = tempDir();
    try {
      addNetns(first.dir, "cx0ttdup");
      expect(() => addNetns(second.dir, "cx0ttdup")).toThrow(/^ip netns add cx0ttdup: .*File exists/);
      expect([fs.readdirSync(path.join(first.dir, "netns")), fs.readdirSync(path.join(second.dir, "netns"))]).toEqual([["cx0ttdup"], []]);
    } finally {
      deleteNetns(first.dir, "cx0ttdup");
      first.remove();
      second.remove();
    }
    expect(namespaces()).not.toContain("cx0ttdup");
  });

  it("a jest run of this project's tests killed with SIGKILL: the next run's set-up removes what its tests made, says so in a line, and the run after it finds nothing", async () => {
    const root = path.resolve(__dirname, "..", "..");
    const work = tempDir();
    const readyFile = path.join(work.dir, "ready.json");
    // This project's jest, its config and its global set-up, on one test that makes a namespace and a sandbox host and waits.
    const jest = spawn(process.execPath, [require.resolve("jest/bin/jest"), "--config", path.join(root, "jest.config.js"), "--ci", "--testMatch", "**/test/fixtures/killed-run/*.fixture.ts"], {
      cwd: root,
      env: { ...process.env, READY_FILE: readyFile },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    jest.stderr!.on("data", (b) => (stderr += b));
    const exited = new Promise<string>((resolve) => jest.on("exit", (code, signal) => resolve(`${code} ${signal}`)));
    let ready: { pid: number; prefix: string; dir: string; netns: string; host: string; processes: number[] } | undefined;
    try {
      const started = Date.now();
      while (!fs.existsSync(readyFile) && jest.exitCode === null && Date.now() - started < 4 * MINUTES) await new Promise((r) => setTimeout(r, 200));
      expect([fs.existsSync(readyFile), stderr.slice(-3000)]).toEqual([true, expect.any(String)]);
      ready = JSON.parse(fs.readFileSync(readyFile, "utf8"));
      const r = ready!;
      // The test ran in jest's own process, which recorded the run.
      expect([r.pid, r.prefix, fs.existsSync(path.join(LAB_RECORDS, `${r.prefix}.json`))]).toEqual([jest.pid, `cxt${jest.pid}`, true]);
      jest.kill("SIGKILL");
      expect(await exited).toBe("null SIGKILL");
      // Left behind: the namespace, the host, the processes in them, the record.
      expect([namespaces().includes(r.netns), namespaces().includes(r.host), r.processes.filter(running).length, fs.existsSync(r.dir)]).toEqual([true, true, 2, true]);
      const nextRun = (): { status: number | null; stderr: string } => {
        const script = [
          `require(${JSON.stringify(require.resolve("ts-node/register/transpile-only"))});`,
          `require(${JSON.stringify(path.join(root, "test", "support", "global-setup"))}).default();`,
          `require(${JSON.stringify(path.join(root, "test", "support", "global-teardown"))}).default();`,
        ].join("\n");
        const next = spawnSync(process.execPath, ["-e", script], { cwd: root, env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json"), TMPDIR: work.dir }, encoding: "utf8" });
        return { status: next.status, stderr: next.stderr };
      };
      const next = nextRun();
      expect(next).toEqual({
        status: 0,
        stderr: expect.stringMatching(new RegExp(`^removed test run ${r.prefix}, left behind by process ${r.pid} \\(it ended without tearing the test run down\\): 1 hosts, 1 other namespaces, 2 processes, its namespaces, links, mounts and ${r.dir}\n$`)),
      });
      expect([namespaces().includes(r.netns), namespaces().includes(r.host), r.processes.filter(running), fs.existsSync(r.dir), fs.existsSync(path.join(LAB_RECORDS, `${r.prefix}.json`))]).toEqual([false, false, [], false, false]);
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(r.host);
      // The next run tore itself down: nothing of it is left for the one after.
      expect(nextRun()).toEqual({ status: 0, stderr: "" });
    } finally {
      jest.kill("SIGKILL");
      await exited;
      if (ready) removeLeft(ready.dir, ready.netns, ready.processes, [path.join(LAB_RECORDS, `${ready.prefix}.json`)]);
      work.remove();
    }
  }, 6 * MINUTES);
});
