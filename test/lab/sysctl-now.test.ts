/**
 * What a running host's `sysctl -a` shows wins over its files (doctor reads
 * it as `copy/<host>.state/sysctl`): values set at run time, each
 * interface's own among them, against the kernel's verdict. A dom0 and a
 * guest as two namespaces joined by two vifs, the guest's network as made by
 * hand (one default route, by eth0); the client 203.0.113.9 is an address of
 * the dom0's, and pings the guest's second address: the request goes in by
 * eth1, the reply comes back by eth0 and webserv-0. Whether it returns is
 * decided by the rp_filter the test sets at run time in the guest (on eth1)
 * or in the dom0 (on webserv-0), over what the seed's files set. The model
 * reads the seed's files with the hand-made network and each namespace's
 * `sysctl -a`, and must say what the kernel did; from the files alone it
 * says otherwise, which is what the capture is for.
 */
import { Reachability } from "../../lib/reachability";
import type { FlowVerdict } from "../../lib/reachability";
import { renderInterfaces } from "../../lib/render/interfaces";
import { inNamespaces, type Namespace, twoVifs } from "../support/dom0-guest";
import { seedFiles } from "../support/seed";
import { describeWith } from "../support/tools";

const NET = "192.0.2";
const CLIENT = "203.0.113.9";
/** The flow the model is asked: the client to the guest's second address (the kernel's probe is a ping; only the rp_filter and ARP checks differ between the runs). */
const FLOW = { from: CLIENT, to: `${NET}.201`, port: 80 };

/** The seed's files, the guest's network as made by hand (its sysctl file left out: the guest sets nothing), and what each namespace runs now. */
function model(dom0: Namespace | undefined, guest: Namespace | undefined): Reachability {
  const seed = seedFiles({}, NET);
  const f = seedFiles({ guest: { "/etc/network/interfaces": renderInterfaces({ ...seed.model, policyRouting: false }), "/etc/sysctl.d/60-cdktf-xen.conf": undefined } }, NET);
  const sysctl = (ns: Namespace | undefined) => (ns ? ns.exec("sysctl", ["-a"]).stdout : undefined);
  return Reachability.fromFiles({
    dom0: { id: "dom0", uplink: { device: "eth0", address: `${NET}.1/24` }, files: f.dom0, running: { sysctl: sysctl(dom0) } },
    guests: { webserv: f.guest },
    guestsRunning: { webserv: { sysctl: sysctl(guest) } },
  });
}

/** The verdict, and where it failed: `ok`, or `host stage`. */
function said(v: FlowVerdict): string {
  return v.ok ? "ok" : `${v.failure!.host} ${v.failure!.stage}`;
}

/** Whether the guest's second address answers the client's ping (a neighbour entry left from a run before is flushed first). */
function answers(dom0: Namespace, guest: Namespace): boolean {
  for (const [ns, dev] of [[dom0, "webserv-0"], [dom0, "webserv-1"], [guest, "eth0"], [guest, "eth1"]] as const) ns.sh("ip", "neigh", "flush", "dev", dev);
  return dom0.exec("ping", ["-c", "1", "-W", "2", "-I", CLIENT, `${NET}.201`]).status === 0;
}

/** The two namespaces joined, the guest's network made by hand, the client on the dom0's uplink; `dom0Sysctls` and `guestSysctls` set before the vifs exist. */
function handMade(dom0: Namespace, guest: Namespace, dom0Sysctls: string[], guestSysctls: string[]): void {
  dom0.sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ...dom0Sysctls);
  guest.sh("sysctl", "-qw", ...guestSysctls);
  // The uplink: one end of a veth pair whose other end leads nowhere.
  dom0.sh("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-far");
  dom0.sh("ip", "link", "set", "eth0-far", "up");
  dom0.sh("ip", "addr", "add", `${NET}.1/24`, "dev", "eth0");
  dom0.sh("ip", "addr", "add", `${CLIENT}/32`, "dev", "eth0");
  dom0.sh("ip", "link", "set", "eth0", "up");
  dom0.sh("sysctl", "-qw", "net.ipv4.conf.eth0.proxy_arp=1");
  twoVifs(dom0, guest, NET, (vif) => dom0.sh("sysctl", "-qw", `net.ipv4.conf.${vif}.proxy_arp=1`));
  guest.sh("ip", "route", "add", "default", "via", `${NET}.1`, "dev", "eth0");
}

const ALL_OFF = ["net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.all.arp_ignore=0", "net.ipv4.conf.default.arp_ignore=0", "net.ipv4.conf.all.arp_announce=0", "net.ipv4.conf.default.arp_announce=0", "net.ipv4.conf.all.arp_filter=0", "net.ipv4.conf.default.arp_filter=0"];

describeWith(["root", "ip", "ping", "sysctl"], "what sysctl -a shows now: the model agrees with the kernel", () => {
  it("rp_filter set at run time on the guest's eth1: strict drops the request to .201, off lets it in; the files alone say it gets in", () => {
    inNamespaces("sn", (dom0, guest) => {
      // The dom0 loose on its vifs: the guest alone decides.
      handMade(dom0, guest, [...ALL_OFF, "net.ipv4.conf.default.rp_filter=2"], ALL_OFF);
      // The guest read from its files alone (no capture) has the kernel's defaults, no filter: a silent pass where eth1 is strict.
      const at = (rp: number) => {
        guest.sh("sysctl", "-qw", `net.ipv4.conf.eth1.rp_filter=${rp}`);
        return { kernel: answers(dom0, guest), model: said(model(dom0, guest).flow(FLOW)), guestFromFiles: said(model(dom0, undefined).flow(FLOW)) };
      };
      expect({ strict: at(1), off: at(0) }).toEqual({ strict: { kernel: false, model: "webserv arp", guestFromFiles: "ok" }, off: { kernel: true, model: "ok", guestFromFiles: "ok" } });
    });
  });

  it("rp_filter set at run time on the dom0's webserv-0, over the files' strict filter (all 1, the vif hook's 1): loose lets the hand-made network's reply back, strict drops it", () => {
    inNamespaces("sn", (dom0, guest) => {
      handMade(dom0, guest, ["net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.default.rp_filter=1"], ALL_OFF);
      // The dom0 read from its files alone: every vif strict, the reply dropped, where it comes back.
      const at = (all: number, vif: number) => {
        dom0.sh("sysctl", "-qw", `net.ipv4.conf.all.rp_filter=${all}`, `net.ipv4.conf.webserv-0.rp_filter=${vif}`);
        return { kernel: answers(dom0, guest), model: said(model(dom0, guest).flow(FLOW)), dom0FromFiles: said(model(undefined, guest).flow(FLOW)) };
      };
      expect({ loose: at(0, 2), strict: at(1, 1) }).toEqual({ loose: { kernel: true, model: "ok", dom0FromFiles: "dom0 arp" }, strict: { kernel: false, model: "dom0 arp", dom0FromFiles: "dom0 arp" } });
    });
  });
});
