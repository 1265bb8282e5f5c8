/** The standard lab run of a scenario, as CI and `npm run lab` do it. */
import * as path from "path";
import { Lab, DeployResult, NegativeControl } from "./lab";
import type { ProbeResult } from "./probes";
import { Scenario, SCENARIO_KEY, VARIANT_KEY } from "./scenarios";

/** What a lab run found, phase by phase, and its report. */
export interface LabRunResult {
  /** The scenario, or the user's stack, that ran. */
  readonly scenario: string;
  /** Every phase passed. */
  readonly ok: boolean;
  /** Why the run failed, one reason each; empty when it passed. */
  readonly reasons: string[];
  /** The first deploy. */
  readonly deploy: DeployResult;
  /** The probes after the first deploy. */
  readonly probes: ProbeResult[];
  /** Empty, with `negativeControlSkipped` saying why, when no guest has more than one vif. */
  readonly negativeControl: NegativeControl;
  /** Why the negative control did not run, when it did not. */
  readonly negativeControlSkipped?: string;
  /** Each later phase: its context, its deploy, its probes. */
  readonly phases: LabPhaseResult[];
  /** The redeploy without changes; undefined when an earlier deploy failed. */
  readonly redeploy?: DeployResult;
  /** `terraform plan -detailed-exitcode` after the redeploy: 0 when nothing would change. */
  readonly planExitCode?: number;
  /** The run, for a person, as the CLI prints it. */
  readonly report: string;
  /** Wall-clock seconds of the run. */
  readonly seconds: number;
}

/** What a run has got to, filled in as it goes. */
type Progress = { -readonly [K in keyof Omit<LabRunResult, "scenario" | "ok" | "reasons" | "report" | "seconds">]: LabRunResult[K] };

/** A later phase of a run: the app with more context, deployed over the last phase, then probed. */
export interface LabPhase {
  /** Context keys set from this phase on (added to those of the phases before). */
  readonly context: Record<string, unknown>;
}

/** How a later phase went. */
export interface LabPhaseResult {
  /** The context the phase deployed with: its own keys and those of the phases before. */
  readonly context: Record<string, unknown>;
  /** Its deploy. */
  readonly deploy: DeployResult;
  /** The probes after its deploy. */
  readonly probes: ProbeResult[];
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

/**
 * Deploy, probe, negative control; then each phase (deploy with its
 * context, probe the topology it deploys); then a redeploy without changes
 * and a plan that must be empty. A failed deploy ends the run there. Tears
 * the lab down at the end (on SIGINT/SIGTERM the lab tears itself down,
 * with the deploy running then, and everything it started).
 */
export async function runLab(lab: Lab, opts: { phases?: readonly LabPhase[] } = {}): Promise<LabRunResult> {
  const started = Date.now();
  try {
    const reasons: string[] = [];
    const failedProbes = (probes: readonly ProbeResult[], when: string) => {
      const n = probes.filter((p) => !p.ok).length;
      if (n) reasons.push(`${n} of ${probes.length} probes ${when} failed`);
    };
    const deployFailed = (d: DeployResult, which: string) => {
      if (!d.ok) reasons.push(`the ${which} failed: ${d.tail.split("\n").slice(-3).join(" / ") || "no output"}`);
      return !d.ok;
    };
    const deploy = await lab.deploy();
    // What the run has got to; a failed deploy ends it with what came before.
    const so: Progress = { deploy, probes: [], negativeControl: { handMade: [], restored: [] }, phases: [] };
    const result = (): LabRunResult => {
      if (lab.modelMismatches.length) reasons.push(`the reachability model disagreed with the kernel on ${lab.modelMismatches.length} probes`);
      const ok = reasons.length === 0;
      const report = `${lab.report()}${ok ? "" : `\nwhy it failed:\n${reasons.map((r) => `  - ${r}`).join("\n")}`}`;
      return { scenario: lab.options.stack, ok, reasons, ...so, report, seconds: (Date.now() - started) / 1000 };
    };
    if (deployFailed(deploy, "first deploy")) return result();
    so.probes = lab.probeAll("after deploy");
    failedProbes(so.probes, "after the deploy");
    if (lab.stackTopology.dom0s.some((d) => d.guests.some((g) => g.model.vifs.length > 1))) so.negativeControl = lab.negativeControl();
    else lab.note(`negative control: ${(so.negativeControlSkipped = "not applicable: no guest has more than one vif")}`);
    failedProbes([...so.negativeControl.handMade, ...so.negativeControl.restored], "of the negative control");
    let context: Record<string, unknown> = {};
    for (const [i, phase] of (opts.phases ?? []).entries()) {
      context = { ...context, ...phase.context };
      const d = await lab.deploy({ context });
      const probes = d.ok ? lab.probeAll(`phase ${i + 2}`) : [];
      so.phases.push({ context, deploy: d, probes });
      if (deployFailed(d, `deploy of phase ${i + 2} (${JSON.stringify(phase.context)})`)) return result();
      failedProbes(probes, `in phase ${i + 2}`);
    }
    so.redeploy = await lab.deploy();
    if (deployFailed(so.redeploy, "redeploy without changes")) return result();
    if (so.redeploy.added + so.redeploy.changed + so.redeploy.destroyed) reasons.push(`the redeploy without changes changed resources: ${so.redeploy.summary}`);
    so.planExitCode = lab.plan().exitCode;
    if (so.planExitCode !== 0) reasons.push(`terraform plan after the redeploy ${so.planExitCode === 2 ? "still shows changes" : `failed (exit ${so.planExitCode})`}`);
    return result();
  } finally {
    lab.destroy();
  }
}
