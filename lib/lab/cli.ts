#!/usr/bin/env node
/**
 * cdktf-xen lab command line.
 *   run [--scenario seed|two-guests|all] [--deploy-log FILE]
 *   run --project DIR --app CMD --stack NAME [--var NAME=VALUE]... [--then-context KEY=VALUE]... [--deploy-log FILE]
 *   clean   removes every lab (or test run of this package's own tests) whose process ended without tearing it down
 *   xl-create STATE DOM0 PARSED / xl-destroy STATE DOM0 NAME   (called by the xl stand-in)
 */
import { Lab, LabError } from "./lab";
import { removeDeadRuns, removedRunLine } from "./leftovers";
import { LabPhase, runLab, scenarioLab } from "./run";
import { Scenario, SCENARIOS } from "./scenarios";
import { xlCreate, xlDestroy } from "./xl";
import { FLAVOUR } from "../private/cdk";

const USAGE = [
  `usage: ${FLAVOUR.pkg}-lab run [--scenario seed|two-guests|all] [--deploy-log FILE]`,
  `       ${FLAVOUR.pkg}-lab run --project DIR --app CMD --stack NAME [--var NAME=VALUE]... [--then-context KEY=VALUE]... [--deploy-log FILE]`,
  "  --var           a value for the stack's Terraform variable NAME (one the lab's deploy uses)",
  "  --then-context  after the first deploy and its probes: deploy again with the app's context KEY set to VALUE",
  "                  (JSON, else a string), and probe what that deploys; each one is a phase, and keeps the ones before",
  `       ${FLAVOUR.pkg}-lab clean`,
  "  removes every lab whose process ended without tearing it down (killed, crashed); a lab run does it first too",
].join("\n");

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Every `NAME VALUE` pair given as `--flag NAME=VALUE`. */
function pairs(args: string[], flag: string): [string, string][] {
  const out: [string, string][] = [];
  args.forEach((a, i) => {
    if (a !== flag) return;
    const v = args[i + 1] ?? "";
    const eq = v.indexOf("=");
    if (eq <= 0) throw new LabError(`${flag} ${JSON.stringify(v)}: expected NAME=VALUE`);
    out.push([v.slice(0, eq), v.slice(eq + 1)]);
  });
  return out;
}

function jsonOrString(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === "xl-create") {
    xlCreate(args[0], args[1], args[2]);
    return 0;
  }
  if (command === "xl-destroy") {
    xlDestroy(args[0], args[1], args[2]);
    return 0;
  }
  if (command !== "run" && command !== "clean") {
    console.error(USAGE);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error(`${FLAVOUR.pkg} lab: needs root (network and mount namespaces)`);
    return 2;
  }
  if (command === "clean") {
    const removed = removeDeadRuns();
    for (const r of removed) console.log(removedRunLine(r));
    if (!removed.length) console.log("no lab was left behind");
    return 0;
  }
  const log = (l: string) => console.error(l);
  const project = arg(args, "--project");
  const deployLog = arg(args, "--deploy-log");
  let phases: LabPhase[] = [];
  let labs: (() => Lab)[];
  if (project) {
    const stack = arg(args, "--stack");
    if (!stack) throw new LabError("--stack is missing: name the stack to deploy");
    const variables = Object.fromEntries(pairs(args, "--var"));
    phases = pairs(args, "--then-context").map(([k, v]) => ({ context: { [k]: jsonOrString(v) } }));
    labs = [() => Lab.create({ projectDir: project, app: arg(args, "--app") ?? "npx ts-node main.ts", stack, variables, deployLog, log })];
  } else {
    const scenario = arg(args, "--scenario") ?? "all";
    labs = (scenario === "all" ? SCENARIOS : [scenario as Scenario]).map((s) => () => scenarioLab(s, { log, deployLog }));
  }
  let ok = true;
  for (const make of labs) {
    const result = await runLab(make(), { phases });
    console.log(result.report);
    console.log(`${result.ok ? "PASS" : "FAIL"}: lab run in ${result.seconds.toFixed(1)} s${result.ok ? "" : `: ${result.reasons.join("; ")}`}`);
    ok &&= result.ok;
  }
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    // A lab that cannot run as asked says why; anything else is a bug, with its stack.
    console.error(e instanceof LabError ? `${FLAVOUR.pkg} lab: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(e instanceof LabError ? 2 : 1);
  },
);
