#!/usr/bin/env node
/**
 * cdktf-xen lab command line.
 *   run [--scenario seed|two-guests|all]
 *   run --project DIR --app CMD --stack NAME
 *   xl-create STATE DOM0 PARSED / xl-destroy STATE DOM0 NAME   (called by the xl stand-in)
 */
import { Lab } from "./lab";
import { runLab, scenarioLab } from "./run";
import { Scenario, SCENARIOS } from "./scenarios";
import { xlCreate, xlDestroy } from "./xl";

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
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
  if (command === "run") {
    if (process.getuid?.() !== 0) {
      console.error("cdktf-xen lab: needs root (network and mount namespaces)");
      return 2;
    }
    const log = (l: string) => console.error(l);
    const project = arg(args, "--project");
    const labs: (() => Lab)[] = project
      ? [() => Lab.create({ projectDir: project, app: arg(args, "--app") ?? "npx ts-node main.ts", stack: arg(args, "--stack") ?? "", log })]
      : (arg(args, "--scenario") ?? "all") === "all"
        ? SCENARIOS.map((s) => () => scenarioLab(s, { log, deployLog: arg(args, "--deploy-log") }))
        : [() => scenarioLab(arg(args, "--scenario") as Scenario, { log, deployLog: arg(args, "--deploy-log") })];
    let ok = true;
    for (const make of labs) {
      const result = await runLab(make());
      console.log(result.report);
      console.log(`${result.ok ? "PASS" : "FAIL"}: lab run in ${result.seconds.toFixed(1)} s`);
      ok &&= result.ok;
    }
    return ok ? 0 : 1;
  }
  console.error("usage: cdktf-xen-lab run [--scenario seed|two-guests|all] | run --project DIR --app CMD --stack NAME");
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  },
);
