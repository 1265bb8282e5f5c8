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
 * says of the reply from that interface's address. arp_filter: the guest
 * with the hand-made network (no policy routing) and with the library's,
 * the dom0 asking for each address on its vif; and in the dom0, the guest
 * asking for the dom0's address as its second address, on its first vif.
 */
import { renderInterfaces } from "../../lib/render/interfaces";
import { inNamespaces, twoVifs } from "../support/dom0-guest";
import { describeWith } from "../support/tools";
import { gatewayBehindFirstVif, seedFiles, seedReachability } from "../support/seed";

const NET = "192.0.2";
const GATEWAY = `${NET}.210`;

describeWith(["root", "ip", "curl", "ping", "sysctl"], "proxy ARP and arp_filter: the model agrees with the kernel", () => {
  it("no answer on the vif the asked address is routed over, an answer on the other", () => {
    inNamespaces("pa", (dom0, guest) => {
      const d = dom0.sh;
      const g = guest.sh;
      d("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=1");
      g("sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2");
      twoVifs(dom0, guest, NET, (vif) => d("sysctl", "-qw", `net.ipv4.conf.${vif}.proxy_arp=1`, `net.ipv4.conf.${vif}.rp_filter=1`));
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
    });
  });

  it("arp_filter in the guest: the dom0's ARP request on a vif is answered only where the guest's route back leaves by the interface asked on", () => {
    inNamespaces("af", (dom0, guest) => {
      const d = dom0.sh;
      const g = guest.sh;
      g("sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.all.arp_filter=1");
      twoVifs(dom0, guest, NET);
      /** Whether the guest answered the dom0's ARP request for each address, on its vif. */
      const answered = (): Record<string, boolean> => {
        const out: Record<string, boolean> = {};
        for (const i of [0, 1]) {
          d("ip", "neigh", "flush", "dev", `webserv-${i}`);
          dom0.exec("ping", ["-c", "1", "-W", "1", `${NET}.20${i}`]);
          out[`${NET}.20${i}`] = /lladdr/.test(dom0.exec("ip", ["neigh", "show", `${NET}.20${i}`, "dev", `webserv-${i}`]).stdout);
        }
        return out;
      };
      const kernel = { handMade: answered(), policyRouting: {} as Record<string, boolean> };
      // The library's policy routing: a table per interface, a rule per address.
      for (const i of [0, 1]) {
        g("ip", "route", "add", `${NET}.0/24`, "dev", `eth${i}`, "src", `${NET}.20${i}`, "table", `10${i}`);
        g("ip", "rule", "add", "from", `${NET}.20${i}`, "lookup", `10${i}`, "priority", `100${i}`);
      }
      kernel.policyRouting = answered();

      const arpFilter = { "/etc/sysctl.d/70-arp-filter.conf": "net.ipv4.conf.all.arp_filter = 1\n" };
      const handMade = renderInterfaces({ ...seedFiles({}, NET).model, policyRouting: false });
      const guestArp = (m: ReturnType<typeof seedReachability>): Record<string, boolean> => {
        const out: Record<string, boolean> = {};
        for (const i of [0, 1]) out[`${NET}.20${i}`] = m.flow({ from: "203.0.113.9", to: `${NET}.20${i}`, port: 80 }).hops.find((h) => h.host === "webserv" && h.stage === "arp")!.outcome === "pass";
        return out;
      };
      const model = {
        handMade: guestArp(seedReachability({ guest: { "/etc/network/interfaces": handMade, ...arpFilter } }, NET)),
        policyRouting: guestArp(seedReachability({ guest: arpFilter }, NET)),
      };
      expect({ kernel, model }).toEqual({
        kernel: { handMade: { [`${NET}.200`]: true, [`${NET}.201`]: false }, policyRouting: { [`${NET}.200`]: true, [`${NET}.201`]: true } },
        model: { handMade: { [`${NET}.200`]: true, [`${NET}.201`]: false }, policyRouting: { [`${NET}.200`]: true, [`${NET}.201`]: true } },
    });
    });
  });

  it("arp_filter in the dom0: a guest's ARP request for the dom0's address on a vif is answered only where the dom0's route to the sender leaves by that vif", () => {
    inNamespaces("af", (dom0, guest) => {
      const d = dom0.sh;
      const g = guest.sh;
      d("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0");
      twoVifs(dom0, guest, NET);
      /** Whether the dom0 answered the guest asking for its address on eth0, as 192.0.2.201 (the hand-made network sends .201's packets out by eth0). */
      const answered = (arpFilter: number): boolean => {
        d("sysctl", "-qw", `net.ipv4.conf.all.arp_filter=${arpFilter}`);
        g("ip", "neigh", "flush", "dev", "eth0");
        guest.exec("curl", ["-s", "--interface", `${NET}.201`, "--connect-timeout", "2", `http://${NET}.1/`]);
        return /lladdr/.test(guest.exec("ip", ["neigh", "show", `${NET}.1`, "dev", "eth0"]).stdout);
      };
      const kernel = { on: answered(1), off: answered(0) };

      const hook = seedFiles({}, NET).dom0["/etc/xen/scripts/vif-post.d/cdktf-xen.hook"].replace("CDKTF_XEN_LOOSE_VIFS=''", "CDKTF_XEN_LOOSE_VIFS='webserv-0 webserv-1 webserv-2'");
      const guestFiles = { "/etc/network/interfaces": renderInterfaces({ ...seedFiles({}, NET).model, policyRouting: false }), "/etc/sysctl.d/60-cdktf-xen.conf": undefined };
      const dom0Arp = (arpFilter: number): boolean => {
        const m = seedReachability({ dom0: { "/etc/xen/scripts/vif-post.d/cdktf-xen.hook": hook, "/etc/sysctl.d/70-arp-filter.conf": `net.ipv4.conf.all.arp_filter = ${arpFilter}\n` }, guest: guestFiles }, NET);
        const hop = m.flow({ from: "203.0.113.9", to: `${NET}.201`, port: 80 }).hops.find((h) => h.host === "dom0" && h.stage === "arp" && h.text.startsWith("the guest asks"));
        return hop?.outcome === "pass";
      };
      expect({ kernel, model: { on: dom0Arp(1), off: dom0Arp(0) } }).toEqual({ kernel: { on: false, off: true }, model: { on: false, off: true } });
    });
  });
});
