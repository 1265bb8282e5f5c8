/**
 * What the lab refuses to deploy: anything in the stack beyond the library's
 * own steps, which Terraform would create, run or read for real (no root
 * needed: this reads the synthesized JSON only).
 */
import * as fs from "fs";
import * as path from "path";
import { App, DataTerraformRemoteStateS3, TerraformProvider, TerraformResource, TerraformStack } from "cdktf";
import { ENGINE_CONTEXT_KEY } from "../../lib/deploy/engine";
import { outsideTheLab } from "../../lib/lab/lab";
import { buildScenario } from "../../lib/lab/scenarios";
import { tempDir } from "../support/tools";

function synthesized(add: (stack: TerraformStack) => void = () => {}): Parameters<typeof outsideTheLab>[0] {
  const t = tempDir();
  try {
    const app = new App({ outdir: t.dir, context: { [ENGINE_CONTEXT_KEY]: "terraform_data" } });
    add(buildScenario(app, "two-guests"));
    app.synth();
    return JSON.parse(fs.readFileSync(path.join(t.dir, "stacks", "lab", "cdk.tf.json"), "utf8"));
  } finally {
    t.remove();
  }
}

class Dns extends TerraformProvider {
  constructor(scope: TerraformStack) {
    super(scope, "aws", { terraformResourceType: "aws", terraformGeneratorMetadata: { providerName: "aws" } });
  }
}

describe("the lab deploys the library's steps and nothing else", () => {
  it("a stack of the library's steps alone has nothing outside the lab", () => {
    const tf = synthesized();
    expect(Object.keys(tf.resource!)).toEqual(["terraform_data"]);
    expect(outsideTheLab(tf)).toEqual([]);
  });

  it("names every other resource, a terraform_data of the user's (a local-exec, or no step trigger), data sources and providers", () => {
    const tf = synthesized((stack) => {
      new Dns(stack);
      new TerraformResource(stack, "www", { terraformResourceType: "aws_route53_record", terraformGeneratorMetadata: { providerName: "aws" } });
      new TerraformResource(stack, "notify", { terraformResourceType: "terraform_data" }).addOverride("provisioner", [{ "local-exec": { command: "curl https://ops.example.org/deployed" } }]);
      // A step's trigger copied onto a resource that runs something on this machine: still not a step.
      const copied = new TerraformResource(stack, "copied", { terraformResourceType: "terraform_data" });
      copied.addOverride("triggers_replace", { step: "dom0/firewall" });
      copied.addOverride("provisioner", [{ "local-exec": { command: "true" } }]);
      new DataTerraformRemoteStateS3(stack, "prod", { bucket: "state", key: "prod.tfstate", region: "eu-west-1" });
    });
    expect(outsideTheLab(tf)).toEqual([
      "aws_route53_record.www",
      "terraform_data.copied (no step of the library's)",
      "terraform_data.notify (no step of the library's)",
      "data.terraform_remote_state.prod",
      "provider aws",
    ]);
  });
});
