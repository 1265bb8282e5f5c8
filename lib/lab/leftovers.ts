/**
 * Runs left behind by a process that ended without tearing them down
 * (SIGKILL, a crash, a CI job's timeout): labs, and this project's test runs,
 * which make sandbox hosts and namespaces of their own. Every run records in
 * `/run/cdktf-xen-lab` which process owns it and where its folder is, and
 * makes what it makes from its folder: sandbox hosts in `hosts/`, and other
 * network namespaces named in `netns/` before they are made. The next lab or
 * test run, or `cdktf-xen-lab clean`, removes every run whose owner is gone:
 * the processes working in its folder (a deploy and its Terraform), its
 * hosts (their processes by PID, mounts and namespaces), its other
 * namespaces and the processes in them, its links and its folder. A run
 * whose owner lives is never touched.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { killQuietly, statFields, workingIn } from "./processes";
import { SandboxHost } from "./sandbox-host";

/** Where each lab records its owner (on tmpfs: a reboot forgets the labs with the namespaces). */
export const LAB_RECORDS = "/run/cdktf-xen-lab";

/** A process, told apart from a later one that gets its PID: its start time and the boot it started in. */
interface Owner {
  readonly pid: number;
  readonly start: string;
  readonly boot: string;
}

interface RunRecord {
  readonly prefix: string;
  readonly workdir: string;
  readonly owner: Owner;
}

/** The kinds of run, by the word in their folder's name (`cdktf-xen-WORD-PREFIX-...`). */
const KINDS = { lab: "lab", test: "test run" } as const;

/** What was removed of a run whose owner was gone. */
export interface RemovedRun {
  /** A lab, or a test run of this project. */
  readonly kind: (typeof KINDS)[keyof typeof KINDS];
  /** The prefix of its namespaces and links. */
  readonly prefix: string;
  /** Its folder, now removed. */
  readonly workdir: string;
  /** The process that made it, which ended without tearing it down. */
  readonly ownerPid: number;
  /** Sandbox hosts removed (dom0s, clients, guests). */
  readonly hosts: number;
  /** Other network namespaces removed (those named in its folder's `netns/`). */
  readonly namespaces: number;
  /** Processes ended: those of its hosts and namespaces, and those working in its folder. */
  readonly processes: number;
}

/** What the run `prefix` whose folder is `workdir` is, by its folder's name; nothing when the folder is not named for it. */
function kindOf(prefix: string, workdir: unknown): RemovedRun["kind"] | undefined {
  if (typeof workdir !== "string" || !path.isAbsolute(workdir)) return undefined;
  const word = new RegExp(`^cdktf-xen-(lab|test)-${prefix}-`).exec(path.basename(workdir))?.[1] as keyof typeof KINDS | undefined;
  return word && KINDS[word];
}

/** Where a run's sandbox hosts are made: in its folder, so that its record leads to all of them. */
export function hostsDir(workdir: string): string {
  return path.join(workdir, "hosts");
}

/** A network namespace's name, as a run names it in its folder. */
const NETNS_NAME = /^[A-Za-z0-9_-]{1,15}$/;

/** Where a run names the other network namespaces it makes, a file each. */
function netnsDir(workdir: string): string {
  return path.join(workdir, "netns");
}

/**
 * Makes the network namespace `name` for the run whose folder is `workdir`,
 * named there first, so that the run's record leads to it even if the run is
 * killed the moment it is made. The name is taken back when `ip` fails
 * (the namespace may be another's).
 */
export function addNetns(workdir: string, name: string): void {
  if (!NETNS_NAME.test(name)) throw new Error(`network namespace name ${JSON.stringify(name)}`);
  fs.mkdirSync(netnsDir(workdir), { recursive: true });
  const file = path.join(netnsDir(workdir), name);
  fs.writeFileSync(file, "", { flag: "wx" });
  const r = spawnSync("ip", ["netns", "add", name], { encoding: "utf8" });
  if (r.status !== 0) {
    fs.rmSync(file, { force: true });
    throw new Error(`ip netns add ${name}: ${r.stderr || r.error?.message}`);
  }
}

/** Removes the network namespace `name` of the run whose folder is `workdir` (see `addNetns`), and its name there. */
export function deleteNetns(workdir: string, name: string): void {
  spawnSync("ip", ["netns", "del", name]);
  fs.rmSync(path.join(netnsDir(workdir), name), { force: true });
}

function bootId(): string {
  return fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
}

/** The start time of `pid` (clock ticks after boot, the 22nd field of its stat), or undefined when it is gone. */
function startOf(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

function thisProcess(): Owner {
  return { pid: process.pid, start: startOf(process.pid)!, boot: bootId() };
}

function alive(o: Owner): boolean {
  return o.boot === bootId() && startOf(o.pid) === o.start;
}

function recordFile(prefix: string): string {
  return path.join(LAB_RECORDS, `${prefix}.json`);
}

/**
 * Records that this process owns the run `prefix` (a lab, or a test run),
 * whose folder is `workdir` (`cdktf-xen-lab-PREFIX-...` or
 * `cdktf-xen-test-PREFIX-...`); before the run makes anything else.
 */
export function recordRun(prefix: string, workdir: string): void {
  const kind = /^cx\w+$/.test(prefix) ? kindOf(prefix, workdir) : undefined;
  if (!kind) throw new Error(`a run's prefix is cx and letters or digits, and its folder cdktf-xen-lab-PREFIX-... or cdktf-xen-test-PREFIX-...: not ${prefix} and ${workdir}`);
  const record: RunRecord = { prefix, workdir, owner: thisProcess() };
  try {
    fs.mkdirSync(LAB_RECORDS, { recursive: true, mode: 0o700 });
    const file = recordFile(prefix);
    // Whole or not at all, and never over another run's record (a link fails where the name exists).
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(record));
    try {
      fs.linkSync(`${file}.tmp`, file);
    } finally {
      fs.rmSync(`${file}.tmp`, { force: true });
    }
  } catch (e) {
    throw new Error(`the ${kind} records its owner in ${LAB_RECORDS}, so that a ${kind} whose process is killed is removed by the next: ${(e as Error).message} (the ${kind} needs root)`);
  }
}

/** The run `prefix` is torn down: its record goes with it. */
export function forgetRun(prefix: string): void {
  fs.rmSync(recordFile(prefix), { force: true });
}

/**
 * Removes every run whose owner is gone, and says what went; a run whose
 * folder is inside another's (a lab a test run made) before the other, and
 * one whose folder holds a living run's folder not at all (not yet). A record
 * being removed is renamed first, with the remover's PID in its name, so that
 * two processes never remove one run at once; one whose remover died too is
 * taken over.
 */
export function removeDeadRuns(): RemovedRun[] {
  if (!fs.existsSync(LAB_RECORDS)) return [];
  const me = thisProcess();
  const dead: { record: RunRecord; kind: RemovedRun["kind"]; file: string; claimed: string }[] = [];
  const living: string[] = [];
  for (const entry of fs.readdirSync(LAB_RECORDS)) {
    const m = /^(cx\w+)\.json(?:\.removing-(\d+)-(\d+))?$/.exec(entry);
    if (!m) continue;
    const file = path.join(LAB_RECORDS, entry);
    let record: RunRecord;
    try {
      record = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
      continue; // Taken by another remover meanwhile.
    }
    // Only a record that names its own run's folder leads to anything being removed.
    const kind = record.prefix === m[1] ? kindOf(m[1], record.workdir) : undefined;
    if (!kind) continue;
    if (alive(record.owner) || (m[2] !== undefined && alive({ pid: Number(m[2]), start: m[3], boot: me.boot }))) {
      living.push(record.workdir);
      continue;
    }
    dead.push({ record, kind, file, claimed: path.join(LAB_RECORDS, `${m[1]}.json.removing-${me.pid}-${me.start}`) });
  }
  // A folder inside another is deeper: the deepest go first, then by prefix.
  const depth = (d: (typeof dead)[number]) => d.record.workdir.split("/").length;
  dead.sort((a, b) => depth(b) - depth(a) || (a.record.prefix < b.record.prefix ? -1 : 1));
  const removed: RemovedRun[] = [];
  for (const { record, kind, file, claimed } of dead) {
    if (living.some((w) => w.startsWith(`${record.workdir}/`))) continue;
    try {
      fs.renameSync(file, claimed);
    } catch {
      continue; // Another process claimed it first.
    }
    removed.push(removeRun(record, kind));
    fs.rmSync(claimed, { force: true });
  }
  return removed;
}

/** Everything of a run whose owner is gone. */
function removeRun(record: RunRecord, kind: RemovedRun["kind"]): RemovedRun {
  const { prefix, workdir } = record;
  // A deploy runs cdktf and Terraform in the lab's folder, in a session of their own: they outlive the owner.
  const working = workingIn(workdir);
  for (const pid of working) killQuietly(pid);
  const hosts = SandboxHost.madeIn(hostsDir(workdir));
  let processes = working.length;
  for (const host of hosts) {
    processes += host.pids().length;
    host.destroy();
  }
  const namespaces = fs.existsSync(netnsDir(workdir)) ? fs.readdirSync(netnsDir(workdir)).filter((n) => NETNS_NAME.test(n)) : [];
  for (const name of namespaces) {
    const inside = (spawnSync("ip", ["netns", "pids", name], { encoding: "utf8" }).stdout ?? "").split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
    for (const pid of inside) killQuietly(pid);
    processes += inside.length;
    deleteNetns(workdir, name);
  }
  // The management links are gone with their dom0's namespace; one made just before its dom0 was killed may not be.
  const links = spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).stdout ?? "";
  const management = new RegExp(`^${prefix}m\\d+$`);
  for (const [, name] of links.matchAll(/^\d+: ([^:@\s]+)[@:]/gm)) if (management.test(name)) spawnSync("ip", ["link", "del", name]);
  fs.rmSync(workdir, { recursive: true, force: true });
  return { kind, prefix, workdir, ownerPid: record.owner.pid, hosts: hosts.length, namespaces: namespaces.length, processes };
}

/** What was removed of a run left behind, in a line. */
export function removedRunLine(r: RemovedRun): string {
  const namespaces = r.namespaces ? `${r.namespaces} other namespaces, ` : "";
  return `removed ${r.kind} ${r.prefix}, left behind by process ${r.ownerPid} (it ended without tearing the ${r.kind} down): ${r.hosts} hosts, ${namespaces}${r.processes} processes, its namespaces, links, mounts and ${r.workdir}`;
}
