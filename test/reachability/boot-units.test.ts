/**
 * What loads the firewall at boot, as systemd's links in /etc/systemd/system
 * show it: netfilter-persistent (rules.v4 and the ipsets) and nftables.service
 * (/etc/nftables.conf), each only when enabled. test/adopt/boot-units.test.ts
 * has the real systemctl enable, disable and mask them in a copy's root and
 * compares its verdict with the model's.
 */
import { bootStart } from "../../lib/reachability/boot-units";
import { Firewalls } from "../../lib/reachability/firewalls";
import type { Packet } from "../../lib/reachability/packet";
import { ipNum } from "../../lib/reachability/ip";

const WANTS_PERSISTENT = { "/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service": "/lib/systemd/system/netfilter-persistent.service" };
const WANTS_NFTABLES = { "/etc/systemd/system/sysinit.target.wants/nftables.service": "/lib/systemd/system/nftables.service" };
/** Another unit's link: the files show systemd's enablement. */
const SHOWN = { "/etc/systemd/system/multi-user.target.wants/ssh.service": "/lib/systemd/system/ssh.service" };

/** rules.v4: FORWARD accepts all but port 22. */
const RULES = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --dport 22 -j DROP\nCOMMIT\n";
/** nftables.conf: flushes the ruleset, and its forward chain drops port 80. */
const CONF = "#!/usr/sbin/nft -f\nflush ruleset\ntable inet filter {\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n    tcp dport 80 drop\n  }\n}\n";
const BOTH = { "/etc/iptables/rules.v4": RULES, "/etc/nftables.conf": CONF };

function forward(f: Firewalls, dport: number): string {
  const p: Packet = { src: ipNum("198.51.100.5")!, dst: ipNum("192.0.2.10")!, protocol: "tcp", sport: 40000, dport, iif: "eth0", oif: "vif1.0", state: "NEW" };
  return f.outcome("forward", p);
}

/** What is dropped of ports 22 and 80, and the doubts. */
function boot(files: Record<string, string>): { dropped: number[]; doubts: string[] } {
  const f = new Firewalls(files);
  return { dropped: [22, 80].filter((p) => forward(f, p) === "drop"), doubts: f.unreadable.map((u) => `${u.file}:${u.line} ${u.why}`) };
}

describe("whether systemd starts a unit at boot, from /etc/systemd/system", () => {
  it("enabled, masked, not enabled, wanted by a target a boot may not reach, changed by a drop-in or a unit file of its own; not known without systemd's links", () => {
    const cases: [string, Record<string, string>, ReturnType<typeof bootStart>][] = [
      ["not shown", {}, undefined],
      ["enabled", { ...WANTS_NFTABLES }, { starts: true, why: "nftables.service is enabled (/etc/systemd/system/sysinit.target.wants/nftables.service)" }],
      ["not enabled", { ...SHOWN }, { starts: false, why: "nftables.service is not enabled (no link in /etc/systemd/system/*.wants)" }],
      ["masked", { ...WANTS_NFTABLES, "/etc/systemd/system/nftables.service": "/dev/null" }, { starts: false, why: "nftables.service is masked (/etc/systemd/system/nftables.service links to /dev/null)" }],
      ["linked from /usr/lib", { ...WANTS_NFTABLES, "/etc/systemd/system/nftables.service": "/usr/lib/systemd/system/nftables.service" }, { starts: true, why: "nftables.service is enabled (/etc/systemd/system/sysinit.target.wants/nftables.service)" }],
      ["a unit file of its own", { ...WANTS_NFTABLES, "/etc/systemd/system/nftables.service": "[Service]\nExecStart=/usr/local/sbin/fw\n" }, { unknown: { file: "/etc/systemd/system/nftables.service", line: 0, text: "", why: "nftables.service has a unit file of its own in /etc/systemd/system/, which the model does not read" } }],
      ["a drop-in", { ...WANTS_NFTABLES, "/etc/systemd/system/nftables.service.d/override.conf": "[Service]\nExecStart=\n" }, { unknown: { file: "/etc/systemd/system/nftables.service.d/override.conf", line: 0, text: "", why: "a drop-in changes how nftables.service runs, which the model does not read" } }],
      ["wanted by another target", { "/etc/systemd/system/rescue.target.wants/nftables.service": "/lib/systemd/system/nftables.service" }, { unknown: { file: "/etc/systemd/system/rescue.target.wants/nftables.service", line: 0, text: "", why: "nftables.service is wanted by rescue.target, which the model does not know a boot to reach" } }],
      ["wanted by graphical.target (a server's default is multi-user.target)", { "/etc/systemd/system/graphical.target.wants/nftables.service": "/lib/systemd/system/nftables.service" }, { unknown: { file: "/etc/systemd/system/graphical.target.wants/nftables.service", line: 0, text: "", why: "nftables.service is wanted by graphical.target, which the model does not know a boot to reach" } }],
      ["wanted by default.target", { "/etc/systemd/system/default.target.wants/nftables.service": "/lib/systemd/system/nftables.service" }, { starts: true, why: "nftables.service is enabled (/etc/systemd/system/default.target.wants/nftables.service)" }],
    ];
    for (const [what, files, expected] of cases) expect({ what, start: bootStart(files, "nftables.service") }).toEqual({ what, start: expected });
  });
});

describe("the firewall that loads at boot", () => {
  it("each service's files only when it is enabled", () => {
    expect(boot({ ...BOTH, ...WANTS_PERSISTENT })).toEqual({ dropped: [22], doubts: [] });
    expect(boot({ ...BOTH, ...WANTS_NFTABLES })).toEqual({ dropped: [80], doubts: [] });
    expect(boot({ ...BOTH, ...SHOWN })).toEqual({ dropped: [], doubts: [] });
    expect(boot({ ...BOTH, ...WANTS_PERSISTENT, ...WANTS_NFTABLES, "/etc/systemd/system/nftables.service": "/dev/null" })).toEqual({ dropped: [22], doubts: [] });
  });

  it("both enabled, and nftables.conf flushes the ruleset: which runs last is not set, so the firewall is unknown; without the flush both load", () => {
    const race = "/etc/nftables.conf:2 nftables.service and netfilter-persistent.service both load the firewall at boot, in no set order, and nftables.conf flushes the ruleset: if it runs second, iptables' rules from rules.v4 go with it (under iptables' nf_tables backend)";
    expect(boot({ ...BOTH, ...WANTS_PERSISTENT, ...WANTS_NFTABLES })).toEqual({ dropped: [], doubts: [race] });
    expect(boot({ ...BOTH, "/etc/nftables.conf": CONF.replace("flush ruleset\n", ""), ...WANTS_PERSISTENT, ...WANTS_NFTABLES })).toEqual({ dropped: [22, 80], doubts: [] });
    // A rules.v4 with no rule and no policy but ACCEPT decides nothing, flushed or not.
    const empty = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:LOGDROP - [0:0]\nCOMMIT\n";
    expect(boot({ ...BOTH, "/etc/iptables/rules.v4": empty, ...WANTS_PERSISTENT, ...WANTS_NFTABLES })).toEqual({ dropped: [80], doubts: [] });
    expect(boot({ ...BOTH, "/etc/iptables/rules.v4": empty.replace(":FORWARD ACCEPT", ":FORWARD DROP"), ...WANTS_PERSISTENT, ...WANTS_NFTABLES }).doubts).toEqual([race]);
    // Without systemd's links among the files, both are taken to load: the same doubt, and why.
    expect(boot(BOTH)).toEqual({ dropped: [], doubts: [`${race} (whether each starts at boot is not known either: /etc/systemd/system is not among the files)`] });
  });

  it("with netfilter-persistent not enabled, its ipsets file loads no set either: a set an up line's rules match is then unknown", () => {
    const sets = "create adm hash:net family inet hashsize 1024 maxelem 65536\nadd adm 198.51.100.0/24\n";
    const up = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --dport 22 -m set --match-set adm src -j DROP\nCOMMIT\n";
    const command = { file: "/etc/network/interfaces", line: 5, text: "pre-up iptables-restore < /etc/fw.rules", does: { load: "iptables-restore" as const, path: "/etc/fw.rules" } };
    const files = { "/etc/iptables/ipsets": sets, "/etc/fw.rules": up };
    const enabled = new Firewalls({ ...files, ...WANTS_PERSISTENT }, {}, [], [command]);
    expect([enabled.unreadable, forward(enabled, 22)]).toEqual([[], "drop"]);
    const disabled = new Firewalls({ ...files, ...SHOWN }, {}, [], [command]);
    expect([disabled.unreadable, forward(disabled, 22)]).toEqual([[], "unknown"]);
  });

  it("a copy without nftables.conf that shows systemd's links loads no nftables file at boot, the library's own either", () => {
    const ours = { "/etc/cdktf-xen/firewall.nft": "table inet cdktf_xen {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n    tcp dport 22 drop\n  }\n}\n" };
    expect(boot(ours)).toEqual({ dropped: [22], doubts: [] });
    expect(boot({ ...ours, ...SHOWN })).toEqual({ dropped: [], doubts: [] });
  });
});
