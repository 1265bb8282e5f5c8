#!/usr/bin/env node
/**
 * The `cdktf-xen` command (`cdktn-xen` in the cdktn flavour): for hosts people already run.
 *   doctor <dir> --dom0 <host> [--uplink <device>=<address>/<prefix>]
 *   diff <stack> [--out <dir>]
 *   import <dir> --dom0 <host> [--uplink ...] [--stack <name>] [--to <file>]
 */
import * as path from "path";
import { DiffError, diffStack } from "./adopt/diff";
import * as fs from "fs";
import { doctor, DoctorInputError, stateFilesHelp } from "./adopt/doctor";
import { importStack } from "./adopt/import";
import { FLAVOUR } from "./private/cdk";

const USAGE = [
  `usage: ${FLAVOUR.pkg} doctor <dir> --dom0 <host> [--uplink <device>=<address>/<prefix>]`,
  "  <dir>     a copy of the hosts' files: <dir>/<host>/<absolute path> (rsync -a <host>:/etc <dir>/<host>/),",
  "            or a synth preview (cdktf.out/stacks/<stack>/hosts)",
  "  --dom0    the dom0's folder in <dir>; its guests are the folders named as its xl configs' domains",
  "  --uplink  the dom0's uplink, when neither topology.json nor the dom0's /etc/network/interfaces gives it",
  "  what a running host shows, captured beside its copy, wins over its files:",
  stateFilesHelp(),
  "  exit: 0 every guest socket answers and everything was read; 1 otherwise; 2 a wrong invocation",
  "",
  `usage: ${FLAVOUR.pkg} diff <stack> [--out <dir>]`,
  `  what \`${FLAVOUR.cli} deploy <stack>\` would write on each host, against what the host has now (read over SSH,`,
  "  with the stack's connections, bastions, pinned host keys and TF_VAR_ keys): a unified diff per file,",
  `  the files it would remove, a summary. It changes nothing on any host. Synthesize first (${FLAVOUR.cli} synth).`,
  "  --out     the synth output folder (default cdktf.out)",
  "  exit: 0 no change; 2 changes; 1 the stack or a host cannot be read",
  "",
  `usage: ${FLAVOUR.pkg} import <dir> --dom0 <host> [--uplink <device>=<address>/<prefix>] [--stack <name>] [--to <file>]`,
  "  the TypeScript of a stack for the dom0 and guests of a copy (as for doctor): XenHost, RoutedDomU with its",
  "  vifs, WebVhost per <VirtualHost>, ForwardRule per port the firewall opens; what it cannot carry over is",
  "  listed at the top of the code. --to writes it to a file (refused if the file exists), else to stdout.",
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
    if (command === "import") {
      const dir = args[0];
      const dom0 = option(args, "--dom0");
      if (!dir || dir.startsWith("--") || !dom0) throw new DoctorInputError(USAGE);
      const { code, notes } = importStack(dir, dom0, { uplink: option(args, "--uplink"), stack: option(args, "--stack") });
      const to = option(args, "--to");
      if (to === undefined) {
        out(code);
      } else {
        if (fs.existsSync(to)) throw new DoctorInputError(`${to} exists: import writes a new file only`);
        fs.writeFileSync(to, code);
        out(`wrote ${to}${notes.length ? `; ${notes.length} note${notes.length === 1 ? "" : "s"} at its top: what import could not carry over` : ""}\n`);
      }
      return 0;
    }
    if (command === "diff") {
      const stack = args[0];
      if (!stack || stack.startsWith("--")) throw new DoctorInputError(USAGE);
      const report = diffStack(path.join(option(args, "--out") ?? "cdktf.out", "stacks", stack));
      out(report.text);
      return report.exitCode;
    }
    err(`${USAGE}\n`);
    return 2;
  } catch (e) {
    if (e instanceof DoctorInputError) {
      err(`${FLAVOUR.pkg} ${command}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof DiffError) {
      err(`${FLAVOUR.pkg} diff: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
