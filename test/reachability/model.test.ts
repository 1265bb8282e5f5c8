/**
 * The reachability model on the files of the seed stack, on hand-made
 * variants of them, and on constructs it cannot read. Exact expectations:
 * the lab (test/lab) checks that the model agrees with the kernel.
 */
import { dom0Reachability } from "../support/dom0-model";
import { Reachability } from "../../lib/reachability";
import { CONF_KEYS, KernelSettings, readSysctlDump } from "../../lib/reachability/sysctl";
import { renderInterfaces } from "../../lib/render/interfaces";
import { gatewayBehindFirstVif, seedFiles, seedReachability, seedStack } from "../support/seed";

const model = seedReachability;

const HAND_MADE = renderInterfaces({ ...seedFiles().model, policyRouting: false });
const OUTSIDE = "203.0.113.9";
const NEAR = "192.168.0.50";

describe("the verdict alone, as the proof at synth asks it", () => {
  it("equals the verdict of the trace for every flow, on the seed's files and on variants that drop, doubt or loosen", () => {
    const variants: [string, Reachability][] = [
      ["seed", model()],
      ["hand-made network", model({ guest: { "/etc/network/interfaces": HAND_MADE } })],
      ["loose vifs", model({ dom0: { "/etc/xen/scripts/vif-post.d/cdktf-xen.hook": seedFiles().dom0["/etc/xen/scripts/vif-post.d/cdktf-xen.hook"].replace("CDKTF_XEN_LOOSE_VIFS=''", "CDKTF_XEN_LOOSE_VIFS='webserv-0 webserv-1'") }, guest: { "/etc/network/interfaces": HAND_MADE } })],
      ["a vif hook of someone else's", model({ dom0: { "/etc/xen/scripts/vif-post.d/cdktf-xen.hook": "echo 2 > /proc/sys/net/ipv4/conf/$dev/rp_filter\n" } })],
      ["no guest sysctl file", model({ guest: { "/etc/sysctl.d/60-cdktf-xen.conf": undefined } })],
      ["no dom0 sysctl file", model({ dom0: { "/etc/sysctl.d/60-cdktf-xen.conf": undefined } })],
      ["no firewall", model({ dom0: { "/etc/iptables/rules.v4": undefined } })],
      ["a dom0 interfaces file with a route away from the uplink", model({ dom0: { "/etc/network/interfaces": "auto eth0\niface eth0 inet static\n    address 192.168.0.1/24\n\nauto eth1\niface eth1 inet static\n    address 198.51.100.1/24\n    post-up ip route add 192.168.0.50/32 via 198.51.100.254 dev eth1\n    post-up tc qdisc add dev eth1 root netem\n" } })],
      ["arp_filter on a hand-made network", model({ guest: { "/etc/network/interfaces": HAND_MADE, "/etc/sysctl.d/70-arp-filter.conf": "net.ipv4.conf.all.arp_filter = 1\n" } })],
    ];
    let asked = 0;
    const outcomes = new Set<string>();
    for (const [name, m] of variants) {
      for (const to of ["192.168.0.200", "192.168.0.201", "192.168.0.1", "192.168.0.199"]) {
        for (const from of [OUTSIDE, NEAR]) {
          for (const port of [22, 80, 443]) {
            for (const q of [{ from, to, port }, { from, to, port, apache: true }, { from, to, port, protocol: "udp" as const }]) {
              // flow() makes its trace when read (hops), and refuses one whose verdict differs from its own.
              const { forward, reply, ok, hops } = m.flow(q);
              expect(hops.length).toBeGreaterThan(0);
              const alone = m._outcome(q);
              expect({ name, q, forward: alone.forward, reply: alone.reply, ok: alone.ok }).toEqual({ name, q, forward, reply, ok });
              outcomes.add(`${forward}/${reply}`);
              asked++;
            }
          }
        }
      }
    }
    expect(asked).toBe(variants.length * 4 * 2 * 3 * 3);
    // The variants reach every kind of verdict, so that a check the two evaluations disagree on shows.
    expect([...outcomes].sort()).toEqual(["delivered/dropped", "delivered/returned", "dropped/not sent", "unknown/not sent", "unknown/unknown"]);
  });
});

describe("the model on the seed stack's files", () => {
  it("reads every file: nothing is left unread", () => {
    expect(model().unreadable).toEqual([]);
  });

  it("every address answers, from the uplink's subnet and from behind its router, and the reply comes back by the same vif", () => {
    const m = model();
    for (const to of ["192.168.0.200", "192.168.0.201", "192.168.0.202"]) {
      for (const from of [NEAR, OUTSIDE]) {
        const v = m.flow({ from, to, port: 80, apache: true });
        expect({ to, from, summary: v.summary }).toEqual({ to, from, summary: `tcp ${from} -> ${to}:80: delivered and the reply returns` });
      }
    }
    const hops = m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80, apache: true }).hops;
    expect(hops.map((h) => `${h.outcome} ${h.host} ${h.stage}`)).toEqual([
      "pass dom0 arp", "pass dom0 rp_filter", "pass dom0 forwarding", "pass dom0 route", "pass dom0 firewall",
      "pass webserv arp", "pass webserv rp_filter", "pass webserv deliver", "pass webserv listen",
      "pass webserv route", "pass dom0 arp", "pass dom0 rp_filter", "pass dom0 route", "pass dom0 firewall",
    ]);
    expect(hops[4].text).toBe('FORWARD eth0 -> webserv-1, new connection: rules.v4 line 14 "-A FORWARD -d 192.168.0.201/32 -o webserv-1 -p tcp -m multiport --dports 80,443 -j ACCEPT": ACCEPT');
    expect(hops[9].text).toBe('reply from 192.168.0.201 leaves the guest by eth1 (rule 1001 ("from 192.168.0.201 lookup 101 priority 1001", interfaces line 22), table 101: default via 192.168.0.1 dev eth1 (interfaces line 20))');
    expect(hops[13].text).toBe('FORWARD webserv-1 -> eth0, reply (established): rules.v4 line 11 "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT": ACCEPT');
  });

  it("Apache serves an address:port from the vhost named with that address before a <VirtualHost *:80> (Debian's 000-default)", () => {
    const site = seedFiles().guest["/etc/apache2/sites-available/site-b.conf"];
    const m = model({ guest: { "/etc/apache2/sites-enabled/000-default.conf": "<VirtualHost *:80>\n    DocumentRoot /var/www/html\n</VirtualHost>\n", "/etc/apache2/sites-enabled/site-b.conf": site } });
    const listen = m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80, apache: true }).hops.find((h) => h.stage === "listen")!;
    expect(listen.text).toBe("Apache listens on 192.168.0.201:80 (ports.conf line 3), site site-b (site-b.conf line 2)");
    // Sites that are not enabled serve nothing: with sites-enabled in the files, only its sites count.
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80, apache: true }).hops.find((h) => h.stage === "listen")!.text).toBe(
      "Apache listens on 192.168.0.200:80 (ports.conf line 2), site 000-default (000-default.conf line 1)",
    );
  });

  it("a Listen the files leave open (in an <IfDefine>) makes Apache's part unknown, and says why; one the files hold, with a site the files leave open, says so too", () => {
    const ports = seedFiles().guest["/etc/apache2/ports.conf"];
    const m = model({ guest: { "/etc/apache2/ports.conf": ports.replace("Listen 192.168.0.200:80\n", "<IfDefine STAGING>\nListen 192.168.0.200:80\n</IfDefine>\n") } });
    const v = m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80, apache: true });
    expect([v.forward, v.failure?.stage, v.failure?.text]).toEqual(["unknown", "listen", "Apache may listen on 192.168.0.200:80 (ports.conf line 3), site site-a (site-a.conf line 2); <IfDefine STAGING>: what apache2 is started with (-D) is not in the files"]);
    const site = seedFiles().guest["/etc/apache2/sites-available/site-b.conf"];
    const w = model({ guest: { "/etc/apache2/sites-available/site-b.conf": `<IfDefine STAGING>\n${site}</IfDefine>\n` } }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80, apache: true });
    expect(w.failure?.text).toBe("Apache listens on 192.168.0.201:80 (ports.conf line 3), site site-b (site-b.conf line 3); <IfDefine STAGING>: what apache2 is started with (-D) is not in the files");
  });

  it("a port no rule opens is dropped by the FORWARD policy", () => {
    expect(model().flow({ from: OUTSIDE, to: "192.168.0.200", port: 22 }).summary).toBe(
      "tcp 203.0.113.9 -> 192.168.0.200:22: request dropped at dom0 (firewall): FORWARD eth0 -> webserv-0, new connection: rules.v4: no rule of FORWARD matches, policy DROP",
    );
  });

  it("UDP to a TCP-only rule is dropped; an address no vif routes is not delivered", () => {
    const m = model();
    expect(m.flow({ protocol: "udp", from: OUTSIDE, to: "192.168.0.200", port: 80 }).failure?.stage).toBe("firewall");
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.99", port: 80 }).summary).toBe(
      "tcp 203.0.113.9 -> 192.168.0.99:80: request dropped at dom0 (route): 192.168.0.99: the dom0 routes it via eth0, not a guest's vif (main table: 192.168.0.0/24 dev eth0 src 192.168.0.1 (the dom0's uplink address)): no vif of the xl configs has ip=192.168.0.99",
    );
  });

  it("a question it cannot ask is refused, naming what is wrong and what it takes, never answered", () => {
    const m = model();
    const asked = { from: OUTSIDE, to: "192.168.0.200", port: 80 };
    expect(m.flow(asked).ok).toBe(true);
    const refused = (q: object) => {
      const full = { ...asked, ...q } as Parameters<Reachability["flow"]>[0];
      expect(() => m._outcome(full)).toThrow();
      try {
        m.flow(full);
      } catch (e) {
        return (e as Error).message;
      }
      return "answered";
    };
    expect(refused({ from: "203.0.113.9/24" })).toBe("flow 203.0.113.9/24 -> 192.168.0.200: expected IPv4 addresses");
    expect(refused({ to: "192.168.0.256" })).toBe("flow 203.0.113.9 -> 192.168.0.256: expected IPv4 addresses");
    expect(refused({ port: 70000 })).toBe("flow 203.0.113.9 -> 192.168.0.200: port 70000: expected an integer from 1 to 65535");
    expect(refused({ port: 0 })).toBe("flow 203.0.113.9 -> 192.168.0.200: port 0: expected an integer from 1 to 65535");
    expect(refused({ port: 80.5 })).toBe("flow 203.0.113.9 -> 192.168.0.200: port 80.5: expected an integer from 1 to 65535");
    expect(refused({ port: "80" })).toBe('flow 203.0.113.9 -> 192.168.0.200: port "80": expected an integer from 1 to 65535');
    expect(refused({ sourcePort: -1 })).toBe("flow 203.0.113.9 -> 192.168.0.200: sourcePort -1: expected an integer from 1 to 65535");
    expect(refused({ protocol: "icmp" })).toBe('flow 203.0.113.9 -> 192.168.0.200: protocol "icmp": expected "tcp" or "udp"');
  });
});

describe("the model on hand-made files: the seed's black hole", () => {
  it("only the first address answers; the reply from the others leaves by eth0 and dies at the dom0's strict rp_filter", () => {
    const m = model({ guest: { "/etc/network/interfaces": HAND_MADE, "/etc/iproute2/rt_tables.d/cdktf-xen.conf": undefined } });
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80, apache: true }).ok).toBe(true);
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80, apache: true }).summary).toBe(
      "tcp 203.0.113.9 -> 192.168.0.201:80: reply dropped at dom0 (rp_filter): reply from 192.168.0.201 leaves the guest by eth0 (main table: default via 192.168.0.1 dev eth0 (interfaces line 8, gateway)); reaches the dom0 on webserv-0; in on webserv-0, strict rp_filter drops it: 192.168.0.201 is routed via webserv-1 (main table: 192.168.0.201 dev webserv-1 src 192.168.0.1 (vif-route, webserv.cfg vif 1)); rp_filter 1 (all 1 (60-cdktf-xen.conf line 5); webserv-0 1 (cdktf-xen.hook))",
    );
    const near = m.flow({ from: NEAR, to: "192.168.0.202", port: 80 });
    expect([near.forward, near.reply]).toEqual(["delivered", "dropped"]);
    expect(near.summary).toContain("reply from 192.168.0.202 leaves the guest by eth0 (main table, the first of 3 routes to 192.168.0.0/24: 192.168.0.0/24 dev eth0 src 192.168.0.200 (interfaces line 7, the prefix route of eth0))");
  });

  it("a guest with its own strict rp_filter drops the request already (the route back leaves by eth0)", () => {
    const strict = "net.ipv4.conf.all.rp_filter = 1\n";
    const m = model({ guest: { "/etc/network/interfaces": HAND_MADE, "/etc/sysctl.d/10-strict.conf": strict } });
    const v = m.flow({ from: NEAR, to: "192.168.0.201", port: 80 });
    expect([v.forward, v.failure?.host, v.failure?.stage]).toEqual(["dropped", "webserv", "arp"]);
    expect(v.failure?.text).toContain("the guest does not answer: in on eth1, strict rp_filter drops it: 192.168.0.1 is routed via eth0");
    // With policy routing the same strict filter passes: the route back from .201 leaves by eth1.
    expect(model({ guest: { "/etc/sysctl.d/10-strict.conf": strict } }).flow({ from: NEAR, to: "192.168.0.201", port: 80 }).ok).toBe(true);
  });

  it("a guest's baseline (what it boots with) counts where no file sets the key: the same files with a strict baseline drop the request", () => {
    const withBaseline = (rp: number) =>
      model({ guest: { "/etc/network/interfaces": HAND_MADE } }, undefined, {
        // A key the baseline leaves out could have any value (arp_filter's would leave the ARP answer for .201 open).
        guestBaseline: { "net.ipv4.conf.all.rp_filter": rp, "net.ipv4.conf.default.rp_filter": rp, "net.ipv4.conf.all.arp_filter": 0, "net.ipv4.conf.default.arp_filter": 0 },
      }).flow({ from: NEAR, to: "192.168.0.201", port: 80 });
    // One model after the other, on the same files: each guest's settings are its own baseline's.
    const [loose, strict, looseAgain] = [withBaseline(0), withBaseline(1), withBaseline(0)];
    expect([loose.forward, strict.forward, looseAgain.forward]).toEqual(["delivered", "dropped", "delivered"]);
    expect(strict.failure?.text).toContain("strict rp_filter drops it: 192.168.0.1 is routed via eth0");
  });

  it("sysctl.d files apply in byte order of their names, as systemd-sysctl sorts them (upper case before lower case)", () => {
    // 10-Z.conf sorts before 10-a.conf: the strict filter is overridden, and the request reaches the guest.
    const m = model({ guest: { "/etc/network/interfaces": HAND_MADE, "/etc/sysctl.d/10-a.conf": "net.ipv4.conf.all.rp_filter = 0\n", "/etc/sysctl.d/10-Z.conf": "net.ipv4.conf.all.rp_filter = 1\n" } });
    const v = m.flow({ from: NEAR, to: "192.168.0.201", port: 80 });
    expect([v.forward, v.reply, v.failure?.host, v.failure?.stage]).toEqual(["delivered", "dropped", "dom0", "rp_filter"]);
    const swapped = model({ guest: { "/etc/network/interfaces": HAND_MADE, "/etc/sysctl.d/10-a.conf": "net.ipv4.conf.all.rp_filter = 1\n", "/etc/sysctl.d/10-Z.conf": "net.ipv4.conf.all.rp_filter = 0\n" } });
    expect([swapped.flow({ from: NEAR, to: "192.168.0.201", port: 80 }).failure?.stage]).toEqual(["arp"]);
  });

  it("net.ipv4.conf.all.forwarding is ip_forward (test/lab/forwarding-sysctl.test.ts checks both against the kernel); one interface's forwarding, a glob key or a value that is not a number leaves what it may set open", () => {
    const dom0Sysctl = seedFiles().dom0["/etc/sysctl.d/60-cdktf-xen.conf"];
    const withDom0 = (text: string) => model({ dom0: { "/etc/sysctl.d/60-cdktf-xen.conf": text } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    const noForward = dom0Sysctl.replace("net.ipv4.ip_forward = 1\n", "");
    expect(noForward).not.toBe(dom0Sysctl);
    expect([withDom0(noForward).forward, withDom0(noForward).failure?.stage]).toEqual(["dropped", "forwarding"]);
    expect(withDom0(`${noForward}net.ipv4.conf.all.forwarding = 1\n`).ok).toBe(true);
    // A later line turns it off again, whichever name it uses.
    expect(withDom0(`${dom0Sysctl}net.ipv4.conf.all.forwarding = 0\n`).forward).toBe("dropped");
    const oneIface = withDom0(`${dom0Sysctl}net.ipv4.conf.default.forwarding = 0\n`);
    expect([oneIface.reply, oneIface.failure?.stage]).toEqual(["unknown", "forwarding"]);
    expect(oneIface.failure?.text).toMatch(/^ip_forward any value: 60-cdktf-xen\.conf line \d+ may set it, and the model cannot read that line$/);
    // A glob key may set rp_filter on every interface: the strict filter that drops the hand-made network's reply may not be there.
    const glob = model({ dom0: { "/etc/sysctl.d/99-glob.conf": "net.ipv4.conf.*.rp_filter = 2\n" }, guest: { "/etc/network/interfaces": HAND_MADE } }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect([glob.reply, glob.failure?.stage, glob.failure?.text]).toEqual(["unknown", "rp_filter", expect.stringContaining("any value: 99-glob.conf line 1 may set it")]);
    expect(model({ guest: { "/etc/sysctl.d/99-x.conf": "net.ipv4.conf.all.arp_ignore = one\n" } }).unreadable.map((u) => u.why)).toEqual(["the value is not a number"]);
  });

  it("without arp_announce 2 the guest's ARP for its router goes out with the wrong address, and the dom0 ignores it", () => {
    const m = model({ guest: { "/etc/network/interfaces": HAND_MADE, "/etc/sysctl.d/60-cdktf-xen.conf": "net.ipv4.conf.all.arp_ignore = 1\n" } });
    const v = m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect([v.reply, v.failure?.stage]).toEqual(["dropped", "arp"]);
    expect(v.failure?.text).toBe(
      "the guest asks on eth0 who has 192.168.0.1 (its gateway), as 192.168.0.201 (arp_announce 0 (all 0 (kernel default: no file sets it); eth0 0 (default))); the dom0 ignores the ARP request from 192.168.0.201: in on webserv-0, strict rp_filter drops it: 192.168.0.201 is routed via webserv-1 (main table: 192.168.0.201 dev webserv-1 src 192.168.0.1 (vif-route, webserv.cfg vif 1)); rp_filter 1 (all 1 (60-cdktf-xen.conf line 5); webserv-0 1 (cdktf-xen.hook))",
    );
  });

  it("interface names pinned to the wrong MACs: the dom0 asks on webserv-1, and the interface behind it does not have the address", () => {
    const { guest } = seedFiles();
    const swapped = guest["/etc/iftab"].replace("eth1 mac de:ad:be:ef:00:01", "eth1 mac de:ad:be:ef:00:02").replace("eth2 mac de:ad:be:ef:00:02", "eth2 mac de:ad:be:ef:00:01");
    const v = model({ guest: { "/etc/iftab": swapped } }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect(v.failure).toEqual({
      host: "webserv",
      stage: "arp",
      outcome: "drop",
      text: "the dom0 asks who has 192.168.0.201: webserv-1 is eth2 in the guest (MAC de:ad:be:ef:00:01, iftab line 4); 192.168.0.201 is on eth1, not eth2, the guest does not answer (arp_ignore 1 (all 1 (60-cdktf-xen.conf line 4); eth2 not set by the files))",
    });
  });

  it("a loose rp_filter on the vifs lets the hand-made network's replies through, and says why", () => {
    const hook = seedFiles().dom0["/etc/xen/scripts/vif-post.d/cdktf-xen.hook"].replace("CDKTF_XEN_LOOSE_VIFS=''", "CDKTF_XEN_LOOSE_VIFS='webserv-0 webserv-1 webserv-2'");
    const v = model({ dom0: { "/etc/xen/scripts/vif-post.d/cdktf-xen.hook": hook }, guest: { "/etc/network/interfaces": HAND_MADE } }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect(v.ok).toBe(true);
    expect(v.hops.filter((h) => h.stage === "rp_filter")[2].text).toBe(
      "reaches the dom0 on webserv-0; in on webserv-0, loose rp_filter lets it pass: 192.168.0.201 is routed via webserv-1 (main table: 192.168.0.201 dev webserv-1 src 192.168.0.1 (vif-route, webserv.cfg vif 1))",
    );
  });
});

describe("what a running host's sysctl -a shows wins over its files (test/lab/sysctl-now.test.ts checks it against the kernel)", () => {
  /** `sysctl -a` as a host prints it: every key the model reads, for all, default and `ifaces`; `set` over it. */
  const sysctlA = (ifaces: readonly string[], set: Record<string, number> = {}): string => {
    const keys: Record<string, number> = { "net.ipv4.ip_forward": 0 };
    for (const i of ["all", "default", ...ifaces]) for (const k of CONF_KEYS) keys[`net.ipv4.conf.${i.replace(/\./g, "/")}.${k}`] = 0;
    return Object.entries({ ...keys, ...set }).map(([k, v]) => `${k} = ${v}`).join("\n") + "\n";
  };
  const GUEST_IFACES = ["lo", "eth0", "eth1", "eth2"];
  const DOM0_IFACES = ["lo", "eth0", "webserv-0", "webserv-1", "webserv-2"];
  /** The seed's files with the hand-made guest network, and what each host runs now. */
  const withNow = (dom0Sysctl: string | undefined, guestSysctl: string | undefined, dom0Files: Record<string, string> = {}) => {
    const f = seedFiles({ guest: { "/etc/network/interfaces": HAND_MADE, "/etc/sysctl.d/60-cdktf-xen.conf": undefined }, dom0: dom0Files });
    return Reachability.fromFiles({
      dom0: { id: "dom0", uplink: { device: "eth0", address: "192.168.0.1/24" }, files: f.dom0, running: { sysctl: dom0Sysctl } },
      guests: { webserv: f.guest },
      guestsRunning: { webserv: { sysctl: guestSysctl } },
    });
  };
  /** The dom0's sysctls as its files and hook set them, the vifs loose: the guest alone decides the request. */
  const dom0Loose = sysctlA(DOM0_IFACES, { "net.ipv4.ip_forward": 1, "net.ipv4.conf.eth0.proxy_arp": 1, ...Object.fromEntries([0, 1, 2].flatMap((i) => [[`net.ipv4.conf.webserv-${i}.proxy_arp`, 1], [`net.ipv4.conf.webserv-${i}.rp_filter`, 2]])) });

  it("a guest interface's own rp_filter, set at run time: strict on eth1 drops the request to .201, which the files alone let in", () => {
    const now = withNow(dom0Loose, sysctlA(GUEST_IFACES, { "net.ipv4.conf.eth1.rp_filter": 1 })).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect([now.forward, now.failure?.host, now.failure?.stage]).toEqual(["dropped", "webserv", "arp"]);
    // The guest does not answer the dom0's ARP request on eth1: the route back to the dom0's address leaves by eth0.
    expect(now.failure?.text).toContain("in on eth1, strict rp_filter drops it: 192.168.0.1 is routed via eth0 (main table, the first of 3 routes to 192.168.0.0/24: 192.168.0.0/24 dev eth0 src 192.168.0.200 (interfaces line 7, the prefix route of eth0)); rp_filter 1 (all 0 (sysctl -a); eth1 1 (sysctl -a))");
    // Without the capture, the same files: the guest's kernel defaults, no filter, and the request gets in.
    expect(withNow(dom0Loose, undefined).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 }).forward).toBe("delivered");
  });

  it("a value set at run time over the files' wins, and says what the files set; one that agrees keeps their name", () => {
    // The files make every vif strict (all 1, the hook 1); on the host, all is 0 and webserv-0 loose: the hand-made network's reply gets through.
    const now = withNow(sysctlA(DOM0_IFACES, { "net.ipv4.ip_forward": 1, "net.ipv4.conf.eth0.proxy_arp": 1, "net.ipv4.conf.webserv-0.rp_filter": 2, "net.ipv4.conf.webserv-1.rp_filter": 1, "net.ipv4.conf.webserv-0.proxy_arp": 1, "net.ipv4.conf.webserv-1.proxy_arp": 1 }), sysctlA(GUEST_IFACES));
    const v = now.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect(v.ok).toBe(true);
    expect(v.hops.filter((h) => h.host === "dom0" && h.stage === "rp_filter").map((h) => h.text)).toEqual([
      "in on eth0, off rp_filter lets it pass: no check; rp_filter 0 (all 0 (sysctl -a, set at run time: 60-cdktf-xen.conf line 5 sets 1); eth0 0 (sysctl -a))",
      "reaches the dom0 on webserv-0; in on webserv-0, loose rp_filter lets it pass: 192.168.0.201 is routed via webserv-1 (main table: 192.168.0.201 dev webserv-1 src 192.168.0.1 (vif-route, webserv.cfg vif 1))",
    ]);
    const forwarding = v.hops.find((h) => h.stage === "forwarding")!;
    expect(forwarding.text).toBe("ip_forward 1 (60-cdktf-xen.conf line 2)");
    // The files alone: strict, and the reply dies at the dom0 (the guest asks for its gateway as .201, on eth0).
    const files = withNow(undefined, undefined).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect([files.reply, files.failure?.host, files.failure?.stage]).toEqual(["dropped", "dom0", "arp"]);
  });

  it("a vif that does not exist now (its guest is not running) takes default as it is now, then what the hook sets", () => {
    const dom0 = sysctlA(["lo", "eth0"], { "net.ipv4.ip_forward": 1, "net.ipv4.conf.eth0.proxy_arp": 1, "net.ipv4.conf.default.rp_filter": 2 });
    const v = withNow(dom0, sysctlA(GUEST_IFACES)).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    // The guest asks for its gateway as .201 (arp_announce 0) on eth0: the dom0's strict filter on webserv-0 ignores it.
    expect([v.reply, v.failure?.host, v.failure?.stage]).toEqual(["dropped", "dom0", "arp"]);
    expect(v.failure?.text).toContain("in on webserv-0, strict rp_filter drops it: 192.168.0.201 is routed via webserv-1 (main table: 192.168.0.201 dev webserv-1 src 192.168.0.1 (vif-route, webserv.cfg vif 1)); rp_filter 1 (all 0 (sysctl -a, set at run time: 60-cdktf-xen.conf line 5 sets 1); webserv-0 1 (cdktf-xen.hook))");
    const proxy = v.hops.find((h) => h.host === "dom0" && h.stage === "arp")!;
    expect(proxy.text).toContain("proxy_arp 1 (all 0 (sysctl -a); eth0 1 (60-cdktf-xen.conf line 8))");
  });

  it("a file line the model cannot read does not matter where the running host's values were captured", () => {
    const glob = { "/etc/sysctl.d/99-glob.conf": "net.ipv4.conf.*.rp_filter = 2\nnot a setting\n" };
    expect(withNow(undefined, undefined, glob).unreadable.map((u) => u.why)).toEqual(["glob keys are not read by the model", "not a key = value line"]);
    const now = withNow(dom0Loose, sysctlA(GUEST_IFACES), glob);
    expect(now.unreadable).toEqual([]);
    expect(now.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 }).ok).toBe(true);
    // A capture that lacks a key leaves the file's line in doubt for it.
    const partial = sysctlA(DOM0_IFACES).split("\n").filter((l) => !l.includes(".default.rp_filter")).join("\n");
    expect(withNow(partial, sysctlA(GUEST_IFACES), glob).unreadable.map((u) => u.why)).toEqual(["glob keys are not read by the model", "not a key = value line"]);
  });

  it("a vif hook the model does not read: the captured value stands, named as one that hook may have set", () => {
    const other = { "/etc/xen/scripts/vif-post.d/other.hook": "echo 2 > /proc/sys/net/ipv4/conf/$dev/rp_filter\n" };
    const dom0 = sysctlA(DOM0_IFACES, { "net.ipv4.ip_forward": 1, "net.ipv4.conf.eth0.proxy_arp": 1, "net.ipv4.conf.webserv-0.rp_filter": 2, "net.ipv4.conf.webserv-0.proxy_arp": 1, "net.ipv4.conf.webserv-1.proxy_arp": 1 });
    const v = withNow(dom0, sysctlA(GUEST_IFACES), other).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    // The firewall rules such a hook may add are not captured here: only the firewall is in doubt, each setting is known.
    expect(v.hops.filter((h) => h.outcome !== "pass").map((h) => `${h.host} ${h.stage} ${h.outcome}`)).toEqual(["dom0 firewall unknown", "dom0 firewall unknown"]);
    expect(v.hops.find((h) => h.host === "dom0" && h.stage === "arp" && h.text.startsWith("the guest asks"))!.text).toContain("(arp_ignore 0 (all 0 (sysctl -a); webserv-0 0 (sysctl -a; other.hook may have set it)))");
    // Without the capture, what that hook sets on the vifs is not known either.
    const files = withNow(undefined, sysctlA(GUEST_IFACES), other).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect(files.hops.filter((h) => h.outcome !== "pass").map((h) => `${h.host} ${h.stage} ${h.outcome}`)).toContain("dom0 rp_filter unknown");
  });

  it("sysctl -a prints a dot in an interface's name as a slash", () => {
    const kernel = new KernelSettings(undefined, readSysctlDump("net.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.vif3/0.rp_filter = 2\nnet.ipv4.conf.eth0.rp_filter = 1\nnet.ipv6.conf.eth0.forwarding = 1\nkernel.hostname = x\n"));
    expect([kernel.conf("vif3.0", "rp_filter").values, kernel.conf("eth0", "rp_filter").values, kernel.conf("vif3/0", "rp_filter").values]).toEqual([[2], [1], [0]]);
  });
});

describe("the dom0's own interfaces file (a copy of a host)", () => {
  const dom0Interfaces = (postUp: string[]) => ["auto eth0", "iface eth0 inet static", "    address 192.168.0.1/24", "    gateway 192.168.0.254", "", "auto eth1", "iface eth1 inet static", "    address 198.51.100.1/24", ...postUp.map((c) => `    post-up ${c}`), ""].join("\n");

  it("its gateway is the default route the replies take; a route of its own to the client's network by another interface fails the strict rp_filter (test/lab/dom0-routes.test.ts shows the kernel agree)", () => {
    const plain = model({ dom0: { "/etc/network/interfaces": dom0Interfaces([]) } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect(plain.ok).toBe(true);
    expect(plain.hops.filter((h) => h.host === "dom0" && h.stage === "route").map((h) => h.text)[1]).toBe("route to 203.0.113.9: main table: default via 192.168.0.254 dev eth0 (interfaces line 4, gateway)");
    expect(model({ dom0: { "/etc/network/interfaces": dom0Interfaces(["ip route add 203.0.113.0/24 via 198.51.100.254 dev eth1"]) } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 }).summary).toBe(
      "tcp 203.0.113.9 -> 192.168.0.200:80: request dropped at dom0 (rp_filter): in on eth0, strict rp_filter drops it: 203.0.113.9 is routed via eth1 (main table: 203.0.113.0/24 via 198.51.100.254 dev eth1 (interfaces line 9)); rp_filter 1 (all 1 (60-cdktf-xen.conf line 5); eth0 not set by the files)",
    );
  });

  it("a line of it the model cannot read leaves the dom0's routes unknown, never a pass", () => {
    const m = model({ dom0: { "/etc/network/interfaces": dom0Interfaces(["iptables -t mangle -A PREROUTING -j MARK --set-mark 1"]) } });
    const v = m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect([v.forward, v.reply]).toEqual(["unknown", "unknown"]);
    expect(v.hops.filter((h) => h.host === "dom0" && h.stage === "route").map((h) => h.outcome)).toEqual(["unknown", "unknown"]);
    expect(v.failure?.text).toBe('route to 192.168.0.200: main table: 192.168.0.200 dev webserv-0 src 192.168.0.1 (vif-route, webserv.cfg vif 0); but the model cannot read /etc/network/interfaces line 9 "    post-up iptables -t mangle -A PREROUTING -j MARK --set-mark 1": a command the model does not read');
    expect(m.unreadable.map((u) => u.file)).toEqual(["/etc/network/interfaces"]);
  });

  it("nor a drop: its strict rp_filter, which reads its routes, is unknown when a line it cannot read may change them", () => {
    const v = model({ dom0: { "/etc/network/interfaces": dom0Interfaces(["ip route add 203.0.113.0/24 via 198.51.100.254 dev eth1", "tc qdisc add dev eth1 root netem"]) } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect([v.forward, v.reply]).toEqual(["unknown", "unknown"]);
    expect(v.hops.find((h) => h.stage === "rp_filter")).toEqual({
      host: "dom0",
      stage: "rp_filter",
      outcome: "unknown",
      text: 'in on eth0, strict rp_filter drops it: 203.0.113.9 is routed via eth1 (main table: 203.0.113.0/24 via 198.51.100.254 dev eth1 (interfaces line 9)); rp_filter 1 (all 1 (60-cdktf-xen.conf line 5); eth0 not set by the files); but the model cannot read /etc/network/interfaces line 10 "    post-up tc qdisc add dev eth1 root netem": a command the model does not read',
    });
  });
});

describe("arp_filter", () => {
  it("in a hand-made guest the dom0's ARP request for 192.168.0.201 on eth1 goes unanswered: the guest's route back leaves by eth0; with policy routing it is answered (test/lab/proxy-arp.test.ts shows the kernel agree)", () => {
    const hook = seedFiles().dom0["/etc/xen/scripts/vif-post.d/cdktf-xen.hook"].replace("CDKTF_XEN_LOOSE_VIFS=''", "CDKTF_XEN_LOOSE_VIFS='webserv-0 webserv-1 webserv-2'");
    const arpFilter = { "/etc/sysctl.d/70-arp-filter.conf": "net.ipv4.conf.all.arp_filter = 1\n" };
    const hand = model({ dom0: { "/etc/xen/scripts/vif-post.d/cdktf-xen.hook": hook }, guest: { "/etc/network/interfaces": HAND_MADE, ...arpFilter } });
    expect(hand.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 }).ok).toBe(true);
    expect(hand.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 }).summary).toBe(
      "tcp 203.0.113.9 -> 192.168.0.201:80: request dropped at webserv (arp): the dom0 asks who has 192.168.0.201: webserv-1 is eth1 in the guest (MAC de:ad:be:ef:00:01, iftab line 3); 192.168.0.201 is on eth1, the guest does not answer (arp_ignore 1 (all 1 (60-cdktf-xen.conf line 4); eth1 not set by the files); arp_filter 1 (all 1 (70-arp-filter.conf line 1); eth1 0 (default)): its route to 192.168.0.1 from 192.168.0.201 leaves by eth0 (main table, the first of 3 routes to 192.168.0.0/24: 192.168.0.0/24 dev eth0 src 192.168.0.200 (interfaces line 7, the prefix route of eth0)))",
    );
    // Without arp_filter, the loose vifs let the same network through (above).
    expect(model({ dom0: { "/etc/xen/scripts/vif-post.d/cdktf-xen.hook": hook }, guest: { "/etc/network/interfaces": HAND_MADE } }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 }).ok).toBe(true);
    // The library's policy routing sends the reply from 192.168.0.201 out by eth1: arp_filter is content.
    expect(model({ guest: arpFilter }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 }).ok).toBe(true);
  });
});

describe("proxy ARP", () => {
  it("the dom0 does not answer by proxy for an address it routes back over the vif asking; it does on the other vifs", () => {
    const m = model(gatewayBehindFirstVif());
    expect(m.unreadable).toEqual([]);
    const first = m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect([first.forward, first.reply]).toEqual(["delivered", "dropped"]);
    expect(first.failure).toEqual({
      host: "dom0",
      stage: "arp",
      outcome: "drop",
      text: "the guest asks on eth0 who has 192.168.0.210 (its gateway), as 192.168.0.200 (arp_announce 2 (all 2 (60-cdktf-xen.conf line 6); eth0 not set by the files)); the dom0 does not answer by proxy ARP on webserv-0 (proxy_arp 1 (all 0 (kernel default: no file sets it); webserv-0 1 (vif-route, webserv.cfg vif 0)); it routes 192.168.0.210 via webserv-0)",
    });
    // The same gateway asked for on webserv-1 is routed elsewhere (webserv-0): the dom0 answers, and the reply returns.
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 }).ok).toBe(true);
  });
});

describe("what the model cannot read gives unknown, never a pass", () => {
  const rules = () => seedFiles().dom0["/etc/iptables/rules.v4"];

  it("a rule with a match the model does not read, before the accepts, could drop: unknown, naming the rule", () => {
    const v = model({ dom0: { "/etc/iptables/rules.v4": rules().replace("-A FORWARD -m conntrack --ctstate INVALID -j DROP", "-A FORWARD -m conntrack --ctstate INVALID -j DROP\n-A FORWARD -m limit --limit 5/s -j DROP") } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect([v.forward, v.failure?.outcome]).toEqual(["unknown", "unknown"]);
    expect(v.failure?.text).toBe(
      'FORWARD eth0 -> webserv-0, new connection: rules.v4 line 13 "-A FORWARD -m limit --limit 5/s -j DROP" may match: match -m limit not read by the model; otherwise rules.v4 line 14 "-A FORWARD -d 192.168.0.200/32 -o webserv-0 -p tcp -m multiport --dports 80,443 -j ACCEPT": ACCEPT',
    );
    // What leaves it undecided, apart from the words: doctor and import group sockets by it.
    expect(v.failure?.undecidedBy).toBe('rules.v4 line 13 "-A FORWARD -m limit --limit 5/s -j DROP" may match: match -m limit not read by the model');
    // A hop that decides names nothing.
    expect(v.hops.filter((h) => h.undecidedBy !== undefined)).toEqual([v.failure]);
  });

  it("a line the model cannot read leaves even a drop unknown: an -I insert comes before every rule it reads", () => {
    // The kernel puts the inserted rule first (test/lab/hand-made.test.ts loads this file): it accepts tcp/8080, which the
    // rules the model reads and the policy would drop.
    const inserted = rules().replace("COMMIT", "-I FORWARD 1 -p tcp --dport 8080 -j ACCEPT\nCOMMIT");
    const m = model({ dom0: { "/etc/iptables/rules.v4": inserted } });
    const line = inserted.split("\n").indexOf("-I FORWARD 1 -p tcp --dport 8080 -j ACCEPT") + 1;
    const why = `the model cannot read /etc/iptables/rules.v4 line ${line} "-I FORWARD 1 -p tcp --dport 8080 -j ACCEPT": only -A rules are read by the model`;
    for (const port of [8080, 8081]) {
      const v = m.flow({ from: OUTSIDE, to: "192.168.0.200", port });
      expect([v.forward, v.failure?.stage, v.failure?.undecidedBy]).toEqual(["unknown", "firewall", why]);
      expect(m._outcome({ from: OUTSIDE, to: "192.168.0.200", port }).forward).toBe("unknown");
    }
    expect(m._toDom0({ protocol: "tcp", from: OUTSIDE, port: 9 })).toEqual({ outcome: "unknown", text: expect.stringContaining(why), undecidedBy: why });
    // Without the line, the policy drops 8080.
    expect(model().flow({ from: OUTSIDE, to: "192.168.0.200", port: 8080 }).forward).toBe("dropped");
  });

  it("a rule the model cannot read that would decide the same changes nothing", () => {
    const v = model({ dom0: { "/etc/iptables/rules.v4": rules().replace("COMMIT", "-A FORWARD -m limit --limit 5/s -j LOG\nCOMMIT").replace(":FORWARD DROP", ":FORWARD DROP").replace("-A FORWARD -d 192.168.0.200/32", "-A FORWARD -m limit --limit 9/s -j ACCEPT\n-A FORWARD -d 192.168.0.200/32") } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect(v.ok).toBe(true);
  });

  it("a nat table: unknown, as it may send the packet elsewhere", () => {
    const v = model({ dom0: { "/etc/iptables/rules.v4": `*nat\n-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 192.168.0.202\nCOMMIT\n${rules()}` } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect(v.forward).toBe("unknown");
    expect(v.failure?.text).toContain('the model cannot read /etc/iptables/rules.v4 line 2 "-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 192.168.0.202": the nat table is not read by the model');
    expect(v.failure?.undecidedBy).toBe('the model cannot read /etc/iptables/rules.v4 line 2 "-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 192.168.0.202": the nat table is not read by the model');
  });

  it("no firewall among the files: unknown, not an open door", () => {
    const v = model({ dom0: { "/etc/iptables/rules.v4": undefined, "/etc/iptables/rules.v6": undefined } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect([v.forward, v.failure?.text, v.failure?.undecidedBy]).toEqual(["unknown", "FORWARD eth0 -> webserv-0, new connection: the files hold no firewall (rules.v4 or an nftables file), so what the dom0 filters is not known", "the files hold no firewall (rules.v4 or an nftables file)"]);
  });

  it("the files source and source-directory name are read in place (test/render/real-tools.test.ts runs ifup on such a tree); a path with other shell expansion is unknown", () => {
    const whole = seedFiles().guest["/etc/network/interfaces"];
    const [at1, at2] = [whole.indexOf("auto eth1"), whole.indexOf("auto eth2")];
    expect(at1 > 0 && at2 > at1).toBe(true);
    const split = {
      "/etc/network/interfaces": `${whole.slice(0, at1)}source interfaces.d/*\nsource-directory /etc/network/more.d\n`,
      "/etc/network/interfaces.d/eth1": whole.slice(at1, at2),
      "/etc/network/more.d/eth2": whole.slice(at2),
      // source-directory reads only names of letters, digits, _ and -.
      "/etc/network/more.d/eth2.dpkg-old": "auto eth2\niface eth2 inet static\n    address 198.51.100.9/24\n",
    };
    const m = model({ guest: split });
    expect(m.unreadable).toEqual([]);
    expect(["200", "201", "202"].map((a) => m.flow({ from: OUTSIDE, to: `192.168.0.${a}`, port: 80 }).ok)).toEqual([true, true, true]);
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.202", port: 80 }).hops.find((h) => h.host === "webserv" && h.stage === "route")?.text).toContain("(eth2 line ");
    const home = model({ guest: { "/etc/network/interfaces": `source $HOME/interfaces\n${whole}` } }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect([home.forward, home.failure?.stage]).toEqual(["unknown", "deliver"]);
    expect(home.failure?.text).toContain('the model cannot read /etc/network/interfaces line 1 "source $HOME/interfaces": source with shell expansion other than wildcards is not read by the model');
  });

  it("an address from DHCP: not known from the files, so whether the guest answers is unknown (DHCP may give it the address asked for)", () => {
    const dhcp = model({ guest: { "/etc/network/interfaces": "auto eth0\niface eth0 inet dhcp\n" } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect([dhcp.ok, dhcp.forward, dhcp.failure?.stage]).toEqual([false, "unknown", "arp"]);
    expect(dhcp.failure?.text).toBe(
      'the dom0 asks who has 192.168.0.200: webserv-0 is eth0 in the guest (MAC de:ad:be:ef:00:00, iftab line 2), which the guest\'s files do not bring up; but the model cannot read /etc/network/interfaces line 2 "iface eth0 inet dhcp": a DHCP address is not known from the files',
    );
  });

  it("ip address add and ip link set ... up, in a manual stanza, are read as ifup runs them (test/render/real-tools.test.ts shows the kernel agree)", () => {
    const manual = seedFiles().guest["/etc/network/interfaces"].replace("iface eth1 inet static\n    address 192.168.0.201/24\n", "iface eth1 inet manual\n    up ip link set eth1 up\n    up ip addr add 192.168.0.201/24 brd + dev eth1\n");
    const m = model({ guest: { "/etc/network/interfaces": manual } });
    expect(m.unreadable).toEqual([]);
    const v = m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect(v.ok).toBe(true);
    expect(v.hops.find((h) => h.host === "webserv" && h.stage === "deliver")?.text).toBe("192.168.0.201 is the guest's own (on eth1)");
  });

  it("the ip commands it does not read, each named; the guest's answer is then unknown, never a drop: the line may add the address asked for", () => {
    const manual = (up: string[]) => seedFiles().guest["/etc/network/interfaces"].replace("iface eth1 inet static\n    address 192.168.0.201/24\n", `iface eth1 inet manual\n${up.map((u) => `    up ${u}\n`).join("")}`);
    const notRead = [
      "ip addr add 192.168.0.201/24 dev eth1 scope link",
      "ip link set eth1 mtu 9000 up",
      "ip neigh add 192.168.0.1 lladdr 00:16:3e:00:00:01 dev eth1",
      "ip address del 192.168.0.9/24 dev eth1",
      "ip addr add 192.168.0.201/24",
      "ip link set eth1",
      "ip link set dev eth2 up",
      "ip addr add 192.168.0.201/24 dev eth7",
    ];
    expect(model({ guest: { "/etc/network/interfaces": manual(notRead) } }).unreadable.map((u) => `${u.line}: ${u.why}`)).toEqual([
      "18: scope is not read by the model",
      "19: ip link set mtu is not read by the model",
      "20: ip neigh is not read by the model",
      "21: ip address del is not read by the model",
      "22: ip address add without an address and dev: ip refuses it",
      "23: ip link set without a link and up is not read by the model",
      "24: ip link set of eth2, not eth1, is not read by the model",
      "25: the host has no interface eth7: ip fails, and ifup with it",
    ]);
    const v = model({ guest: { "/etc/network/interfaces": manual(notRead.slice(0, 1)) } }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect([v.forward, v.reply]).toEqual(["unknown", "unknown"]);
    expect(v.summary).toBe(
      'tcp 203.0.113.9 -> 192.168.0.201:80: request unknown at webserv (arp): the dom0 asks who has 192.168.0.201: webserv-1 is eth1 in the guest (MAC de:ad:be:ef:00:01, iftab line 3), which the guest\'s files do not bring up; but the model cannot read /etc/network/interfaces line 18 "    up ip addr add 192.168.0.201/24 dev eth1 scope link": scope is not read by the model',
    );
  });

  it("what ifup runs beside an address and before it: a peer, a scope, a pre-up command; each is named, not read", () => {
    const options = ["    pointopoint 192.168.0.99", "    scope link", "    metric high", "    pre-up /usr/local/sbin/prepare"];
    const m = model({ guest: { "/etc/network/interfaces": seedFiles().guest["/etc/network/interfaces"].replace("    address 192.168.0.201/24\n", `    address 192.168.0.201/24\n${options.join("\n")}\n    gateway 192.168.0.1\n`) } });
    expect(m.unreadable.map((u) => `${u.line}: ${u.why}`)).toEqual([
      "19: pointopoint is not read by the model",
      "20: scope is not read by the model",
      "21: metric not read",
      // eth0's gateway is there already, at the same metric (test/render/real-tools.test.ts shows ifup fail so).
      "23: a default route is in the main table already: ip fails, and ifup with it",
      "22: a pre-up command is not read by the model",
    ]);
  });

  it("nor a drop on the reply's way back: where the guest's route sends it may be other than the model read", () => {
    const v = model({ guest: { "/etc/network/interfaces": HAND_MADE.replace("    gateway 192.168.0.1\n", "    gateway 192.168.0.1\n    post-up /usr/local/bin/fix-routes\n") } }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect([v.forward, v.reply]).toEqual(["unknown", "unknown"]);
    // Read alone, the hand-made network drops this reply at the dom0's rp_filter (above); with the line, that is unknown.
    expect(v.hops.filter((h) => h.host === "dom0" && h.stage === "rp_filter").map((h) => [h.outcome, h.text.endsWith('; but the model cannot read /etc/network/interfaces line 9 "    post-up /usr/local/bin/fix-routes": a command the model does not read')])).toEqual([
      ["pass", false],
      ["unknown", true],
    ]);
  });

  it("a post-up command the model does not read: unknown", () => {
    const v = model({ guest: { "/etc/network/interfaces": seedFiles().guest["/etc/network/interfaces"].replace("    gateway 192.168.0.1\n", "    gateway 192.168.0.1\n    post-up /usr/local/bin/fix-routes\n") } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect(v.forward).toBe("unknown");
    expect(v.failure?.text).toContain('"    post-up /usr/local/bin/fix-routes": a command the model does not read');
  });

  it("an ip command whose last keyword has no value: unknown, saying so", () => {
    const v = model({ guest: { "/etc/network/interfaces": seedFiles().guest["/etc/network/interfaces"].replace("    gateway 192.168.0.1\n", "    gateway 192.168.0.1\n    post-up ip route add 198.51.100.0/24 dev eth0 via\n") } }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect(v.forward).toBe("unknown");
    expect(v.failure?.text).toContain('"    post-up ip route add 198.51.100.0/24 dev eth0 via": via without a value is not read by the model');
  });

  it("a vif hook cdktf-xen did not write: rp_filter of the vifs may be anything", () => {
    const v = model({ dom0: { "/etc/xen/scripts/vif-post.d/cdktf-xen.hook": "echo 2 > /proc/sys/net/ipv4/conf/$dev/rp_filter\n" }, guest: { "/etc/network/interfaces": HAND_MADE } }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect(v.reply).toBe("unknown");
    expect(v.failure?.text).toContain("rp_filter may be strict or loose");
  });
});

describe("nftables and ipsets", () => {
  const { dom0: d, webserv } = seedStack();
  void webserv;
  const nft = [
    "table inet filter {",
    "  set web { type ipv4_addr . ifname; elements = { 192.168.0.200 . \"webserv-0\", 192.168.0.201 . \"webserv-1\" } }",
    "  chain forward {",
    "    type filter hook forward priority filter; policy drop;",
    "    ct state established,related accept",
    "    ip daddr . oifname @web tcp dport { 80, 443 } counter accept",
    "    ip daddr 192.168.0.202 oifname \"webserv-2\" udp dport 53 accept",
    "  }",
    "}",
  ].join("\n");
  const withNft = (text: string) => model({ dom0: { "/etc/iptables/rules.v4": undefined, "/etc/iptables/rules.v6": undefined, "/etc/cdktf-xen/firewall.nft": text } });

  it("a hand-written table: set of address . interface, anonymous port set, established replies", () => {
    const m = withNft(nft);
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 443 }).ok).toBe(true);
    expect(m.flow({ protocol: "udp", from: OUTSIDE, to: "192.168.0.202", port: 53 }).ok).toBe(true);
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.202", port: 80 }).failure?.text).toBe("FORWARD eth0 -> webserv-2, new connection: firewall.nft: no rule of chain forward matches, policy drop");
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 }).hops[4].text).toBe('FORWARD eth0 -> webserv-1, new connection: firewall.nft line 6 "ip daddr . oifname @web tcp dport { 80 , 443 } counter accept": accept');
  });

  it("ip protocol and meta l4proto compare a protocol (by name or number), not an address", () => {
    const m = withNft(nft.replace('    ip daddr 192.168.0.202 oifname "webserv-2" udp dport 53 accept', '    ip daddr 192.168.0.202 ip protocol udp accept\n    ip daddr 192.168.0.202 meta l4proto 6 th dport 22 accept'));
    const forward = (protocol: "tcp" | "udp", port: number) => m.flow({ protocol, from: OUTSIDE, to: "192.168.0.202", port }).forward;
    expect([forward("udp", 5000), forward("tcp", 5000), forward("tcp", 22), forward("udp", 22)]).toEqual(["delivered", "dropped", "delivered", "delivered"]);
  });

  it("a ping (an ICMP echo request) through the forward path: a rule without a protocol, -p icmp / 1, --icmp-type; nft ip protocol, meta l4proto, icmp type; port matches are not for it", () => {
    const ipt = (rule: string) => model({ dom0: { "/etc/iptables/rules.v4": `*filter\n:FORWARD DROP [0:0]\n${rule}\nCOMMIT\n` } });
    const nftWith = (rule: string) => withNft(`table inet filter {\n  chain forward {\n    type filter hook forward priority filter; policy drop;\n    ${rule}\n  }\n}`);
    const ping = (m: ReturnType<typeof model>) => m._ping({ from: OUTSIDE, to: "192.168.0.201" })?.outcome;
    expect(
      [
        "-A FORWARD -d 192.168.0.201/32 -j ACCEPT",
        "-A FORWARD -d 192.168.0.201/32 -p tcp -j ACCEPT",
        "-A FORWARD -d 192.168.0.201/32 -p 1 -j ACCEPT",
        "-A FORWARD -d 192.168.0.201/32 -p icmp -m icmp --icmp-type echo-request -j ACCEPT",
        "-A FORWARD -d 192.168.0.201/32 -p icmp -m icmp --icmp-type 0 -j ACCEPT",
        "-A FORWARD -d 192.168.0.201/32 -p icmp -m icmp --icmp-type nonsense -j ACCEPT",
      ].map((r) => ping(ipt(r))),
    ).toEqual(["pass", "drop", "pass", "pass", "drop", "unknown"]);
    expect(["ip daddr 192.168.0.201 accept", "ip daddr 192.168.0.201 ip protocol icmp accept", "ip daddr 192.168.0.201 meta l4proto 1 accept", "ip daddr 192.168.0.201 icmp type 8 accept", "ip daddr 192.168.0.201 icmp type echo-reply accept", "ip daddr 192.168.0.201 th dport 0-65535 accept"].map((r) => ping(nftWith(r)))).toEqual([
      "pass",
      "pass",
      "pass",
      "pass",
      "drop",
      "drop",
    ]);
    // An address the dom0 routes to no vif: no answer.
    expect(ipt("-A FORWARD -j ACCEPT")._ping({ from: OUTSIDE, to: "198.51.100.9" })).toBeUndefined();
  });

  it("iptables and an nftables table both on the forward path: what leaves the verdict undecided is the nft rule alone, not iptables' accept before it", () => {
    const both = model({ dom0: { "/etc/cdktf-xen/firewall.nft": nft.replace("    ct state established,related accept", "    ct state established,related accept\n    ip daddr 192.168.0.201 tcp dport ftp-data drop") } });
    const v = both.flow({ from: OUTSIDE, to: "192.168.0.201", port: 443 });
    expect([v.forward, v.failure?.stage]).toEqual(["unknown", "firewall"]);
    expect(v.failure?.text).toMatch(/^FORWARD eth0 -> webserv-1, new connection: rules\.v4 line \d+ .*: ACCEPT; firewall\.nft line 6 .* may match: /);
    expect(v.failure?.undecidedBy).toBe('firewall.nft line 6 "ip daddr 192.168.0.201 tcp dport ftp-data drop" may match: a value or set it compares is not read by the model (a range, a name, a set not in the files)');
  });

  it("filter chains on prerouting and postrouting decide too (test/lab/nft-hooks.test.ts checks them against the kernel); ingress is not read", () => {
    const withChain = (chain: string) => withNft(nft.replace("\n}", `\n  chain extra {\n    ${chain}\n  }\n}`));
    const flow = (m: Reachability) => m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 443 });
    const pre = flow(withChain("type filter hook prerouting priority raw; policy accept;\n    ip daddr 192.168.0.201 drop"));
    expect([pre.forward, pre.failure?.text]).toEqual(["dropped", 'FORWARD eth0 -> webserv-1, new connection: firewall.nft line 11 "ip daddr 192.168.0.201 drop": drop']);
    expect(flow(withChain("type filter hook postrouting priority filter; policy drop;")).forward).toBe("dropped");
    // The reply crosses prerouting too.
    expect(flow(withChain("type filter hook prerouting priority filter; policy accept;\n    ip saddr 192.168.0.201 drop")).reply).toBe("dropped");
    expect(flow(withChain("type filter hook output priority filter; policy drop;")).ok).toBe(true);
    const ingress = flow(withChain('type filter hook ingress device "eth0" priority 0; policy drop;'));
    expect([ingress.forward, ingress.failure?.undecidedBy]).toEqual(["unknown", 'the model cannot read /etc/cdktf-xen/firewall.nft line 10 "    type filter hook ingress device \\"eth0\\" priority 0; policy drop;": a chain on the ingress hook is not read by the model']);
    // A rule the model cannot read (a port by service name) may drop in prerouting: what forward accepts is unknown, and
    // what forward drops is dropped whatever that rule did.
    const maybe = withChain("type filter hook prerouting priority raw; policy accept;\n    tcp dport ftp-data drop");
    expect([443, 8080].map((port) => maybe.flow({ from: OUTSIDE, to: "192.168.0.201", port }).forward)).toEqual(["unknown", "dropped"]);
  });

  it("a jump the model does not follow: unknown", () => {
    const v = withNft(nft.replace("    ct state established,related accept", "    ct state established,related accept\n    jump elsewhere")).flow({ from: OUTSIDE, to: "192.168.0.201", port: 443 });
    expect(v.forward).toBe("unknown");
    expect(v.failure?.text).toContain('firewall.nft line 6 "jump elsewhere" may match: jump is not read by the model');
  });

  it("the ipset form of the library's own rules.v4, and a set missing from the ipsets file", () => {
    const sets = d._usesIpsets();
    expect(sets).toBe(false);
    const rulesWithSet = "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -p tcp -m set --match-set web dst,dst -m tcp --dport 80 -j ACCEPT\nCOMMIT\n";
    const ipsets = "create web hash:net,iface family inet\nadd web 192.168.0.201,webserv-1\n";
    const m = model({ dom0: { "/etc/iptables/rules.v4": rulesWithSet, "/etc/iptables/ipsets": ipsets } });
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 }).ok).toBe(true);
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 }).forward).toBe("dropped");
    const missing = model({ dom0: { "/etc/iptables/rules.v4": rulesWithSet, "/etc/iptables/ipsets": undefined } }).flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 });
    expect(missing.forward).toBe("unknown");
    expect(missing.failure?.text).toContain("may match: its set is not in the files");
  });
});

describe("the source networks of the forward path", () => {
  const noFirewall = { "/etc/iptables/rules.v4": undefined, "/etc/iptables/rules.v6": undefined };

  it("iptables: -s in FORWARD and in the chains it jumps to, negated too, and the members of sets matched on src; INPUT and anywhere left out", () => {
    const rules = [
      "*filter",
      ":INPUT DROP [0:0]",
      ":FORWARD DROP [0:0]",
      ":partners - [0:0]",
      "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT",
      "-A FORWARD ! -s 198.51.100.0/25 -d 192.168.0.200/32 -p tcp -m tcp --dport 80 -j ACCEPT",
      "-A FORWARD -s 0.0.0.0/0 -d 192.168.0.201/32 -p tcp -m tcp --dport 80 -j ACCEPT",
      "-A FORWARD -p tcp -m set --match-set friends src -m tcp --dport 8443 -j ACCEPT",
      "-A FORWARD -p tcp -m set --match-set web dst,dst -m tcp --dport 443 -j ACCEPT",
      "-A FORWARD -j partners",
      "-A partners --source 192.0.2.7 -j ACCEPT",
      "COMMIT",
      "",
    ].join("\n");
    const ipsets = "create friends hash:net family inet\nadd friends 203.0.113.0/24\nadd friends 198.18.0.9\ncreate web hash:net,iface family inet\nadd web 192.168.0.201,webserv-1\n";
    expect(model({ dom0: { "/etc/iptables/rules.v4": rules, "/etc/iptables/ipsets": ipsets } }).sourceNetworks()).toEqual(["192.0.2.7/32", "198.18.0.9/32", "198.51.100.0/25", "203.0.113.0/24"]);
  });

  it("nftables: ip saddr values, anonymous sets, named sets and concatenations on the forward hook; the input hook left out", () => {
    const nft = [
      "table inet filter {",
      "  set friends { type ipv4_addr; flags interval; elements = { 203.0.113.0/24, 198.18.0.9 } }",
      "  chain input {",
      "    type filter hook input priority filter; policy drop;",
      "    ip saddr 10.0.0.0/8 tcp dport 22 accept",
      "  }",
      "  chain forward {",
      "    type filter hook forward priority filter; policy drop;",
      "    ip saddr { 198.51.100.0/25, 192.0.2.7 } tcp dport 80 accept",
      "    ip saddr @friends tcp dport 8443 accept",
      "    ip saddr != 100.64.0.0/10 udp dport 53 accept",
      "    ip saddr . tcp dport { 192.0.2.8 . 22 } accept",
      "  }",
      "}",
    ].join("\n");
    expect(model({ dom0: { ...noFirewall, "/etc/cdktf-xen/firewall.nft": nft } }).sourceNetworks()).toEqual(["100.64.0.0/10", "192.0.2.7/32", "192.0.2.8/32", "198.18.0.9/32", "198.51.100.0/25", "203.0.113.0/24"]);
  });

  it("address ranges (iptables -m iprange, nftables a-b) match from their first address to their last, negated too; their networks are the fewest that hold them", () => {
    const rules = [
      "*filter",
      ":FORWARD DROP [0:0]",
      "-A FORWARD -m iprange --src-range 203.0.113.10-203.0.113.20 -p tcp -m tcp --dport 80 -j ACCEPT",
      "-A FORWARD -m iprange ! --src-range 203.0.113.0-203.0.113.255 -p tcp -m tcp --dport 81 -j ACCEPT",
      "-A FORWARD -m iprange --dst-range 192.168.0.200-192.168.0.200 -p tcp -m tcp --dport 82 -j ACCEPT",
      "COMMIT",
      "",
    ].join("\n");
    const nft = [
      "table inet filter {",
      "  chain forward {",
      "    type filter hook forward priority filter; policy drop;",
      "    ip saddr 203.0.113.10-203.0.113.20 tcp dport 80 accept",
      "    ip saddr != 203.0.113.0-203.0.113.255 tcp dport 81 accept",
      "    ip daddr { 192.168.0.199-192.168.0.200 } tcp dport 82 accept",
      "  }",
      "}",
    ].join("\n");
    for (const m of [model({ dom0: { "/etc/iptables/rules.v4": rules } }), model({ dom0: { ...noFirewall, "/etc/cdktf-xen/firewall.nft": nft } })]) {
      const passes = (from: string, port: number) => m.flow({ from, to: "192.168.0.200", port }).forward === "delivered";
      expect([9, 10, 20, 21].map((n) => passes(`203.0.113.${n}`, 80))).toEqual([false, true, true, false]);
      expect([passes("203.0.113.255", 81), passes("198.51.100.1", 81), passes("198.51.100.1", 82)]).toEqual([false, true, true]);
      expect(m.sourceNetworks()).toEqual(["203.0.113.0/24", "203.0.113.10/31", "203.0.113.12/30", "203.0.113.16/30", "203.0.113.20/32"]);
    }
  });

  it("iptables lists of addresses (-s a,b, -d c,d) are a rule per address, their networks named each; a negated list is unknown", () => {
    const rules = [
      "*filter",
      ":FORWARD DROP [0:0]",
      "-A FORWARD -s 198.51.100.0/25,203.0.113.0/24 -d 192.168.0.200,192.168.0.202 -p tcp -m tcp --dport 80 -j ACCEPT",
      "COMMIT",
      "",
    ].join("\n");
    const m = model({ dom0: { "/etc/iptables/rules.v4": rules } });
    const forward = (from: string, to: string) => m.flow({ from, to, port: 80 }).forward;
    expect([forward("198.51.100.1", "192.168.0.200"), forward("203.0.113.9", "192.168.0.202"), forward("198.51.100.200", "192.168.0.200"), forward("203.0.113.9", "192.168.0.201")]).toEqual(["delivered", "delivered", "dropped", "dropped"]);
    expect(m.sourceNetworks()).toEqual(["198.51.100.0/25", "203.0.113.0/24"]);
    const negated = rules.replace(/^-A FORWARD .*$/m, "-A FORWARD ! -s 100.64.0.0/10,192.0.2.0/24 -p tcp -m tcp --dport 443 -j ACCEPT");
    expect(model({ dom0: { "/etc/iptables/rules.v4": negated } }).flow({ from: "203.0.113.9", to: "192.168.0.201", port: 443 }).summary).toContain("! -s 100.64.0.0/10,192.0.2.0/24: iptables refuses a negated list of addresses");
  });

  it("the dom0's own input path: its verdict for a client's new connection, and the networks and ports it names, on both backends", () => {
    const rules = [
      "*filter",
      ":INPUT DROP [0:0]",
      ":FORWARD DROP [0:0]",
      "-A INPUT -i lo -j ACCEPT",
      "-A INPUT -p icmp -j ACCEPT",
      "-A INPUT -s 198.51.100.128/25 -j DROP",
      "-A INPUT -p tcp -m multiport --dports 22,8080 -s 198.51.100.0/24 -j ACCEPT",
      "-A INPUT -m iprange --src-range 203.0.113.0-203.0.113.255 -p udp --dport 161 -j ACCEPT",
      "-A FORWARD -s 192.0.2.0/24 -j ACCEPT",
      "COMMIT",
      "",
    ].join("\n");
    const nftInput = [
      "table inet filter {",
      "  chain input {",
      "    type filter hook input priority filter; policy drop;",
      '    iifname "lo" accept',
      "    ip protocol icmp accept",
      "    ip saddr 198.51.100.128/25 drop",
      "    ip saddr 198.51.100.0/24 tcp dport { 22, 8080 } accept",
      "    ip saddr 203.0.113.0-203.0.113.255 udp dport 161 accept",
      "  }",
      "  chain forward {",
      "    type filter hook forward priority filter; policy drop;",
      "    ip saddr 192.0.2.0/24 accept",
      "  }",
      "}",
    ].join("\n");
    for (const m of [model({ dom0: { "/etc/iptables/rules.v4": rules } }), model({ dom0: { ...noFirewall, "/etc/cdktf-xen/firewall.nft": nftInput } })]) {
      const input = (protocol: "tcp" | "udp", from: string, port: number) => m._toDom0({ protocol, from, port }).outcome;
      expect([input("tcp", "198.51.100.1", 22), input("tcp", "198.51.100.200", 22), input("tcp", "198.51.100.1", 8080), input("tcp", "198.51.100.1", 23), input("udp", "203.0.113.9", 161), input("udp", "198.51.100.1", 161), input("tcp", OUTSIDE, 22)]).toEqual([
        "pass",
        "drop",
        "pass",
        "drop",
        "pass",
        "drop",
        "drop",
      ]);
      expect(m._inputSourceNetworks()).toEqual(["198.51.100.0/24", "198.51.100.128/25", "203.0.113.0/24"]);
      expect(m._inputPortsNamed().destination.map((r) => `${r.from}-${r.to}`)).toEqual(["22-22", "161-161", "8080-8080"]);
      // The forward path's networks are its own.
      expect(m.sourceNetworks()).toEqual(["192.0.2.0/24"]);
    }
    expect(model({ dom0: noFirewall })._toDom0({ protocol: "tcp", from: OUTSIDE, port: 22 }).outcome).toBe("unknown");
  });

  it("none where the rules name no source, or there is no firewall", () => {
    expect(model().sourceNetworks()).toEqual([]);
    expect(model({ dom0: noFirewall }).sourceNetworks()).toEqual([]);
  });
});

describe("the ports of the forward path", () => {
  const noFirewall = { "/etc/iptables/rules.v4": undefined, "/etc/iptables/rules.v6": undefined };
  const text = (ranges: readonly { from: number; to: number }[]) => ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(", ");

  it("iptables: --dport, --dports, --sport, --sports in FORWARD and the chains it jumps to, negated too; --ports both ways; INPUT left out", () => {
    const rules = [
      "*filter",
      ":INPUT DROP [0:0]",
      ":FORWARD DROP [0:0]",
      ":web - [0:0]",
      "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT",
      "-A FORWARD -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT",
      "-A FORWARD -p udp -m udp ! --dport 53 -j DROP",
      "-A FORWARD -p udp -m udp --sport 1024:65535 --dport 123 -j ACCEPT",
      "-A FORWARD -p tcp -m multiport --ports 25 -j ACCEPT",
      "-A FORWARD -j web",
      "-A web -p tcp -m multiport --sports 53,500:501 -m tcp --dport 8443 -j ACCEPT",
      "COMMIT",
      "",
    ].join("\n");
    const named = model({ dom0: { "/etc/iptables/rules.v4": rules } }).portsNamed();
    expect(text(named.destination)).toBe("25, 53, 80, 123, 443, 8000-8080, 8443");
    expect(text(named.source)).toBe("25, 53, 500-501, 1024-65535");
  });

  it("nftables: tcp, udp and th dport and sport values, anonymous sets, named sets and concatenations on the forward hook; the input hook left out", () => {
    const nft = [
      "table inet filter {",
      "  set web { type inet_service; flags interval; elements = { 80, 8000-8080 } }",
      "  set pairs { type ipv4_addr . inet_service; elements = { 192.0.2.7 . 8443 } }",
      "  chain input {",
      "    type filter hook input priority filter; policy drop;",
      "    tcp dport 22 accept",
      "  }",
      "  chain forward {",
      "    type filter hook forward priority filter; policy drop;",
      "    tcp dport @web accept",
      "    udp sport { 53, 1024-65535 } udp dport 53 accept",
      "    th dport != 123 drop",
      "    ip daddr . tcp dport @pairs accept",
      "    tcp dport http accept",
      "  }",
      "}",
    ].join("\n");
    const named = model({ dom0: { ...noFirewall, "/etc/cdktf-xen/firewall.nft": nft } }).portsNamed();
    expect(text(named.destination)).toBe("53, 80, 123, 8000-8080, 8443");
    expect(text(named.source)).toBe("53, 1024-65535");
  });

  it("none where the rules name no port, or there is no firewall", () => {
    expect(model({ dom0: noFirewall }).portsNamed()).toEqual({ destination: [], source: [] });
  });

  it("nft: a port written as a service name is not guessed: the rule may match, the verdict is unknown", () => {
    const nft = ["table inet filter {", "  chain forward {", "    type filter hook forward priority filter; policy drop;", "    tcp dport http accept", "  }", "}"].join("\n");
    const m = model({ dom0: { ...noFirewall, "/etc/cdktf-xen/firewall.nft": nft } });
    expect(m.flow({ from: "203.0.113.77", to: "192.168.0.200", port: 80 }).forward).toBe("unknown");
  });
});

describe("a guest's own firewall (test/lab/guest-firewall.test.ts checks it against the kernel)", () => {
  const rules = (...lines: string[]) => ["*filter", ":INPUT DROP [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", ...lines, "COMMIT", ""].join("\n");
  const withGuest = (files: Record<string, string | undefined>, running?: { iptablesSave?: string }) => {
    const f = seedFiles({ guest: files });
    return Reachability.fromFiles({ dom0: { id: "dom0", uplink: { device: "eth0", address: "192.168.0.1/24" }, files: f.dom0 }, guests: { webserv: f.guest }, ...(running ? { guestsRunning: { webserv: running } } : {}) });
  };

  it("its input path decides the request, named in the trace; a guest without one filters nothing", () => {
    const m = withGuest({ "/etc/iptables/rules.v4": rules("-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT") });
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 }).ok).toBe(true);
    const v = m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 443 });
    expect([v.forward, v.failure?.host, v.failure?.stage, v.failure?.text]).toEqual(["dropped", "webserv", "firewall", "INPUT in on eth0, new connection: rules.v4: no rule of INPUT matches, policy DROP"]);
    expect(model().flow({ from: OUTSIDE, to: "192.168.0.200", port: 443 }).hops.filter((h) => h.host === "webserv" && h.stage === "firewall")).toEqual([]);
  });

  it("its output path decides the reply, after the guest's route and before the dom0", () => {
    const m = withGuest({ "/etc/nftables.conf": "table inet g {\n  chain out {\n    type filter hook output priority filter; policy drop;\n  }\n}\n" });
    const v = m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect([v.forward, v.reply, v.failure?.text]).toEqual(["delivered", "dropped", "OUTPUT out by eth0, reply (established): nftables.conf: no rule of chain out matches, policy drop"]);
    const at = v.hops.indexOf(v.failure!);
    expect([v.hops[at - 1].host, v.hops[at - 1].stage]).toEqual(["webserv", "route"]);
  });

  it("ufw enabled, its rules not captured: unknown, naming ufw.conf; iptables-save captured beside the copy is read instead", () => {
    const ufw = { "/etc/ufw/ufw.conf": "# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n" };
    const v = withGuest(ufw).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect([v.forward, v.failure?.host, v.failure?.stage, v.failure?.undecidedBy]).toEqual([
      "unknown",
      "webserv",
      "firewall",
      'the model cannot read /etc/ufw/ufw.conf line 2 "ENABLED=yes": ufw loads its own rules at boot, which the model does not read (iptables-save, captured beside the copy, shows them)',
    ]);
    expect(withGuest(ufw).unreadable.map((u) => u.file)).toEqual(["/etc/ufw/ufw.conf"]);
    expect(withGuest({ "/etc/ufw/ufw.conf": "ENABLED=no\n" }).flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 }).ok).toBe(true);
    const captured = withGuest(ufw, { iptablesSave: rules("-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT") });
    expect([80, 443].map((port) => captured.flow({ from: OUTSIDE, to: "192.168.0.200", port }).forward)).toEqual(["dropped", "delivered"]);
  });
});

describe("the model of a dom0 from its constructs", () => {
  it("reads the files the constructs render, as synth does", () => {
    const { dom0 } = seedStack();
    const m = dom0Reachability(dom0);
    expect(m.guestAddresses()).toEqual({ webserv: ["192.168.0.200", "192.168.0.201", "192.168.0.202"] });
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.202", port: 80, apache: true }).ok).toBe(true);
  });
});
