/**
 * What the lab refuses to deploy, read from the synthesized files alone (no
 * root needed): anything in the stack beyond the library's own steps, which
 * Terraform would create, run or read for real; and a phase that changes
 * what the lab built once.
 */
import * as fs from "fs";
import * as path from "path";
import { App, DataTerraformRemoteStateS3, TerraformProvider, TerraformResource, TerraformStack } from "cdktf";
import { ENGINE_CONTEXT_KEY } from "../../lib/deploy/engine";
import { outsideTheLab, phaseRefusal } from "../../lib/lab/lab";
import type { Topology } from "../../lib/private/topology";
import { buildScenario } from "../../lib/lab/scenarios";
import { tempDir } from "../support/tools";

/** A file of the two-guest scenario's synthesized stack, with what `add` adds to the stack. */
function synthesized<T>(file: string, add: (stack: TerraformStack) => void = () => {}): T {
  const t = tempDir();
  try {
    const app = new App({ outdir: t.dir, context: { [ENGINE_CONTEXT_KEY]: "terraform_data" } });
    add(buildScenario(app, "two-guests"));
    app.synth();
    return JSON.parse(fs.readFileSync(path.join(t.dir, "stacks", "lab", file), "utf8"));
  } finally {
    t.remove();
  }
}
type Tf = Parameters<typeof outsideTheLab>[0];

class Dns extends TerraformProvider {
  constructor(scope: TerraformStack) {
    super(scope, "aws", { terraformResourceType: "aws", terraformGeneratorMetadata: { providerName: "aws" } });
  }
}

describe("the lab deploys the library's steps and nothing else", () => {
  it("a stack of the library's steps alone has nothing outside the lab", () => {
    const tf = synthesized<Tf>("cdk.tf.json");
    expect(Object.keys(tf.resource!)).toEqual(["terraform_data"]);
    expect(outsideTheLab(tf)).toEqual([]);
  });

  it("names every other resource, a terraform_data of the user's (a local-exec, or no step trigger), data sources and providers", () => {
    const tf = synthesized<Tf>("cdk.tf.json", (stack) => {
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

describe("a phase deploys over what the lab built once", () => {
  const built = synthesized<Topology>("topology.json");
  /** `built` with one change made to a copy of it. */
  const changed = (edit: (t: { dom0s: { sshPort: number; uplink: { address: { address: string } }; guests: { id: string; sshPort: number }[] }[] }) => void): Topology => {
    const t = JSON.parse(JSON.stringify(built));
    edit(t);
    return t;
  };

  it("the same stack, or one whose guests come and go: deployed", () => {
    expect(phaseRefusal(built, built)).toBeUndefined();
    expect(phaseRefusal(built, changed((t) => t.dom0s[0].guests.pop()))).toBeUndefined();
    expect(phaseRefusal(changed((t) => t.dom0s[0].guests.pop()), built)).toBeUndefined();
  });

  it("a dom0's uplink or sshd port changed: refused, with both shapes", () => {
    expect(phaseRefusal(built, changed((t) => (t.dom0s[0].sshPort = 22)))).toBe(
      "the new context changes the stack's dom0s, their uplinks or their sshd ports (dom0 eth0 192.0.2.1/24 sshd 2222, now dom0 eth0 192.0.2.1/24 sshd 22): the lab builds dom0s once; start another lab run for the other stack",
    );
    expect(phaseRefusal(built, changed((t) => (t.dom0s[0].uplink.address.address = "192.0.2.2")))).toMatch(/^the new context changes the stack's dom0s, their uplinks or their sshd ports \(dom0 eth0 192\.0\.2\.1\/24 sshd 2222, now dom0 eth0 192\.0\.2\.2\/24 sshd 2222\)/);
  });

  it("a guest's sshd port changed: refused, naming the guest", () => {
    expect(phaseRefusal(built, changed((t) => (t.dom0s[0].guests.find((g) => g.id === "beta")!.sshPort = 22)))).toBe(
      "the new context changes the sshd port of dom0/beta (2200, now 22): the lab starts a guest's sshd once, when the deploy creates it; start another lab run for the other stack",
    );
  });
});
