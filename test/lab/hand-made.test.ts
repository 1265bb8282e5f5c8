/**
 * The captured state of the hand-made fixture (test/fixtures/seed-by-hand)
 * is what the real programs print: the article's firewall loop, run by
 * iptables in a namespace of its own, gives the fixture's iptables-save; a
 * fresh namespace with the dom0's sysctl.conf applied, and one without, give
 * its sysctl captures. So the doctor's test reads what a real host shows.
 */
import * as fs from "fs";
import * as path from "path";
import { describeWith, netns } from "../support/tools";

const FIXTURE = path.join(__dirname, "..", "fixtures", "seed-by-hand");
const KEYS = /^net\.ipv4\.(ip_forward|conf\.(all|default)\.(rp_filter|arp_ignore|arp_announce|proxy_arp)) /;

/** The lines of `sysctl -a` the captures keep. */
const kept = (text: string) => text.split("\n").filter((l) => KEYS.test(l)).sort().join("\n");

describeWith(["root", "iptables", "iptables-save", "sysctl", "ip"], "the hand-made fixture's captured state, from the real programs", () => {
  it("the article's firewall loop gives the fixture's iptables-save", () => {
    const ns = netns("fw");
    try {
      const loop = ns.exec("sh", [path.join(FIXTURE, "dom0", "usr", "local", "sbin", "firewall")]);
      expect(loop.stderr).toBe("");
      const saved = ns.exec("iptables-save", []);
      const strip = (t: string) => t.split("\n").filter((l) => !l.startsWith("#")).join("\n");
      expect(strip(saved.stdout)).toBe(strip(fs.readFileSync(path.join(FIXTURE, "dom0.state", "iptables-save"), "utf8")));
    } finally {
      ns.remove();
    }
  });

  it("a new namespace with the dom0's sysctl.conf, and one without, print the fixture's sysctl captures", () => {
    const dom0 = netns("sd");
    const guest = netns("sg");
    try {
      // sysctl.conf sets eth0's proxy_arp too; a namespace has no eth0, so that one line fails, the rest apply.
      dom0.exec("sysctl", ["-p", path.join(FIXTURE, "dom0", "etc", "sysctl.conf")]);
      expect(kept(dom0.exec("sysctl", ["-a"]).stdout)).toBe(kept(fs.readFileSync(path.join(FIXTURE, "dom0.state", "sysctl"), "utf8")));
      expect(kept(guest.exec("sysctl", ["-a"]).stdout)).toBe(kept(fs.readFileSync(path.join(FIXTURE, "webserv.state", "sysctl"), "utf8")));
    } finally {
      dom0.remove();
      guest.remove();
    }
  });
});
