/**
 * The nftables hooks a forwarded packet crosses, the model's reading against
 * the kernel's: a filter chain on prerouting or postrouting drops a forwarded
 * packet as one on forward does; an accept in one base chain does not skip
 * the next; a chain on the output hook does not see it. A connection to
 * the dom0 itself crosses prerouting and input. Three namespaces
 * stand for a client on the uplink's subnet, the dom0 (the seed's vif-route
 * setup for the guest's first address: a /32 route over the vif, proxy ARP
 * on the uplink and the vif) and the guest; each ruleset is loaded with
 * `nft -f` in the dom0, and a TCP connection to a port nothing listens on
 * tells what the kernel did: refused (the request arrived and the guest's
 * reset came back) or timed out (one of them was dropped).
 */
import { seedReachability } from "../support/seed";
import { describeWith, netns } from "../support/tools";

const NET = "192.0.2";
const GUEST = `${NET}.200`;
const CLIENT = `${NET}.50`;

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
  { title: "a prerouting filter chain drops it", nft: ruleset("accept", "type filter hook input priority filter; policy accept;", `type filter hook prerouting priority filter; policy accept;\n    ip daddr ${NET}.1 tcp dport 80 drop`) },
  { title: "input's policy drops it", nft: ruleset("accept", "type filter hook input priority filter; policy drop;") },
];

describeWith(["root", "ip", "nft", "curl", "sysctl"], "nftables hooks of the forward path: the model agrees with the kernel", () => {
  it("prerouting, forward and postrouting filter chains each decide; output's do not; to the dom0, prerouting and input", () => {
    const client = netns("nhc");
    const dom0 = netns("nhd");
    const guest = netns("nhg");
    try {
      const d = dom0.sh;
      d("sysctl", "-qw", "net.ipv4.ip_forward=1");
      d("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "c0", "netns", client.name);
      d("ip", "addr", "add", `${NET}.1/24`, "dev", "eth0");
      d("ip", "link", "set", "eth0", "up");
      d("sysctl", "-qw", "net.ipv4.conf.eth0.proxy_arp=1");
      client.sh("ip", "addr", "add", `${CLIENT}/24`, "dev", "c0");
      client.sh("ip", "link", "set", "c0", "up");
      d("ip", "link", "add", "webserv-0", "type", "veth", "peer", "name", "eth0", "netns", guest.name);
      d("ip", "addr", "add", `${NET}.1/32`, "dev", "webserv-0");
      d("ip", "link", "set", "webserv-0", "up");
      d("sysctl", "-qw", "net.ipv4.conf.webserv-0.proxy_arp=1");
      d("ip", "route", "add", `${GUEST}/32`, "dev", "webserv-0", "src", `${NET}.1`);
      guest.sh("ip", "addr", "add", `${GUEST}/24`, "dev", "eth0");
      guest.sh("ip", "link", "set", "eth0", "up");

      const kernel: Record<string, boolean> = {};
      const model: Record<string, boolean> = {};
      for (const c of CASES) {
        d("nft", "flush", "ruleset");
        const load = dom0.exec("nft", ["-f", "-"], c.nft);
        expect([c.title, load.status, load.stderr]).toEqual([c.title, 0, ""]);
        // curl's exit 7: connection refused (the guest's reset came back); 28: timed out.
        const r = client.exec("curl", ["-s", "--connect-timeout", "2", `http://${GUEST}/`]);
        expect([c.title, [7, 28]]).toEqual([c.title, expect.arrayContaining([r.status])]);
        kernel[c.title] = r.status === 7;
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
        expect([c.title, dom0.exec("nft", ["-f", "-"], c.nft).status]).toEqual([c.title, 0]);
        const r = client.exec("curl", ["-s", "--connect-timeout", "2", `http://${NET}.1/`]);
        toDom0[c.title] = r.status === 7;
        const m = seedReachability({ dom0: { "/etc/iptables/rules.v4": undefined, "/etc/iptables/rules.v6": undefined, "/etc/cdktf-xen/firewall.nft": c.nft } }, NET);
        modelToDom0[c.title] = m._toDom0({ protocol: "tcp", from: CLIENT, port: 80 }).outcome === "pass";
      }
      expect(modelToDom0).toEqual(toDom0);
      expect(Object.values(toDom0)).toEqual([true, false, false]);
    } finally {
      guest.remove();
      dom0.remove();
      client.remove();
    }
  }, 60000);
});
