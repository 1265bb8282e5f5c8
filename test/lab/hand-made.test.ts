/**
 * The captured state of the hand-made fixture (test/fixtures/seed-by-hand)
 * is what the real programs print: the article's firewall loop, run by
 * iptables in a namespace of its own, gives the fixture's iptables-save; a
 * fresh namespace with the dom0's sysctl.conf applied, and one without, give
 * its sysctl captures. So the doctor's test reads what a real host shows.
 * And a hand-written rules.v4 with a line the model cannot read, as the
 * kernel loads it, beside the model's verdict on it.
 */
import * as fs from "fs";
import * as path from "path";
import { CONF_KEYS } from "../../lib/reachability/sysctl";
import { seedFiles, seedReachability } from "../support/seed";
import { describeWith, netns } from "../support/tools";

const FIXTURE = path.join(__dirname, "..", "fixtures", "seed-by-hand");
const KEYS = new RegExp(`^net\\.ipv4\\.(ip_forward|conf\\.(all|default)\\.(${CONF_KEYS.join("|")})) `);

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

describeWith(["root", "iptables-restore", "iptables", "ip"], "a hand-written rules.v4 the model reads only in part, loaded by the kernel", () => {
  it("an -I insert goes before every rule the model reads: the kernel accepts what the readable rules drop, and the model says unknown, not dropped", () => {
    const inserted = seedFiles().dom0["/etc/iptables/rules.v4"].replace("COMMIT", "-I FORWARD 1 -p tcp --dport 8080 -j ACCEPT\nCOMMIT");
    const ns = netns("ins");
    try {
      const load = ns.exec("iptables-restore", [], inserted);
      expect([load.status, load.stderr]).toEqual([0, ""]);
      // The kernel's FORWARD chain: the policy drops, the inserted rule comes first and accepts tcp/8080.
      expect(ns.sh("iptables", "-S", "FORWARD").split("\n").slice(0, 2)).toEqual(["-P FORWARD DROP", "-A FORWARD -p tcp -m tcp --dport 8080 -j ACCEPT"]);
    } finally {
      ns.remove();
    }
    const v = seedReachability({ dom0: { "/etc/iptables/rules.v4": inserted } }).flow({ from: "203.0.113.9", to: "192.168.0.200", port: 8080 });
    expect([v.forward, v.failure?.undecidedBy]).toEqual(["unknown", expect.stringContaining("only -A rules are read by the model")]);
  });
});
