/** The machine's processes as /proc shows them: the lab finds what it started by PID, never by name. */
import * as fs from "fs";

/** The PIDs of the processes that `has` takes (each asked with its PID; one that ends meanwhile is left out). */
export function processesWhere(has: (pid: number) => boolean): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (has(Number(entry))) out.push(Number(entry));
    } catch {
      // Ended meanwhile, or not ours to read.
    }
  }
  return out;
}

/** The fields of `/proc/PID/stat` after the command's name (the first is its state), or undefined when it is gone. */
export function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs: there, and not a zombie waiting to be reaped. */
export function running(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== "Z";
}

/** The processes below `pid`: children before their parents' parents. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const p of processesWhere(() => true)) {
    const parent = statFields(p)?.[1];
    if (parent !== undefined) parentOf.set(p, Number(parent));
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) if (parent === p) (walk(child), out.push(child));
  };
  walk(pid);
  return out;
}

/** Processes whose working directory is `dir` or below it (or was, before it was removed). */
export function workingIn(dir: string): number[] {
  return processesWhere((pid) => {
    // A folder removed while a process works in it reads as "PATH (deleted)".
    const cwd = fs.readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, "");
    return cwd === dir || cwd.startsWith(`${dir}/`);
  });
}

/** Ends `pid` with SIGKILL, if it is still there. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
