/**
 * A guest's own firewall, the model's reading against the kernel's: the
 * request crosses the guest's input path (iptables INPUT, nftables prerouting
 * and input), its reply the output path (OUTPUT; output and postrouting).
 * Each guest firewall is loaded in the guest of test/support/forwarding.ts's
 * namespaces, with `iptables-restore` or `nft -f`; the dom0 forwards all.
 */
import { CLIENT, forwarding, GUEST, NET } from "../support/forwarding";
import { seedReachability } from "../support/seed";
import { describeWith } from "../support/tools";

/** iptables-restore's filter table with these policies and rules. */
const rulesV4 = (input: string, output: string, ...rules: string[]) => ["*filter", `:INPUT ${input} [0:0]`, ":FORWARD ACCEPT [0:0]", `:OUTPUT ${output} [0:0]`, ...rules, "COMMIT", ""].join("\n");

/** An `inet` table with one chain. */
const nftTable = (chain: string) => `table inet guest {\n  chain c {\n    ${chain}\n  }\n}\n`;

const DOM0_ACCEPTS = "table inet t {\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n  }\n}\n";

const CASES: readonly { title: string; file?: "/etc/iptables/rules.v4" | "/etc/nftables.conf"; text?: string }[] = [
  { title: "no firewall on the guest" },
  { title: "iptables: INPUT drops all but ssh", file: "/etc/iptables/rules.v4", text: rulesV4("DROP", "ACCEPT", "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT") },
  { title: "iptables: INPUT accepts 80", file: "/etc/iptables/rules.v4", text: rulesV4("DROP", "ACCEPT", "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT") },
  { title: "iptables: OUTPUT drops the reply", file: "/etc/iptables/rules.v4", text: rulesV4("ACCEPT", "DROP") },
  { title: "iptables: OUTPUT lets established replies out", file: "/etc/iptables/rules.v4", text: rulesV4("ACCEPT", "DROP", "-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT") },
  { title: "nftables: input drops new connections", file: "/etc/nftables.conf", text: nftTable("type filter hook input priority filter; policy drop;\n    ct state established,related accept") },
  { title: "nftables: postrouting drops the reply", file: "/etc/nftables.conf", text: nftTable(`type filter hook postrouting priority filter; policy accept;\n    ip saddr ${GUEST} drop`) },
];

describeWith(["root", "ip", "nft", "iptables-restore", "curl", "sysctl"], "a guest's own firewall: the model agrees with the kernel", () => {
  it("the request through the guest's input path, the reply through its output path", () => {
    const lab = forwarding("gf");
    try {
      expect(lab.dom0.exec("nft", ["-f", "-"], DOM0_ACCEPTS).status).toBe(0);
      const kernel: Record<string, boolean> = {};
      const model: Record<string, boolean> = {};
      for (const c of CASES) {
        // A filter table that accepts all, then no table at all (iptables may be the nf_tables one or the legacy one).
        expect(lab.guest.exec("iptables-restore", [], rulesV4("ACCEPT", "ACCEPT")).status).toBe(0);
        lab.guest.sh("nft", "flush", "ruleset");
        if (c.file) {
          const load = c.file === "/etc/nftables.conf" ? lab.guest.exec("nft", ["-f", "-"], c.text) : lab.guest.exec("iptables-restore", [], c.text);
          expect([c.title, load.status, load.stderr]).toEqual([c.title, 0, ""]);
        }
        kernel[c.title] = lab.answered(GUEST);
        const m = seedReachability({ dom0: { "/etc/iptables/rules.v4": undefined, "/etc/iptables/rules.v6": undefined, "/etc/cdktf-xen/firewall.nft": DOM0_ACCEPTS }, guest: c.file ? { [c.file]: c.text } : {} }, NET);
        expect([c.title, m.unreadable]).toEqual([c.title, []]);
        model[c.title] = m.flow({ from: CLIENT, to: GUEST, port: 80 }).ok;
      }
      expect(model).toEqual(kernel);
      // Not a check that passes either way.
      expect(Object.values(kernel)).toEqual([true, false, true, false, true, false, false]);
    } finally {
      lab.remove();
    }
  }, 60000);
});
