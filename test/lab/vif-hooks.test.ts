/**
 * The hooks of /etc/xen/scripts/vif-post.d: Xen's own vif-route, run for a
 * vif in a sandbox dom0, sources every one of them (call_hooks), the
 * library's and anyone else's. What the library's sets, the model reads;
 * what another sets, it leaves open: every setting such a hook may change
 * on a vif, and the firewall it may add to, so that no flow through the
 * dom0 passes on the model's word.
 */
import { renderVifHook, VIF_HOOK_PATH } from "../../lib/concerns/dom0-sysctl/vif-hook";
import { stubXenstore, vifRouteOnline } from "../../lib/lab/hosts";
import { seedReachability } from "../support/seed";
import { describeWith, sandboxHost, tempDir } from "../support/tools";

const OTHER = "/etc/xen/scripts/vif-post.d/zz-local.hook";
/** A hook of someone else's: proxy ARP and rp_filter off on every vif. */
const OTHER_HOOK = 'echo 0 > "/proc/sys/net/ipv4/conf/${dev}/proxy_arp"\necho 0 > "/proc/sys/net/ipv4/conf/${dev}/rp_filter"\n';

describeWith(["root", "nsenter", "unshare", "ip", "ifconfig", "iptables", "xenstore-read", "/etc/xen/scripts/vif-route"], "vif hooks: Xen's vif-route sources every hook of vif-post.d", () => {
  it("the library's hook sets strict rp_filter, which the model reads; another hook after it changes what it likes, which the model leaves open", () => {
    const tmp = tempDir("cdktf-xen-vif-hooks-");
    const dom0 = sandboxHost("vh");
    try {
      stubXenstore(dom0, tmp.dir);
      const up = dom0.sh("ip link add eth0 type veth peer name eth0-peer && ip addr add 192.0.2.1/24 dev eth0 && ip link set eth0 up && ip link add webserv-0 type veth peer name webserv-0p && ip link add webserv-1 type veth peer name webserv-1p");
      expect(up.stderr).toBe("");
      dom0.writeFile(VIF_HOOK_PATH, renderVifHook([]), "0755");
      const settings = (vif: string) => ["proxy_arp", "rp_filter"].map((k) => `${k} ${dom0.sh(`cat /proc/sys/net/ipv4/conf/${vif}/${k}`).stdout.trim()}`);

      vifRouteOnline(dom0, { vifname: "webserv-0", ip: "192.0.2.200", gatewaydev: "eth0", domid: 1, devid: 0 });
      dom0.writeFile(OTHER, OTHER_HOOK, "0755");
      vifRouteOnline(dom0, { vifname: "webserv-1", ip: "192.0.2.201", gatewaydev: "eth0", domid: 1, devid: 1 });
      // Not a check that passes either way: vif-route set proxy ARP and the library's hook strict rp_filter; the other hook, sourced after them, undid both.
      expect({ "webserv-0": settings("webserv-0"), "webserv-1": settings("webserv-1") }).toEqual({
        "webserv-0": ["proxy_arp 1", "rp_filter 1"],
        "webserv-1": ["proxy_arp 0", "rp_filter 0"],
      });

      // The model: the seed's files answer; with the other hook among them, nothing is certain, and the hook is named.
      const flow = { from: "203.0.113.9", to: "192.0.2.200", port: 80 };
      expect(seedReachability({}, "192.0.2").flow(flow).ok).toBe(true);
      const withOther = seedReachability({ dom0: { [OTHER]: OTHER_HOOK } }, "192.0.2");
      const v = withOther.flow(flow);
      expect([v.forward, v.reply, v.failure?.stage, v.failure?.undecidedBy]).toEqual(["unknown", "unknown", "firewall", `the model cannot read ${OTHER} line 0 "": a vif hook of someone else's may add firewall rules for each vif (iptables-save or nft list ruleset, captured beside the copy, shows them)`]);
      // And what it may set on the vif: the dom0's answer to the guest's ARP request on it is open too.
      const arp = v.hops.filter((h) => h.host === "dom0" && h.stage === "arp").map((h) => h.outcome);
      expect(arp).toEqual(["pass", "unknown"]);
      expect(v.hops.filter((h) => h.host === "dom0" && h.stage === "arp")[1].text).toContain("arp_ignore one of 0, 1, 2 (all 0 (kernel default: no file sets it); webserv-0 0 or 1 or 2 (zz-local.hook))");
      expect(withOther.unreadable.map((u) => u.file)).toEqual([OTHER, OTHER]);
    } finally {
      dom0.destroy();
      tmp.remove();
    }
  }, 60000);
});
