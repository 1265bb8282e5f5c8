/**
 * The nftables hooks a forwarded packet crosses, the model's reading against
 * the kernel's: a filter chain on prerouting or postrouting drops a forwarded
 * packet as one on forward does; an accept in one base chain does not skip
 * the next; a chain on the output hook does not see it. A connection to
 * the dom0 itself crosses prerouting and input. Each ruleset is loaded with
 * `nft -f` in the dom0 of test/support/forwarding.ts's namespaces.
 */
import { CLIENT, DOM0, forwarding, GUEST, NET } from "../support/forwarding";
import { seedReachability } from "../support/seed";
import { describeWith } from "../support/tools";

/** An `inet` table with a forward chain, and more chains on other hooks. */
function ruleset(forwardPolicy: "accept" | "drop", ...chains: string[]): string {
  return [
    "table inet t {",
    `  chain forward {\n    type filter hook forward priority filter; policy ${forwardPolicy};\n  }`,
    ...chains.map((c, i) => `  chain c${i} {\n    ${c}\n  }`),
    "}",
    "",
  ].join("\n");
}

const CASES: readonly { title: string; nft: string }[] = [
  { title: "forward accepts", nft: ruleset("accept") },
  { title: "a prerouting filter chain drops the request", nft: ruleset("accept", `type filter hook prerouting priority filter; policy accept;\n    ip daddr ${GUEST} tcp dport 80 drop`) },
  { title: "a postrouting filter chain drops the request", nft: ruleset("accept", `type filter hook postrouting priority filter; policy accept;\n    ip daddr ${GUEST} tcp dport 80 drop`) },
  { title: "a prerouting filter chain drops the reply", nft: ruleset("accept", `type filter hook prerouting priority raw; policy accept;\n    ip saddr ${GUEST} drop`) },
  { title: "prerouting accepts, forward's policy still drops", nft: ruleset("drop", `type filter hook prerouting priority filter; policy drop;\n    ip daddr ${GUEST} accept\n    ip saddr ${GUEST} accept`) },
  { title: "an output chain that drops everything does not see forwarded packets", nft: ruleset("accept", "type filter hook output priority filter; policy drop;") },
];

const INPUT_CASES: readonly { title: string; nft: string }[] = [
  { title: "input accepts", nft: ruleset("accept", "type filter hook input priority filter; policy accept;") },
  { title: "a prerouting filter chain drops it", nft: ruleset("accept", "type filter hook input priority filter; policy accept;", `type filter hook prerouting priority filter; policy accept;\n    ip daddr ${DOM0} tcp dport 80 drop`) },
  { title: "input's policy drops it", nft: ruleset("accept", "type filter hook input priority filter; policy drop;") },
];

describeWith(["root", "ip", "nft", "curl", "sysctl"], "nftables hooks of the forward path: the model agrees with the kernel", () => {
  it("prerouting, forward and postrouting filter chains each decide; output's do not; to the dom0, prerouting and input", () => {
    const lab = forwarding("nh");
    try {
      const d = lab.dom0.sh;
      const kernel: Record<string, boolean> = {};
      const model: Record<string, boolean> = {};
      for (const c of CASES) {
        d("nft", "flush", "ruleset");
        const load = lab.dom0.exec("nft", ["-f", "-"], c.nft);
        expect([c.title, load.status, load.stderr]).toEqual([c.title, 0, ""]);
        kernel[c.title] = lab.answered(GUEST);
        const m = seedReachability({ dom0: { "/etc/iptables/rules.v4": undefined, "/etc/iptables/rules.v6": undefined, "/etc/cdktf-xen/firewall.nft": c.nft } }, NET);
        expect(m.unreadable).toEqual([]);
        model[c.title] = m.flow({ from: CLIENT, to: GUEST, port: 80 }).ok;
      }
      expect(model).toEqual(kernel);
      // Not a check that passes either way: the kernel let through the first and last only.
      expect(Object.values(kernel)).toEqual([true, false, false, false, false, true]);

      // To the dom0 itself: prerouting, then input.
      const toDom0: Record<string, boolean> = {};
      const modelToDom0: Record<string, boolean> = {};
      for (const c of INPUT_CASES) {
        d("nft", "flush", "ruleset");
        expect([c.title, lab.dom0.exec("nft", ["-f", "-"], c.nft).status]).toEqual([c.title, 0]);
        toDom0[c.title] = lab.answered(DOM0);
        const m = seedReachability({ dom0: { "/etc/iptables/rules.v4": undefined, "/etc/iptables/rules.v6": undefined, "/etc/cdktf-xen/firewall.nft": c.nft } }, NET);
        modelToDom0[c.title] = m._toDom0({ protocol: "tcp", from: CLIENT, port: 80 }).outcome === "pass";
      }
      expect(modelToDom0).toEqual(toDom0);
      expect(Object.values(toDom0)).toEqual([true, false, false]);
    } finally {
      lab.remove();
    }
  }, 60000);
});
