export { Lab, LabError, LabOptions, DeployResult, labPage, LAB_TLS_CERT, LAB_TLS_KEY } from "./lab";
export { ProbeResult } from "./probes";
export { runLab, scenarioLab, LabPhase, LabRunResult } from "./run";
export { buildScenario, SCENARIOS, Scenario, Variant, SCENARIO_KEY, VARIANT_KEY } from "./scenarios";
export { SandboxHost } from "./sandbox-host";
