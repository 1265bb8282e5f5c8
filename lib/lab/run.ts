/** The standard lab run of a scenario, as CI and `npm run lab` do it. */
import * as path from "path";
import { Lab, DeployResult } from "./lab";
import type { ProbeResult } from "./probes";
import { Scenario, SCENARIO_KEY, VARIANT_KEY } from "./scenarios";

export interface LabRunResult {
  readonly scenario: string;
  readonly ok: boolean;
  readonly deploy: DeployResult;
  readonly probes: ProbeResult[];
  readonly negativeControl: { handMade: ProbeResult[]; restored: ProbeResult[] };
  readonly redeploy: DeployResult;
  readonly planExitCode: number;
  readonly report: string;
  readonly seconds: number;
}

/** The command that synthesizes a scenario: ts-node from a checkout, node from the package. */
export function scenarioAppCommand(): string {
  const file = path.join(__dirname, `scenario-app${path.extname(__filename)}`);
  return __filename.endsWith(".ts")
    ? `'${process.execPath}' -r '${require.resolve("ts-node/register/transpile-only")}' '${file}'`
    : `'${process.execPath}' '${file}'`;
}

export function packageRoot(): string {
  return path.resolve(__dirname, __filename.endsWith(".ts") ? "../.." : "../../..");
}

/** Builds a lab for one of the lab's scenarios. */
export function scenarioLab(scenario: Scenario, opts: { log?: (l: string) => void; deployLog?: string } = {}): Lab {
  return Lab.create({ projectDir: packageRoot(), app: scenarioAppCommand(), stack: "lab", context: { [SCENARIO_KEY]: scenario, [VARIANT_KEY]: "base" }, ...opts });
}

/** Deploy, probe, negative control, redeploy without changes; then tear down (also on SIGINT/SIGTERM). */
export async function runLab(lab: Lab): Promise<LabRunResult> {
  const started = Date.now();
  const onSignal = (signal: NodeJS.Signals) => {
    lab.destroy();
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const deploy = await lab.deploy();
    const probes = deploy.ok ? lab.probeAll("after deploy") : [];
    const negativeControl = deploy.ok ? lab.negativeControl() : { handMade: [], restored: [] };
    const redeploy = await lab.deploy();
    const planExitCode = lab.plan().exitCode;
    const ok =
      deploy.ok && redeploy.ok && planExitCode === 0 && redeploy.added + redeploy.changed + redeploy.destroyed === 0 &&
      [...probes, ...negativeControl.handMade, ...negativeControl.restored].every((p) => p.ok) && negativeControl.handMade.length > 0 &&
      lab.modelMismatches.length === 0;
    return { scenario: lab.options.stack, ok, deploy, probes, negativeControl, redeploy, planExitCode, report: lab.report(), seconds: (Date.now() - started) / 1000 };
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    lab.destroy();
  }
}
