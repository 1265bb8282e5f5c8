/**
 * Labs left behind by a process that ended without tearing them down
 * (SIGKILL, a crash, a CI job's timeout). Every lab records in
 * `/run/cdktf-xen-lab` which process owns it and where its folder is; the
 * next lab, or `cdktf-xen-lab clean`, removes every lab whose owner is gone:
 * the processes working in its folder (a deploy and its Terraform), its
 * hosts (their processes by PID, mounts and namespaces), its links and its
 * folder. A lab whose owner lives is never touched.
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

interface LabRecord {
  readonly prefix: string;
  readonly workdir: string;
  readonly owner: Owner;
}

/** What was removed of a lab whose owner was gone. */
export interface RemovedLab {
  /** The prefix of its namespaces and links. */
  readonly prefix: string;
  /** Its folder, now removed. */
  readonly workdir: string;
  /** The process that made it, which ended without tearing it down. */
  readonly ownerPid: number;
  /** Sandbox hosts removed (dom0s, clients, guests). */
  readonly hosts: number;
  /** Processes ended: those of its hosts and those working in its folder. */
  readonly processes: number;
}

/** Where a lab's hosts are made: in its folder, so that its record leads to all of them. */
export function labHostsDir(workdir: string): string {
  return path.join(workdir, "hosts");
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

/** Records that this process owns the lab `prefix`, whose folder is `workdir`; before the lab makes anything else. */
export function recordLab(prefix: string, workdir: string): void {
  const record: LabRecord = { prefix, workdir, owner: thisProcess() };
  try {
    fs.mkdirSync(LAB_RECORDS, { recursive: true, mode: 0o700 });
    const file = recordFile(prefix);
    // Whole or not at all, and never over another lab's record (a link fails where the name exists).
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(record));
    try {
      fs.linkSync(`${file}.tmp`, file);
    } finally {
      fs.rmSync(`${file}.tmp`, { force: true });
    }
  } catch (e) {
    throw new Error(`the lab records its owner in ${LAB_RECORDS}, so that a lab whose process is killed is removed by the next: ${(e as Error).message} (the lab needs root)`);
  }
}

/** The lab `prefix` is gone: its record with it. */
export function forgetLab(prefix: string): void {
  fs.rmSync(recordFile(prefix), { force: true });
}

/**
 * Removes every lab whose owner is gone, and says what went. A record being
 * removed is renamed first, with the remover's PID in its name, so that two
 * processes never remove one lab at once; one whose remover died too is taken
 * over.
 */
export function removeDeadLabs(): RemovedLab[] {
  if (!fs.existsSync(LAB_RECORDS)) return [];
  const me = thisProcess();
  const removed: RemovedLab[] = [];
  for (const entry of fs.readdirSync(LAB_RECORDS).sort()) {
    const m = /^(cx\w+)\.json(?:\.removing-(\d+)-(\d+))?$/.exec(entry);
    if (!m) continue;
    const file = path.join(LAB_RECORDS, entry);
    let record: LabRecord;
    try {
      record = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
      continue; // Taken by another remover meanwhile.
    }
    // Only a record that names its own lab's folder leads to anything being removed.
    if (record.prefix !== m[1] || !path.isAbsolute(record.workdir) || !path.basename(record.workdir).startsWith(`cdktf-xen-lab-${m[1]}-`)) continue;
    if (alive(record.owner)) continue;
    if (m[2] !== undefined && alive({ pid: Number(m[2]), start: m[3], boot: me.boot })) continue;
    const claimed = path.join(LAB_RECORDS, `${m[1]}.json.removing-${me.pid}-${me.start}`);
    try {
      fs.renameSync(file, claimed);
    } catch {
      continue; // Another process claimed it first.
    }
    removed.push(removeLab(record));
    fs.rmSync(claimed, { force: true });
  }
  return removed;
}

/** Everything of a lab whose owner is gone. */
function removeLab(record: LabRecord): RemovedLab {
  const { prefix, workdir } = record;
  // A deploy runs cdktf and Terraform in the lab's folder, in a session of their own: they outlive the owner.
  const working = workingIn(workdir);
  for (const pid of working) killQuietly(pid);
  const hosts = SandboxHost.madeIn(labHostsDir(workdir));
  let processes = working.length;
  for (const host of hosts) {
    processes += host.pids().length;
    host.destroy();
  }
  // The management links are gone with their dom0's namespace; one made just before its dom0 was killed may not be.
  const links = spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).stdout ?? "";
  const management = new RegExp(`^${prefix}m\\d+$`);
  for (const [, name] of links.matchAll(/^\d+: ([^:@\s]+)[@:]/gm)) if (management.test(name)) spawnSync("ip", ["link", "del", name]);
  fs.rmSync(workdir, { recursive: true, force: true });
  return { prefix, workdir, ownerPid: record.owner.pid, hosts: hosts.length, processes };
}

/** What was removed of a lab left behind, in a line. */
export function removedLabLine(r: RemovedLab): string {
  return `removed lab ${r.prefix}, left behind by process ${r.ownerPid} (it ended without tearing the lab down): ${r.hosts} hosts, ${r.processes} processes, its namespaces, links, mounts and ${r.workdir}`;
}
