#!/usr/bin/env node
/**
 * The `cdktf-xen` command: for hosts people already run.
 *   doctor <dir> --dom0 <host> [--uplink <device>=<address>/<prefix>]
 */
import { doctor, DoctorInputError, stateFilesHelp } from "./adopt/doctor";

const USAGE = [
  "usage: cdktf-xen doctor <dir> --dom0 <host> [--uplink <device>=<address>/<prefix>]",
  "  <dir>     a copy of the hosts' files: <dir>/<host>/<absolute path> (rsync -a <host>:/etc <dir>/<host>/),",
  "            or a synth preview (cdktf.out/stacks/<stack>/hosts)",
  "  --dom0    the dom0's folder in <dir>; its guests are the folders named as its xl configs' domains",
  "  --uplink  the dom0's uplink, when neither topology.json nor the dom0's /etc/network/interfaces gives it",
  "  what a running host shows, captured beside its copy, wins over its files:",
  stateFilesHelp(),
  "  exit: 0 every guest socket answers and everything was read; 1 otherwise; 2 a wrong invocation",
].join("\n");

/** The value after `name`, or undefined. */
function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Runs one command; returns its exit code. */
export function main(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): number {
  const [command, ...args] = argv;
  try {
    if (command === "doctor") {
      const dir = args[0];
      const dom0 = option(args, "--dom0");
      if (!dir || dir.startsWith("--") || !dom0) throw new DoctorInputError(USAGE);
      const report = doctor(dir, dom0, { uplink: option(args, "--uplink") });
      out(report.text);
      return report.exitCode;
    }
    err(`${USAGE}\n`);
    return 2;
  } catch (e) {
    if (e instanceof DoctorInputError) {
      err(`cdktf-xen ${command}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
