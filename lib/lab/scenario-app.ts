/** The app command of the lab's scenarios: `node scenario-app.js`, scenario and variant from the context. */
import { App } from "../private/cdk";
import { buildScenario, Scenario, SCENARIO_KEY, Variant, VARIANT_KEY } from "./scenarios";

const app = new App();
buildScenario(app, (app.node.tryGetContext(SCENARIO_KEY) ?? "seed") as Scenario, (app.node.tryGetContext(VARIANT_KEY) ?? "base") as Variant);
app.synth();
