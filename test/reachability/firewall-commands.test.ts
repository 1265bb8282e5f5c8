/**
 * Firewall commands in an interfaces file's up lines (the Debian recipe
 * `pre-up iptables-restore < /etc/iptables.up.rules`): what the model takes
 * each for, and the firewall they load, in place of a doubt on the host's
 * routes. test/render/real-tools.test.ts has real ifup run such lines and
 * compares the firewall the kernel holds after them.
 */
import { readFirewallCommand } from "../../lib/reachability/ifupdown";
import { seedFiles, seedReachability } from "../support/seed";

describe("what an up line does to the firewall", () => {
  it("loads a file, changes it unread, changes nothing the model reads, or is no firewall command", () => {
    const cases: [string, ReturnType<typeof readFirewallCommand>][] = [
      ["iptables-restore < /etc/iptables.up.rules", { load: "iptables-restore", path: "/etc/iptables.up.rules" }],
      ["/sbin/iptables-restore -c /etc/fw.rules", { load: "iptables-restore", path: "/etc/fw.rules" }],
      ["iptables-nft-restore -w </etc/fw.rules || true", { load: "iptables-restore", path: "/etc/fw.rules" }],
      ["iptables-restore --noflush < /etc/fw.rules", { unread: "iptables-restore --noflush adds to the rules loaded before it, which the model does not read" }],
      ["iptables-restore -T nat < /etc/fw.rules", { unread: "iptables-restore -T is not read by the model" }],
      ["iptables-restore /etc/a.rules /etc/b.rules", { unread: "iptables-restore given more than one file is not read by the model" }],
      ["iptables-restore < fw.rules", { unread: "fw.rules: a path relative to where ifup runs is not read by the model" }],
      ["iptables-restore", { unread: "iptables-restore with no file named is not read by the model" }],
      ["iptables-restore --test < /etc/fw.rules", { none: "iptables-restore --test loads nothing" }],
      ["ipset restore -exist < /etc/ipset.conf", { load: "ipset", path: "/etc/ipset.conf" }],
      ["ipset -! restore -file /etc/ipset.conf", { load: "ipset", path: "/etc/ipset.conf" }],
      ["ipset restore -file /etc/a.conf < /etc/b.conf", { unread: "ipset restore -file /etc/a.conf is not read by the model" }],
      ["ipset add adm 192.0.2.1", { unread: "ipset add changes the firewall in a way the model does not read" }],
      ["nft -f /etc/fw.nft", { load: "nft", path: "/etc/fw.nft" }],
      ["nft -c -f /etc/fw.nft", { none: "nft -c -f /etc/fw.nft loads nothing" }],
      ["nft add rule inet f input drop", { unread: "nft add changes the firewall in a way the model does not read" }],
      ["iptables -A INPUT -p tcp --dport 22 -j ACCEPT", { unread: "iptables -A changes the firewall in a way the model does not read" }],
      ["/usr/sbin/iptables -t filter -I FORWARD -j DROP 2>/dev/null", { unread: "iptables -t changes the firewall in a way the model does not read" }],
      ["ip6tables-restore < /etc/iptables/rules.v6", { none: "ip6tables-restore changes the IPv6 firewall alone" }],
      // A rule of another table may change where packets go; shell beyond one redirection may do anything; so may a program elsewhere.
      ["iptables -t nat -A PREROUTING -j DNAT --to-destination 192.0.2.5", null],
      ["iptables -t mangle -A PREROUTING -j MARK --set-mark 1", null],
      ["iptables-restore < /etc/fw.rules; ip route add default via 192.0.2.1", null],
      ["cat /etc/fw.rules | iptables-restore", null],
      ["iptables-restore < $RULES", null],
      ["/opt/fw/iptables-restore < /etc/fw.rules", null],
      ["ip route add default via 192.0.2.1 dev eth0", null],
    ];
    expect(cases.map(([cmd]) => [cmd, readFirewallCommand(cmd)])).toEqual(cases);
  });
});

/** The seed guest's interfaces file with `lines` added to eth0's stanza (after its gateway), and to eth1's. */
function guestInterfaces(eth0: string[], eth1: string[] = []): string {
  const base = seedFiles().guest["/etc/network/interfaces"];
  return base
    .replace("    gateway 192.168.0.1\n", `    gateway 192.168.0.1\n${eth0.map((l) => `    ${l}\n`).join("")}`)
    .replace("    address 192.168.0.201/24\n", `    address 192.168.0.201/24\n${eth1.map((l) => `    ${l}\n`).join("")}`);
}

/** A filter table that lets in tcp to `port` alone (and what belongs to a connection). */
function onlyPort(port: number): string {
  return ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]", "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", `-A INPUT -p tcp -m tcp --dport ${port} -j ACCEPT`, "COMMIT", ""].join("\n");
}

const OUTSIDE = "203.0.113.9";

describe("the firewall a guest's up lines load", () => {
  const verdicts = (m: ReturnType<typeof seedReachability>) => [80, 443].map((port) => m.flow({ from: OUTSIDE, to: "192.168.0.200", port }).summary);

  it("is the guest's firewall, and leaves its routes as they are", () => {
    const m = seedReachability({ guest: { "/etc/network/interfaces": guestInterfaces(["pre-up iptables-restore < /etc/iptables.up.rules"]), "/etc/iptables.up.rules": onlyPort(443) } });
    expect(m.unreadable).toEqual([]);
    expect(verdicts(m)).toEqual([
      "tcp 203.0.113.9 -> 192.168.0.200:80: request dropped at webserv (firewall): INPUT in on eth0, new connection: iptables.up.rules: no rule of INPUT matches, policy DROP",
      "tcp 203.0.113.9 -> 192.168.0.200:443: delivered and the reply returns",
    ]);
  });

  it("wins over rules.v4, which netfilter-persistent loads before ifup runs", () => {
    const m = seedReachability({ guest: { "/etc/network/interfaces": guestInterfaces(["up iptables-restore /etc/iptables.up.rules"]), "/etc/iptables.up.rules": onlyPort(443), "/etc/iptables/rules.v4": onlyPort(80) } });
    expect(verdicts(m)).toEqual([
      "tcp 203.0.113.9 -> 192.168.0.200:80: request dropped at webserv (firewall): INPUT in on eth0, new connection: iptables.up.rules: no rule of INPUT matches, policy DROP",
      "tcp 203.0.113.9 -> 192.168.0.200:443: delivered and the reply returns",
    ]);
    // The last file with a filter table loaded is the filter: eth1 comes up after eth0.
    const later = seedReachability({ guest: { "/etc/network/interfaces": guestInterfaces(["up iptables-restore /etc/iptables.up.rules"], ["post-up iptables-restore < /etc/later.rules"]), "/etc/iptables.up.rules": onlyPort(443), "/etc/later.rules": onlyPort(80) } });
    expect(verdicts(later)).toEqual([
      "tcp 203.0.113.9 -> 192.168.0.200:80: delivered and the reply returns",
      "tcp 203.0.113.9 -> 192.168.0.200:443: request dropped at webserv (firewall): INPUT in on eth0, new connection: later.rules: no rule of INPUT matches, policy DROP",
    ]);
  });

  it("a file without a filter table leaves the filter loaded before; its other tables are doubts", () => {
    const nat = ["*nat", ":PREROUTING ACCEPT [0:0]", "-A PREROUTING -p tcp --dport 8080 -j REDIRECT --to-ports 80", "COMMIT", ""].join("\n");
    const m = seedReachability({ guest: { "/etc/network/interfaces": guestInterfaces(["up iptables-restore /etc/iptables.up.rules", "up iptables-restore /etc/nat.rules"]), "/etc/iptables.up.rules": onlyPort(443), "/etc/nat.rules": nat } });
    expect(m.unreadable.map((u) => `${u.file} ${u.line}: ${u.why}`)).toEqual(["/etc/nat.rules 3: the nat table is not read by the model"]);
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 }).forward).toBe("unknown");
  });

  it("a file the files do not hold, or a change not read, leaves the firewall unknown and the routes known", () => {
    const m = seedReachability({ guest: { "/etc/network/interfaces": guestInterfaces(["pre-up iptables-restore < /etc/iptables.up.rules", "post-up iptables -A INPUT -p tcp --dport 22 -j ACCEPT"]) } });
    expect(m.unreadable.map((u) => `${u.file} ${u.line}: ${u.why}`)).toEqual([
      "/etc/network/interfaces 9: loads /etc/iptables.up.rules, which the files do not hold (iptables-save or nft list ruleset, captured beside the copy, shows what runs)",
      "/etc/network/interfaces 10: iptables -A changes the firewall in a way the model does not read (iptables-save or nft list ruleset, captured beside the copy, shows what runs)",
    ]);
    const v = m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect(v.hops.filter((h) => h.outcome !== "pass").map((h) => `${h.host} ${h.stage} ${h.outcome}`)).toEqual(["webserv firewall unknown", "webserv firewall unknown"]);
  });

  it("is in what the guest runs now, when captured: the capture stands, the lines need no file", () => {
    const m = seedReachability({ guest: { "/etc/network/interfaces": guestInterfaces(["pre-up iptables-restore < /etc/iptables.up.rules"]) } }, "192.168.0", { guestsRunning: { webserv: { iptablesSave: onlyPort(80) } } });
    expect(m.unreadable).toEqual([]);
    expect(verdicts(m)).toEqual([
      "tcp 203.0.113.9 -> 192.168.0.200:80: delivered and the reply returns",
      "tcp 203.0.113.9 -> 192.168.0.200:443: request dropped at webserv (firewall): INPUT in on eth0, new connection: iptables-save: no rule of INPUT matches, policy DROP",
    ]);
  });

  it("an nft file that flushes the ruleset after other rules were loaded: what remains is unknown (test/render/real-tools.test.ts shows the kernel drop iptables' rules with it); loaded first, it is read", () => {
    const nft = "flush ruleset\ntable inet f {\n  chain input {\n    type filter hook input priority 0; policy accept;\n  }\n}\n";
    const after = seedReachability({ guest: { "/etc/network/interfaces": guestInterfaces(["pre-up iptables-restore < /etc/iptables.up.rules", "up nft -f /etc/fw.nft"]), "/etc/iptables.up.rules": onlyPort(443), "/etc/fw.nft": nft } });
    expect(after.unreadable.map((u) => `${u.file} ${u.line}: ${u.why}`)).toEqual([
      "/etc/network/interfaces 10: /etc/fw.nft flushes the ruleset, and with it what was loaded before (iptables' rules too, under its nf_tables backend): what remains is not read by the model (nft list ruleset, captured beside the copy, shows what runs)",
    ]);
    expect(verdicts(after).map((v) => v.split(": ")[1])).toEqual(["request unknown at webserv (firewall)", "request unknown at webserv (firewall)"]);
    const alone = seedReachability({ guest: { "/etc/network/interfaces": guestInterfaces(["up nft -f /etc/fw.nft"]), "/etc/fw.nft": nft } });
    expect([alone.unreadable, verdicts(alone)]).toEqual([[], ["tcp 203.0.113.9 -> 192.168.0.200:80: delivered and the reply returns", "tcp 203.0.113.9 -> 192.168.0.200:443: delivered and the reply returns"]]);
  });

  it("the sets an ipset line loads are read beside the rules (iptables-save shows rules, not sets)", () => {
    const sets = "create adm hash:net family inet\nadd adm 203.0.113.0/24\n";
    const rules = ["*filter", ":INPUT DROP [0:0]", "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", "-A INPUT -p tcp -m tcp --dport 80 -m set --match-set adm src -j ACCEPT", "COMMIT", ""].join("\n");
    const lines = ["pre-up ipset restore -exist < /etc/ipset.conf", "pre-up iptables-restore < /etc/iptables.up.rules"];
    const files = { "/etc/network/interfaces": guestInterfaces(lines), "/etc/ipset.conf": sets, "/etc/iptables.up.rules": rules };
    const from = (m: ReturnType<typeof seedReachability>) => [OUTSIDE, "198.51.100.9"].map((c) => m.flow({ from: c, to: "192.168.0.200", port: 80 }).forward);
    expect(from(seedReachability({ guest: files }))).toEqual(["delivered", "dropped"]);
    expect(from(seedReachability({ guest: { ...files, "/etc/iptables.up.rules": undefined } }, "192.168.0", { guestsRunning: { webserv: { iptablesSave: rules } } }))).toEqual(["delivered", "dropped"]);
    // Without the sets file, the set's members are not known.
    expect(from(seedReachability({ guest: { ...files, "/etc/ipset.conf": undefined } }))).toEqual(["unknown", "unknown"]);
  });
});

describe("the firewall a dom0's up lines load", () => {
  const interfaces = ["auto eth0", "iface eth0 inet static", "    address 192.168.0.1/24", "    gateway 192.168.0.254", "    pre-up iptables-restore < /etc/iptables.up.rules", ""].join("\n");
  const forwardOnly443 = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]", "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-A FORWARD -d 192.168.0.200/32 -p tcp -m tcp --dport 443 -j ACCEPT", "COMMIT", ""].join("\n");

  it("replaces the filter of rules.v4; its routes stay known", () => {
    const m = seedReachability({ dom0: { "/etc/network/interfaces": interfaces, "/etc/iptables.up.rules": forwardOnly443 } });
    expect(m.unreadable).toEqual([]);
    expect([80, 443].map((port) => m.flow({ from: OUTSIDE, to: "192.168.0.200", port }).summary)).toEqual([
      "tcp 203.0.113.9 -> 192.168.0.200:80: request dropped at dom0 (firewall): FORWARD eth0 -> webserv-0, new connection: iptables.up.rules: no rule of FORWARD matches, policy DROP",
      "tcp 203.0.113.9 -> 192.168.0.200:443: delivered and the reply returns",
    ]);
  });

  it("without the file it loads, the dom0's firewall is unknown, and only it", () => {
    const v = seedReachability({ dom0: { "/etc/network/interfaces": interfaces } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect(v.hops.filter((h) => h.outcome !== "pass").map((h) => `${h.host} ${h.stage} ${h.outcome}`)).toEqual(["dom0 firewall unknown", "dom0 firewall unknown"]);
  });
});
