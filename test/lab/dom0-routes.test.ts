/**
 * The dom0's own interfaces file, the model's reading against the kernel's:
 * a second interface whose post-up routes the client's address away from
 * the uplink. The dom0's strict rp_filter (the seed's files set it) then
 * drops the client's request, which the model, reading only the uplink's
 * address and an assumed default route, used to say was answered. The file
 * is brought up with the real ifup in the dom0 of test/support/forwarding.ts's
 * namespaces (eth0, the uplink, is up there already; eth1 comes up from the
 * file); the dom0 filters nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { CLIENT, forwarding, GUEST, NET } from "../support/forwarding";
import { seedReachability } from "../support/seed";
import { describeWith, tempDir } from "../support/tools";

const ACCEPTS = "table inet t {\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n  }\n}\n";

/** The dom0's interfaces file: the uplink as the namespaces have it, and eth1 with what `post-up` adds. */
function interfaces(postUp: string[]): string {
  return [
    "auto lo",
    "iface lo inet loopback",
    "",
    "auto eth0",
    "iface eth0 inet static",
    `    address ${NET}.1/24`,
    "",
    "auto eth1",
    "iface eth1 inet static",
    "    address 198.51.100.1/24",
    ...postUp.map((c) => `    post-up ${c}`),
    "",
  ].join("\n");
}

describeWith(["root", "ip", "ifup", "ifdown", "nft", "curl", "sysctl"], "the dom0's own interfaces file: the model agrees with the kernel", () => {
  it("a route of the dom0's to the client by another interface: its strict rp_filter drops the request; without it, answered", () => {
    const cases: Record<string, string> = {
      "eth1 only": interfaces([]),
      "the client's address routed by eth1": interfaces([`ip route add ${CLIENT}/32 via 198.51.100.254 dev eth1`]),
    };
    const lab = forwarding("dr");
    const t = tempDir("cdktf-xen-dom0-routes-");
    try {
      const d = lab.dom0.sh;
      expect(lab.dom0.exec("nft", ["-f", "-"], ACCEPTS).status).toBe(0);
      d("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1");
      d("ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1-peer");
      d("ip", "link", "set", "eth1-peer", "up");
      const kernel: Record<string, boolean> = {};
      const model: Record<string, boolean> = {};
      for (const [title, text] of Object.entries(cases)) {
        const file = path.join(t.dir, "interfaces");
        fs.writeFileSync(file, text);
        const state = ["-i", file, "--state-dir", path.join(t.dir, "state")];
        const up = lab.dom0.exec("ifup", ["eth1", ...state]);
        expect([title, up.status, up.stderr]).toEqual([title, 0, ""]);
        kernel[title] = lab.answered(GUEST);
        expect(lab.dom0.exec("ifdown", ["eth1", ...state]).status).toBe(0);
        const m = seedReachability({ dom0: { "/etc/network/interfaces": text, "/etc/iptables/rules.v4": undefined, "/etc/iptables/rules.v6": undefined, "/etc/cdktf-xen/firewall.nft": ACCEPTS } }, NET);
        expect([title, m.unreadable]).toEqual([title, []]);
        model[title] = m.flow({ from: CLIENT, to: GUEST, port: 80 }).ok;
      }
      expect(model).toEqual(kernel);
      // Not a check that passes either way: the kernel answered the first only.
      expect(Object.values(kernel)).toEqual([true, false]);
    } finally {
      lab.remove();
      t.remove();
    }
  }, 60000);
});
