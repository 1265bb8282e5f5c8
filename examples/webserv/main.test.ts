/**
 * Unit tests of the example stack, written as a user of cdktf-xen would write
 * them for their own stacks: no root, no network, no Terraform.
 */
import { Testing } from "cdktf";
import { setupJest, XenTemplate } from "cdktf-xen/testing";
import { WebservStack } from "./main";

setupJest();

describe("the webserv stack", () => {
  const stack = new WebservStack(Testing.app(), "webserv");
  const t = XenTemplate.fromStack(stack);

  it("serves every site on its own address, and every reply comes back", () => {
    for (const site of stack.sites) expect(t).toServe(site);
  });

  it("forwards HTTP and HTTPS to each address through that address's own vif only", () => {
    const rules = t.hostFile(stack.dom0, "/etc/iptables/rules.v4");
    expect(rules).toContain("-A FORWARD -d 192.168.0.201/32 -o webserv-1 -p tcp -m multiport --dports 80,443 -j ACCEPT");
    expect(rules).toContain(":FORWARD DROP [0:0]");
  });

  it("does not let SSH through to the guest", () => {
    expect(t).toBeDroppedAt({ from: "203.0.113.9", to: "192.168.0.201", port: 22 }, "firewall", "dom0");
  });

  it("lets the management network reach sshd on the dom0, and nothing else in", () => {
    expect(t).toReachDom0(stack.dom0, { from: "203.0.113.9", port: 22 });
    expect(t).not.toReachDom0(stack.dom0, { from: "198.51.100.9", port: 22 });
    expect(t).not.toReachDom0(stack.dom0, { from: "203.0.113.9", port: 8080 });
  });

  it("synthesizes: the proof run at synth finds nothing", () => {
    expect(() => Testing.fullSynth(stack)).not.toThrow();
  });

  it("without policy routing, replies from the second address die at the dom0's reverse-path filter", () => {
    const broken = new WebservStack(Testing.app(), "broken", { policyRouting: false });
    const b = XenTemplate.fromStack(broken);
    expect(b).toReach({ from: "203.0.113.9", to: "192.168.0.200", port: 80 });
    expect(b).toBeDroppedAt({ from: "203.0.113.9", to: "192.168.0.201", port: 80 }, "rp_filter", "dom0");
    expect(b.flow({ from: "203.0.113.9", to: "192.168.0.201", port: 80 }).summary).toContain("reply from 192.168.0.201 leaves the guest by eth0");
  });
});
