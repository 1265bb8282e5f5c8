/**
 * The lab: a stack deployed with real Terraform into network namespaces
 * standing in for its dom0s and guests, then probed (needs root).
 * @module cdktf-xen/lab
 */
export { Lab, LabError, LabOptions, DeployResult, NegativeControl, PlanResult, labPage, LAB_TLS_CERT, LAB_TLS_KEY } from "./lab";
export { ProbeResult } from "./probes";
export { runLab, scenarioLab, LabPhase, LabPhaseResult, LabRunResult } from "./run";
export { buildScenario, SCENARIOS, Scenario, Variant, SCENARIO_KEY, VARIANT_KEY } from "./scenarios";
export { SandboxHost, ExecResult } from "./sandbox-host";
