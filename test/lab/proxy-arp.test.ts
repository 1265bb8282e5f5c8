/**
 * The model's proxy-ARP rule against the kernel's: a dom0 answers ARP by
 * proxy on a vif only for an address it routes out by another interface
 * (Linux arp_process: the route's device differs from the one asked on).
 * The seed's files are edited so that the guest's gateway is routed back
 * over its first vif (gatewayBehindFirstVif). Two namespaces stand for the
 * dom0 and the guest, set up as those files set them (vif-route's /32
 * routes, proxy_arp and rp_filter on the vifs, the main IP on each vif; the
 * guest's addresses and ARP sysctls); the guest asks for its gateway on
 * each interface, and whether the kernel answered must be what the model
 * says of the reply from that interface's address.
 */
import { describeWith, netns } from "../support/tools";
import { gatewayBehindFirstVif, seedReachability } from "../support/seed";

const NET = "192.0.2";
const GATEWAY = `${NET}.210`;

describeWith(["root", "ip", "curl", "sysctl"], "proxy ARP: the model agrees with the kernel", () => {
  it("no answer on the vif the asked address is routed over, an answer on the other", () => {
    const dom0 = netns("pad");
    const guest = netns("pag");
    try {
      const d = dom0.sh;
      const g = guest.sh;
      d("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=1");
      g("sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2");
      for (const i of [0, 1]) {
        d("ip", "link", "add", `webserv-${i}`, "type", "veth", "peer", "name", `eth${i}`, "netns", guest.name);
        d("sysctl", "-qw", `net.ipv4.conf.webserv-${i}.proxy_arp=1`, `net.ipv4.conf.webserv-${i}.rp_filter=1`);
        d("ip", "addr", "add", `${NET}.1/32`, "dev", `webserv-${i}`);
        d("ip", "link", "set", `webserv-${i}`, "up");
        d("ip", "route", "add", `${NET}.20${i}/32`, "dev", `webserv-${i}`, "src", `${NET}.1`);
        g("ip", "addr", "add", `${NET}.20${i}/24`, "dev", `eth${i}`);
        g("ip", "link", "set", `eth${i}`, "up");
      }
      // The second address of the first vif's ip= list: routed back over webserv-0.
      d("ip", "route", "add", `${GATEWAY}/32`, "dev", "webserv-0", "src", `${NET}.1`);

      const kernel: Record<string, boolean> = {};
      for (const i of [0, 1]) {
        // A connection bound to eth<i> makes the guest ask there who has the gateway, as that interface's address.
        guest.exec("curl", ["-s", "--interface", `eth${i}`, "--connect-timeout", "2", `http://${GATEWAY}/`]);
        const neigh = guest.exec("ip", ["neigh", "show", GATEWAY, "dev", `eth${i}`]).stdout;
        kernel[`eth${i}`] = /lladdr/.test(neigh);
      }

      const m = seedReachability(gatewayBehindFirstVif(NET), NET);
      const model: Record<string, boolean> = {};
      for (const i of [0, 1]) {
        const v = m.flow({ from: "203.0.113.9", to: `${NET}.20${i}`, port: 80 });
        // The reply's only check that depends on the answer is the dom0's ARP; anything else failing would not be this rule.
        expect(v.ok || (v.failure?.host === "dom0" && v.failure.stage === "arp")).toBe(true);
        model[`eth${i}`] = v.ok;
      }
      expect({ kernel, model }).toEqual({ kernel: { eth0: false, eth1: true }, model: { eth0: false, eth1: true } });
    } finally {
      guest.remove();
      dom0.remove();
    }
  });
});
