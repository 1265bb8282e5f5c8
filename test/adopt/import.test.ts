/**
 * `cdktf-xen import`: the seed article's hand-made files turned into a
 * stack, synthesized by a real run of the imported code, give files that
 * mean the same (addresses, MACs, vifs, vhosts, forwarded ports) plus the
 * cure: the doctor finds every socket answering. The same round trip on
 * the library's own preview. The lab (test/lab/lab.test.ts) does it on the
 * files of deployed hosts.
 */
import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack } from "cdktf";
import { FirewallBackend, ForwardRule, Port, RoutedDomU, WebVhost, XenHost } from "../../lib";
import { portPieces } from "../../lib/adopt/firewall-names";
import { modelOfCopies, readHostCopy } from "../../lib/adopt/host-copy";
import { doctor } from "../../lib/adopt/doctor";
import { importStack, readSiteBlocks } from "../../lib/adopt/import";
import { readApacheBlocks } from "../../lib/reachability/apache";
import { main } from "../../lib/cli";
import { buildScenario } from "../../lib/lab/scenarios";
import { firewallOpenings, meaning, sockets, synthImported, typeCheckImported } from "../support/imported";
import { allPortsEdit, CopyFile, editedRestrictedCopy, HAND_EDITS, replaced, restrictedStack } from "../support/restricted";
import { seedStack } from "../support/seed";
import { describeWith, run, tempDir } from "../support/tools";
import { DISK_ALLOWED } from "../../lib/validation/disk";

const HAND_MADE = path.join(__dirname, "..", "fixtures", "seed-by-hand");
/** The restricted stack's uplink. */
const UPLINK = { device: "eth0", address: "192.0.2.1/24" };

describe("import: the seed article's hand-made files", () => {
  const { code, notes } = importStack(HAND_MADE, "dom0", { stack: "imported" });
  const out = tempDir("cdktf-xen-import-");
  afterAll(() => out.remove());
  let preview = "";
  beforeAll(() => {
    preview = synthImported(code, out.dir, "imported");
  }, 60000);

  it("writes the constructs, and says what it could not carry over", () => {
    expect(code).toContain('const webserv = new RoutedDomU(dom0, "webserv", {\n  memory: 512,\n  vcpus: 1,\n  disks: ["phy:/dev/vg0/webserv-disk,xvda,w", "phy:/dev/vg0/webserv-swap,xvdb,w"],\n  vifs: [\n    { mac: "de:ad:be:ef:00:00", address: "192.168.0.200/24" },');
    expect(code).toContain('new WebVhost(webserv, "site-b", {\n  address: "192.168.0.201",\n  serverName: "b.example.org",\n  documentRoot: "/var/www/b",\n});');
    // The article's rules take source ports 1024-65535 only: so does the imported rule.
    expect(code).toContain('new ForwardRule(dom0, "webserv-in", { to: webserv, ports: [80, 443], sourcePorts: [Port.tcpRange(1024, 65535)] });');
    // Its replies' rules name destination ports 1024:65535 too; they take no new connection, so no port of that range is imported.
    // The article filters nothing on the way to the dom0 itself (INPUT's policy is ACCEPT): the imported firewall does.
    expect(notes).toEqual([
      "dom0: the copy's firewall lets tcp/1-21, 23-65535 and udp/1-65535 reach the dom0 itself from anywhere; the imported firewall admits only sshd (tcp/22, from firewall.managementCidrs), ICMP and replies to the dom0: the first deploy closes them",
      "dom0: the copy's firewall lets any address reach sshd (tcp/22) on the dom0: firewall.managementCidrs is left unset (sshd open to any address; synth warns)",
    ]);
    expect(code.split("\n").filter((l) => l.startsWith("// NOTE "))).toHaveLength(2);
  });

  it("synthesized, its files mean the same: addresses, MACs, vifs, vhosts, and the same ports forwarded", () => {
    const before = meaning(HAND_MADE, "dom0");
    expect(before).toEqual({
      webserv: expect.objectContaining({ vifs: ["de:ad:be:ef:00:00 ip=192.168.0.200 eth0 192.168.0.200/24", "de:ad:be:ef:00:01 ip=192.168.0.201 eth1 192.168.0.201/24", "de:ad:be:ef:00:02 ip=192.168.0.202 eth2 192.168.0.202/24"] }),
    });
    expect(meaning(preview, "dom0")).toEqual(before);
    expect(sockets(doctor(preview, "dom0"))).toEqual(sockets(doctor(HAND_MADE, "dom0")));
  });

  it("plus the cure: every socket the hand-made host black-holes answers", () => {
    const r = doctor(preview, "dom0");
    expect(r.checks.filter((c) => c.status !== "answers").map((c) => c.verdict.summary)).toEqual([]);
    expect(r.problems).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(doctor(HAND_MADE, "dom0").exitCode).toBe(1);
  });

  it("the code type-checks with tsc --strict, as a user's project compiles it", () => {
    expect(typeCheckImported(code, path.join(out.dir, "tsc"))).toBe("");
    // tsc reads it for real: a wrong prop is an error.
    expect(typeCheckImported(code.replace("memory: 512", "memory: \"512\""), path.join(out.dir, "tsc-bad"))).toContain("error TS2322");
  }, 60000);

  it("a guest's own firewall is named in a note, from what it runs where captured, else its files (ufw switched on, firewalld installed); none, no note", () => {
    const withGuestFirewall = (change: (dir: string) => void) => {
      const t = tempDir("cdktf-xen-guest-fw-");
      try {
        fs.cpSync(HAND_MADE, t.dir, { recursive: true, verbatimSymlinks: true });
        change(t.dir);
        return importStack(t.dir, "dom0", { stack: "again" }).notes.filter((n) => n.startsWith("webserv: its own firewall"));
      } finally {
        t.remove();
      }
    };
    const rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n";
    const note = (from: string) => `webserv: its own firewall (${from}) is not imported and stays as it is: the stack does not manage a guest's firewall, and what it drops stays dropped (\`cdktf-xen doctor\` shows it in each trace)`;
    const filesOnly = withGuestFirewall((d) => {
      fs.mkdirSync(path.join(d, "webserv", "etc", "iptables"), { recursive: true });
      fs.writeFileSync(path.join(d, "webserv", "etc", "iptables", "rules.v4"), rules);
    });
    expect(filesOnly).toEqual([note("/etc/iptables/rules.v4")]);
    expect(withGuestFirewall((d) => fs.writeFileSync(path.join(d, "webserv.state", "iptables-save"), rules))).toEqual([note("iptables-save")]);
    // Loaded by an up line of the interfaces file (Debian's recipe), or changed there in a way not read.
    const upLine = (line: string, file?: string) => (d: string) => {
      const interfaces = path.join(d, "webserv", "etc", "network", "interfaces");
      fs.writeFileSync(interfaces, fs.readFileSync(interfaces, "utf8").replace("    gateway 192.168.0.1\n", `    gateway 192.168.0.1\n    ${line}\n`));
      if (file) fs.writeFileSync(path.join(d, "webserv", file), rules);
    };
    expect(withGuestFirewall(upLine("pre-up iptables-restore < /etc/iptables.up.rules", "etc/iptables.up.rules"))).toEqual([note("/etc/iptables.up.rules")]);
    expect(withGuestFirewall(upLine("post-up iptables -A INPUT -p tcp --dport 22 -j ACCEPT"))).toEqual([note("up lines of /etc/network/interfaces")]);
    const ufw = (enabled: string) => (d: string) => {
      fs.mkdirSync(path.join(d, "webserv", "etc", "ufw"), { recursive: true });
      fs.writeFileSync(path.join(d, "webserv", "etc", "ufw", "ufw.conf"), `ENABLED=${enabled}\n`);
    };
    expect(withGuestFirewall(ufw("yes"))).toEqual([note("ufw")]);
    expect(withGuestFirewall(ufw("no"))).toEqual([]);
    const firewalld = (d: string) => {
      fs.mkdirSync(path.join(d, "webserv", "etc", "firewalld"), { recursive: true });
      fs.writeFileSync(path.join(d, "webserv", "etc", "firewalld", "firewalld.conf"), "DefaultZone=public\n");
    };
    expect(withGuestFirewall(firewalld)).toEqual([note("firewalld")]);
    // nftables.conf, with what it includes, only when nftables.service is enabled (the copy's systemd links show it).
    const nftables = (enabled: boolean) => (d: string) => {
      const etc = path.join(d, "webserv", "etc");
      fs.mkdirSync(path.join(etc, "nftables.d"), { recursive: true });
      fs.writeFileSync(path.join(etc, "nftables.conf"), 'flush ruleset\ninclude "/etc/nftables.d/*.nft"\n');
      fs.writeFileSync(path.join(etc, "nftables.d", "web.nft"), "table inet web {\n  chain input {\n    type filter hook input priority filter; policy accept;\n    tcp dport 22 drop\n  }\n}\n");
      const link = (wants: string, unit: string) => {
        fs.mkdirSync(path.join(etc, "systemd", "system", wants), { recursive: true });
        fs.symlinkSync(`/lib/systemd/system/${unit}`, path.join(etc, "systemd", "system", wants, unit));
      };
      link("multi-user.target.wants", "ssh.service");
      if (enabled) link("sysinit.target.wants", "nftables.service");
    };
    expect(withGuestFirewall(nftables(false))).toEqual([]);
    expect(withGuestFirewall(nftables(true))).toEqual([note("/etc/nftables.conf, /etc/nftables.d/web.nft")]);
    // What runs now, captured, names it instead.
    expect(withGuestFirewall((d) => { firewalld(d); fs.writeFileSync(path.join(d, "webserv.state", "nft-ruleset"), "table inet firewalld {\n}\n"); })).toEqual([note("nft-ruleset")]);
    expect(notes.filter((n) => n.includes("its own firewall"))).toEqual([]);
  });

  it("a site Apache does not serve now (its Listen in a section that is off), or may not (in an <IfDefine>), is imported with a note", () => {
    const t = tempDir("cdktf-xen-import-apache-");
    try {
      fs.cpSync(HAND_MADE, t.dir, { recursive: true, verbatimSymlinks: true });
      const apache = path.join(t.dir, "webserv", "etc", "apache2");
      fs.writeFileSync(path.join(apache, "apache2.conf"), "IncludeOptional mods-enabled/*.load\nInclude ports.conf\nIncludeOptional sites-enabled/*.conf\n");
      fs.writeFileSync(path.join(apache, "ports.conf"), "Listen 192.168.0.200:80\nListen 192.168.0.201:80\n<IfModule ssl_module>\nListen 192.168.0.202:80\n</IfModule>\n");
      const siteA = path.join(apache, "sites-enabled", "site-a.conf");
      fs.rmSync(siteA);
      fs.writeFileSync(siteA, `<IfDefine STAGING>\n${fs.readFileSync(path.join(apache, "sites-available", "site-a.conf"), "utf8")}</IfDefine>\n`);
      const { code, notes } = importStack(t.dir, "dom0", { stack: "imported" });
      expect(notes.filter((n) => n.includes("Apache"))).toEqual([
        "webserv: site site-a on 192.168.0.200:80: whether Apache serves it now is not known (<IfDefine STAGING>: what apache2 is started with (-D) is not in the files); imported, the first deploy serves it",
        "webserv: site site-c on 192.168.0.202:80: Apache does not serve it now (no Listen of its configuration matches it); imported, the first deploy serves it",
      ]);
      expect(code.split("\n").filter((l) => l.startsWith("new WebVhost("))).toEqual(["site-a", "site-b", "site-c"].map((s) => `new WebVhost(webserv, "${s}", {`));
    } finally {
      t.remove();
    }
  });

  it("the command writes a new file only", () => {
    const to = path.join(out.dir, "stack.ts");
    let said = "";
    expect(main(["import", HAND_MADE, "--dom0", "dom0", "--stack", "imported", "--to", to], (s) => (said += s))).toBe(0);
    expect(said).toBe(`wrote ${to}; 2 notes at its top: what import could not carry over\n`);
    expect(fs.readFileSync(to, "utf8")).toBe(code);
    let err = "";
    expect(main(["import", HAND_MADE, "--dom0", "dom0", "--to", to], () => undefined, (s) => (err += s))).toBe(2);
    expect(err).toBe(`cdktf-xen import: ${to} exists: import writes a new file only\n`);
  });
});

describe("import: the library's own preview comes back as the same stack", () => {
  /** A vif of three addresses beside one of one, a site on a further address, UDP, and a port open to one network only. */
  function mixed(app: App): void {
    const stack = new TerraformStack(app, "mixed");
    const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, firewall: { managementCidrs: ["198.51.100.0/24"] } });
    const guest = new RoutedDomU(dom0, "multi", {
      disks: ["phy:/dev/vg0/multi,xvda,w"],
      vifs: [
        { mac: "00:16:3e:00:00:10", address: "192.0.2.10/24", additionalAddresses: ["192.0.2.11/24", "192.0.2.12/24"] },
        { mac: "00:16:3e:00:00:20", address: "192.0.2.20/24" },
      ],
    });
    new WebVhost(guest, "c", { address: "192.0.2.12", serverName: "c.example.org", documentRoot: "/var/www/c" }).connections.allowDefaultPortFromAnyIpv4();
    new ForwardRule(dom0, "dns", { to: guest, ports: [Port.udp(53)] });
    new ForwardRule(dom0, "ssh", { to: "192.0.2.20", ports: [22], from: ["198.51.100.0/24"] });
  }

  it.each([
    ["a stack with a vif of three addresses, UDP, and a port open to one network", mixed, "mixed"],
    ["a stack with ports open to the network of the usual outside client, and only from some source ports", (app: App) => void restrictedStack(app), "restricted"],
    ["the seed stack", (app: App) => void seedStack(app), "webserv"],
    ["the seed on systemd-networkd", (app: App) => void buildScenario(app, "seed", "networkd"), "lab"],
    ["the seed on netplan", (app: App) => void buildScenario(app, "seed", "netplan"), "lab"],
    ["the seed's addresses on one vif", (app: App) => void buildScenario(app, "seed", "one-vif"), "lab"],
    ["the two-guest scenario on ipsets", (app: App) => void buildScenario(app, "two-guests", "base"), "lab"],
    ["the two-guest scenario on nftables", (app: App) => void buildScenario(app, "two-guests", "nftables"), "lab"],
  ])("%s", (_, build, stack) => {
    const t = tempDir("cdktf-xen-reimport-");
    try {
      const app = new App({ outdir: path.join(t.dir, "first") });
      build(app);
      app.synth();
      const first = path.join(t.dir, "first", "stacks", stack, "hosts");
      const { code } = importStack(first, "dom0", { stack: "again" });
      const again = synthImported(code, path.join(t.dir, "again"), "again");
      expect(meaning(again, "dom0")).toEqual(meaning(first, "dom0"));
      expect(sockets(doctor(again, "dom0"))).toEqual(sockets(doctor(first, "dom0")));
      expect(doctor(again, "dom0").exitCode).toBe(0);
      // The same forwarding ruleset, line for line (sources, protocols, ports, vifs): both rendered from equal models.
      const forward = (dir: string) => {
        const d = readHostCopy(dir, "dom0").files;
        const text = d["/etc/iptables/rules.v4"] ?? d["/etc/cdktf-xen/firewall.nft"];
        return text.split("\n").filter((l) => /^-A FORWARD|daddr/.test(l.trim())).sort();
      };
      expect(forward(again).length).toBeGreaterThan(0);
      expect(forward(again)).toEqual(forward(first));
    } finally {
      t.remove();
    }
  }, 60000);
});

describe("import never opens more than the hand-written firewall does", () => {
  const RESTRICTED_RULES = [
    'new ForwardRule(dom0, "g-192-0-2-30-in", { to: "192.0.2.30", ports: [Port.udp(53)], sourcePorts: [Port.udp(53), Port.udpRange(1024, 65535)] });',
    'new ForwardRule(dom0, "g-192-0-2-31-in", { to: "192.0.2.31", ports: [80] });',
    'new ForwardRule(dom0, "g-192-0-2-31-in-2", { to: "192.0.2.31", ports: [Port.udp(53)], sourcePorts: [Port.udp(53), Port.udpRange(1024, 65535)] });',
    'new ForwardRule(dom0, "g-192-0-2-30-from-203-0-113-0-24", { to: "192.0.2.30", ports: [8443], from: ["203.0.113.0/24"], sourcePorts: [Port.tcpRange(1024, 65535)] });',
  ];
  const forwardRules = (code: string) => code.split("\n").filter((l) => l.startsWith("new ForwardRule("));
  const PINGS = (address: string) => `dom0: the copy's firewall lets ICMP echo requests (ping) through to ${address} from anywhere; ForwardRule opens TCP and UDP only, so the first deploy drops them`;

  it.each(HAND_EDITS.map((e) => [e.form, e] as const))("a port open to one network only, named by %s, stays open to that network only", (_, e) => {
    const t = tempDir("cdktf-xen-hand-edited-");
    try {
      const { code } = importStack(editedRestrictedCopy(t.dir, e.backend, e.edit), "dom0", { stack: "again" });
      const also = e.alsoNamed.map((n) => RESTRICTED_RULES[3].replace(/203-0-113-0-24/, n.replace(/[./]/g, "-")).replace("203.0.113.0/24", n));
      expect(forwardRules(code)).toEqual([...RESTRICTED_RULES.slice(0, 3), ...also, RESTRICTED_RULES[3]]);
    } finally {
      t.remove();
    }
  });

  it("a port open from anywhere but dropped for one network first is not imported as open from anywhere, and a note says so", () => {
    const t = tempDir("cdktf-xen-hand-edited-");
    try {
      const first = editedRestrictedCopy(t.dir, "iptables", (f) => void (f.text = f.text.replace("-A FORWARD -d 192.0.2.31/32", "-A FORWARD -s 203.0.113.0/24 -j DROP\n-A FORWARD -d 192.0.2.31/32")));
      const { code } = importStack(first, "dom0", { stack: "again" });
      expect(forwardRules(code)).toEqual([RESTRICTED_RULES[0], RESTRICTED_RULES[3]]);
      expect(code.split("\n").filter((l) => l.startsWith("// NOTE ") && l.includes("not as widely"))).toEqual(
        ["tcp/80", "udp/53"].map((p) => `// NOTE dom0: 192.0.2.31 ${p} is open from anywhere but not as widely from 203.0.113.0/24: a ForwardRule cannot leave a network out, so it is imported only for the source networks the firewall names; open it to others by hand`),
      );
      // What the imported stack opens, the hand-written firewall opens too.
      const again = synthImported(code, path.join(t.dir, "again"), "again");
      const opened = (dir: string) => doctor(dir, "dom0").checks.filter((c) => c.status === "answers").map((c) => `${c.address} ${c.protocol}/${c.port} ${c.why.replace(/, not to .*$/, "")}`);
      expect(opened(again).length).toBeGreaterThan(0);
      expect(opened(first)).toEqual(expect.arrayContaining(opened(again)));
    } finally {
      t.remove();
    }
  }, 60000);

  it("a network that holds another dropped first is imported for the part that passes only, never whole", () => {
    const t = tempDir("cdktf-xen-hand-edited-");
    try {
      const first = editedRestrictedCopy(t.dir, "iptables", (f) => void (f.text = replaced(f.text, "-A FORWARD -s 203.0.113.0/24 ", "-A FORWARD -s 203.0.113.128/25 -j DROP\n-A FORWARD -s 203.0.113.0/24 ")));
      const { code } = importStack(first, "dom0", { stack: "again" });
      expect(forwardRules(code)).toContain(RESTRICTED_RULES[3].replace("203-0-113-0-24", "203-0-113-0-25").replace("203.0.113.0/24", "203.0.113.0/25"));
      const opened = (dir: string) => firewallOpenings(dir, ["g"], UPLINK, [53, 80, 8443], ["198.51.100.77", "203.0.113.77", "203.0.113.200"]);
      expect(opened(first)).toContain("192.0.2.30 tcp/8443 from 203.0.113.77");
      expect(opened(first)).not.toContain("192.0.2.30 tcp/8443 from 203.0.113.200");
      // What the imported stack opens, the hand-written firewall opens too; from the lower half, all of it.
      const again = opened(synthImported(code, path.join(t.dir, "again"), "again"));
      expect(opened(first)).toEqual(expect.arrayContaining(again));
      expect(again.filter((o) => o.endsWith("from 203.0.113.77"))).toEqual(opened(first).filter((o) => o.endsWith("from 203.0.113.77")));
    } finally {
      t.remove();
    }
  }, 60000);

  it.each([
    ["iptables", (f: CopyFile): void => void (f.text = replaced(f.text, "COMMIT", "-A FORWARD -d 192.0.2.30/32 -p icmp -m icmp --icmp-type 8 -j ACCEPT\n-A FORWARD -d 192.0.2.31/32 -p icmp -m icmp --icmp-type echo-reply -j ACCEPT\nCOMMIT"))],
    ["nftables", (f: CopyFile): void => void (f.text = replaced(f.text, "\n\t}\n}", "\n\t\tip daddr 192.0.2.30 icmp type echo-request accept\n\t\tip daddr 192.0.2.31 icmp type echo-reply accept\n\t}\n}"))],
  ] as const)("%s: pings a rule lets through are named in a note (a ForwardRule opens TCP and UDP only); other ICMP types are not pings", (backend, edit) => {
    const t = tempDir("cdktf-xen-hand-edited-");
    try {
      const { code, notes } = importStack(editedRestrictedCopy(t.dir, backend, edit), "dom0", { stack: "again" });
      expect(notes.filter((n) => n.includes("ping") || n.includes("unknown"))).toEqual([PINGS("192.0.2.30")]);
      expect(forwardRules(code)).toEqual(RESTRICTED_RULES);
    } finally {
      t.remove();
    }
  });

  /** Both ends of every piece between the edges of the ports either copy's firewall names, from anywhere and from inside 203.0.113.0/24. */
  const sameOpenings = (first: string, again: string) => {
    const ends = (dir: string) => modelOfCopies(readHostCopy(dir, "dom0"), { g: readHostCopy(dir, "g") }, UPLINK).portsNamed().destination;
    const ports = [...new Set(portPieces([...ends(first), ...ends(again)]).flatMap((p) => [p.from, p.to]))];
    const opened = (dir: string) => firewallOpenings(dir, ["g"], UPLINK, ports, ["198.51.100.77", "203.0.113.77"]);
    expect(opened(first).length).toBeGreaterThan(0);
    expect(opened(again)).toEqual(opened(first));
  };

  it.each(["iptables", "nftables"] as const)("%s: a rule without a destination port is imported as every port of its address, and opens what the host opens", (backend) => {
    const t = tempDir("cdktf-xen-hand-edited-");
    try {
      const first = editedRestrictedCopy(t.dir, backend, allPortsEdit(backend, "192.0.2.31", "g-1").edit);
      const { code, notes } = importStack(first, "dom0", { stack: "again" });
      expect(forwardRules(code)).toEqual([RESTRICTED_RULES[0], 'new ForwardRule(dom0, "g-192-0-2-31-in", { to: "192.0.2.31", ports: [Port.allTcp(), Port.allUdp()] });', RESTRICTED_RULES[3]]);
      // The rule names no protocol: pings get through too, which no ForwardRule can say.
      expect(notes.filter((n) => n.includes("ping"))).toEqual([PINGS("192.0.2.31")]);
      sameOpenings(first, synthImported(code, path.join(t.dir, "again"), "again"));
    } finally {
      t.remove();
    }
  }, 60000);

  it.each([
    [
      "iptables",
      (f: CopyFile): void => void (f.text = replaced(f.text, "COMMIT", "-A FORWARD -m mac --mac-source 00:16:3e:00:00:99 -d 192.0.2.31/32 -p tcp -m tcp --dport 8080 -j ACCEPT\nCOMMIT")),
      // The model stops reading a rule at what it cannot read: the rule may match every socket no rule before it opens
      // (its port unread, the pieces are cut at the ports of the other rules).
      'rules.v4 line 17 "-A FORWARD -m mac --mac-source 00:16:3e:00:00:99 -d 192.0.2.31/32 -p tcp -m tcp --dport 8080 -j ACCEPT" may match: match -m mac not read by the model: the firewall\'s verdict is unknown for 192.0.2.30 tcp/1-52, 192.0.2.30 tcp/53, 192.0.2.30 tcp/54-79, 192.0.2.30 tcp/80, 192.0.2.30 tcp/81-8442, 192.0.2.30 tcp/8443 and 52 more',
    ],
    [
      "nftables",
      (f: CopyFile): void => void (f.text = replaced(f.text, "\n\t}\n}", "\n\t\tip daddr 192.0.2.31 tcp dport 8080 tcp sport ftp-data accept\n\t}\n}")),
      // nft's other matches are read: only that socket is in doubt.
      'firewall.nft line 36 "ip daddr 192.0.2.31 tcp dport 8080 tcp sport ftp-data accept" may match: a value or set it compares is not read by the model (a range, a name, a set not in the files): the firewall\'s verdict is unknown for 192.0.2.31 tcp/8080, 192.0.2.31 tcp/8080 from 203.0.113.0/24',
    ],
  ] as const)("%s: a rule the model cannot read is named in a note, with the sockets whose verdict it leaves unknown", (backend, edit, note) => {
    const t = tempDir("cdktf-xen-hand-edited-");
    try {
      const { code, notes } = importStack(editedRestrictedCopy(t.dir, backend, edit), "dom0", { stack: "again" });
      expect(notes.filter((n) => n.includes("unknown"))).toEqual([`dom0: ${note}, which are not imported; carry over by hand what the rule opens`]);
      expect(forwardRules(code)).toEqual(RESTRICTED_RULES);
    } finally {
      t.remove();
    }
  });

  it("a line the model cannot read leaves every verdict unknown, drops too: one note names that line, not the rule that decides each socket", () => {
    const t = tempDir("cdktf-xen-hand-edited-");
    try {
      const nat = (f: CopyFile): void => void (f.text = `*nat\n-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 192.0.2.31\nCOMMIT\n${f.text}`);
      const { code, notes } = importStack(editedRestrictedCopy(t.dir, "iptables", nat), "dom0", { stack: "again" });
      const line = 'the model cannot read /etc/iptables/rules.v4 line 2 "-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 192.0.2.31": the nat table is not read by the model';
      expect(notes.filter((n) => n.includes("unknown"))).toEqual([
        // Every socket: the nat rule may send any packet elsewhere, so not even the readable rules' drops are certain.
        `dom0: ${line}: the firewall's verdict is unknown for 192.0.2.30 tcp/1-52, 192.0.2.30 tcp/53, 192.0.2.30 tcp/54-79, 192.0.2.30 tcp/80, 192.0.2.30 tcp/81-8442, 192.0.2.30 tcp/8443 and 54 more, which are not imported; carry over by hand what the rule opens`,
        `dom0: ${line}: the firewall's verdict is unknown for tcp/22 from anywhere, tcp/1-21 from anywhere, tcp/23-65535 from anywhere, udp/1-21 from anywhere, udp/22 from anywhere, udp/23-65535 from anywhere and 6 more to the dom0 itself; check by hand whom it lets in`,
      ]);
      expect(forwardRules(code)).toEqual([]);
    } finally {
      t.remove();
    }
  });

  it.each([
    ["iptables", (f: CopyFile): void => void (f.text = replaced(f.text, "COMMIT", "-A FORWARD -d 192.0.2.30/32 -o g-0 -p tcp -m multiport --dports 8000:8080,9000 -j ACCEPT\nCOMMIT"))],
    ["nftables", (f: CopyFile): void => void (f.text = replaced(f.text, "\n\t}\n}", '\n\t\tip daddr 192.0.2.30 oifname "g-0" tcp dport { 8000-8080, 9000 } accept\n\t}\n}'))],
  ] as const)("%s: a destination port range is imported as a range, and opens what the host opens", (backend, edit) => {
    const t = tempDir("cdktf-xen-hand-edited-");
    try {
      const first = editedRestrictedCopy(t.dir, backend, edit);
      const { code, notes } = importStack(first, "dom0", { stack: "again" });
      expect(forwardRules(code)).toEqual([
        'new ForwardRule(dom0, "g-192-0-2-30-in", { to: "192.0.2.30", ports: [Port.tcpRange(8000, 8080), 9000] });',
        RESTRICTED_RULES[0].replace("g-192-0-2-30-in", "g-192-0-2-30-in-2"),
        ...RESTRICTED_RULES.slice(1),
      ]);
      expect(notes.filter((n) => n.includes("range"))).toEqual([]);
      sameOpenings(first, synthImported(code, path.join(t.dir, "again"), "again"));
    } finally {
      t.remove();
    }
  }, 60000);
});

describe("import: who may reach the dom0 itself is read through the model, in any form it reads", () => {
  const SSH_RULE = "-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 22 -j ACCEPT";
  const NFT_SSH_RULE = "ip saddr 198.51.100.0/24 tcp dport 22 accept";
  const closes = (ports: string, from: string) =>
    `dom0: the copy's firewall lets ${ports} reach the dom0 itself ${from}; the imported firewall admits only sshd (tcp/22, from firewall.managementCidrs), ICMP and replies to the dom0: the first deploy closes them`;
  const FORMS: readonly { form: string; backend: FirewallBackend; edit: (f: CopyFile) => void; sshd?: string[]; ssh?: string; management: string[]; notes: string[] }[] = [
    {
      form: "iptables: sshd in a multiport rule beside another port, its options in another order",
      backend: "iptables",
      edit: (f) => void (f.text = replaced(f.text, SSH_RULE, "-A INPUT -p tcp -m multiport --dports 22,8080 -s 198.51.100.0/24 -j ACCEPT")),
      management: ["198.51.100.0/24"],
      notes: [closes("tcp/8080", "from 198.51.100.0/24")],
    },
    {
      form: "iptables: sshd from an address range, and from a second network",
      backend: "iptables",
      edit: (f) => void (f.text = replaced(f.text, SSH_RULE, "-A INPUT -m iprange --src-range 198.51.100.0-198.51.100.255 -p tcp --dport 22 -j ACCEPT\n-A INPUT -s 203.0.113.0/24 -p tcp -m tcp --dport 22 -j ACCEPT")),
      management: ["198.51.100.0/24", "203.0.113.0/24"],
      notes: [],
    },
    {
      form: "iptables: a port of the dom0 open to anywhere, and sshd dropped for part of the management network first",
      backend: "iptables",
      edit: (f) => void (f.text = replaced(f.text, SSH_RULE, `-A INPUT -p udp -m udp --dport 161 -j ACCEPT\n-A INPUT -s 198.51.100.128/25 -j DROP\n${SSH_RULE}`)),
      // The network is cut at 198.51.100.128/25: sshd is imported for the half that reaches it only.
      management: ["198.51.100.0/25"],
      notes: [closes("udp/161", "from anywhere")],
    },
    {
      form: "iptables: sshd let in by a management interface alone, which the library's firewall cannot name",
      backend: "iptables",
      edit: (f) => void (f.text = replaced(f.text, SSH_RULE, "-A INPUT -i mgmt0 -p tcp -m tcp --dport 22 -j ACCEPT")),
      management: [],
      notes: ["dom0: the copy's firewall lets no network reach sshd (tcp/22) on the dom0 by its uplink eth0: firewall.managementCidrs is left unset (sshd open to any address, by every interface; synth warns); set it to the networks you deploy from"],
    },
    {
      form: "nftables: sshd from a set of two networks",
      backend: "nftables",
      edit: (f) => void (f.text = replaced(f.text, NFT_SSH_RULE, "ip saddr { 198.51.100.0/24, 203.0.113.0/24 } tcp dport 22 accept")),
      management: ["198.51.100.0/24", "203.0.113.0/24"],
      notes: [],
    },
    {
      form: "nftables: sshd from anywhere, and a port range of the dom0 open to one network",
      backend: "nftables",
      edit: (f) => void (f.text = replaced(f.text, NFT_SSH_RULE, "tcp dport 22 accept\n\t\tip saddr 203.0.113.0/24 tcp dport 8000-8080 accept")),
      management: [],
      notes: [closes("tcp/8000-8080", "from 203.0.113.0/24"), "dom0: the copy's firewall lets any address reach sshd (tcp/22) on the dom0: firewall.managementCidrs is left unset (sshd open to any address; synth warns)"],
    },
    {
      form: "iptables: sshd moved to port 2222 in sshd_config, let in from the management network",
      backend: "iptables",
      edit: (f) => void (f.text = replaced(f.text, SSH_RULE, SSH_RULE.replace("--dport 22", "--dport 2222"))),
      sshd: ["Port 2222"],
      ssh: 'ssh: { host: "192.0.2.1", port: 2222 }',
      management: ["198.51.100.0/24"],
      notes: [],
    },
    {
      form: "iptables: sshd on 22 and 2222, the management network let in on 2222 and anywhere on 22: the stack takes 2222",
      backend: "iptables",
      edit: (f) => void (f.text = replaced(f.text, SSH_RULE, `${SSH_RULE.replace("--dport 22", "--dport 2222")}\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT`)),
      sshd: ["Port 22", "Port 2222"],
      ssh: 'ssh: { host: "192.0.2.1", port: 2222 }',
      management: ["198.51.100.0/24"],
      notes: [
        closes("tcp/22", "from anywhere").replace("(tcp/22,", "(tcp/2222,"),
        "dom0: sshd listens on tcp/22 (sshd_config line 123) too; ssh.port is 2222, the one port the imported firewall opens to sshd",
      ],
    },
    {
      form: "nftables: sshd_config moves sshd to 2222, the firewall lets the management network reach 22 only",
      backend: "nftables",
      edit: (f) => void (f.text = replaced(f.text, NFT_SSH_RULE, `${NFT_SSH_RULE}\n\t\tip saddr 203.0.113.0/24 udp dport 161 accept`)),
      sshd: ["Port 2222"],
      ssh: 'ssh: { host: "192.0.2.1", port: 2222 }',
      management: [],
      notes: [
        closes("tcp/22", "from 198.51.100.0/24").replace("(tcp/22,", "(tcp/2222,"),
        closes("udp/161", "from 203.0.113.0/24").replace("(tcp/22,", "(tcp/2222,"),
        "dom0: the copy's firewall lets no network reach sshd (tcp/2222) on the dom0 by its uplink eth0: firewall.managementCidrs is left unset (sshd open to any address, by every interface; synth warns); set it to the networks you deploy from",
      ],
    },
  ];

  it.each(FORMS.map((f) => [f.form, f] as const))("%s", (_, f) => {
    const t = tempDir("cdktf-xen-input-");
    try {
      const { code, notes } = importStack(editedRestrictedCopy(t.dir, f.backend, f.edit, f.sshd), "dom0", { stack: "again" });
      const management = /managementCidrs: (\[[^\]]*\])/.exec(code)?.[1];
      expect(/ssh: \{[^}]*\}/.exec(code)?.[0]).toBe(f.ssh ?? 'ssh: { host: "192.0.2.1" }');
      expect(management === undefined ? [] : JSON.parse(management)).toEqual(f.management);
      expect(notes.filter((n) => n.includes("the dom0 itself") || n.includes("sshd"))).toEqual(f.notes);
    } finally {
      t.remove();
    }
  });

  it("the imported stack lets the same networks reach sshd, and no one else", () => {
    const t = tempDir("cdktf-xen-input-");
    try {
      const first = editedRestrictedCopy(t.dir, "iptables", FORMS[1].edit);
      const again = synthImported(importStack(first, "dom0", { stack: "again" }).code, path.join(t.dir, "again"), "again");
      const reach = (dir: string) =>
        ["198.51.100.77", "203.0.113.77", "192.0.2.77", "100.64.0.1"].map((from) => `${from} ${modelOfCopies(readHostCopy(dir, "dom0"), {}, UPLINK)._toDom0({ protocol: "tcp", from, port: 22 }).outcome}`);
      expect(reach(first)).toEqual(["198.51.100.77 pass", "203.0.113.77 pass", "192.0.2.77 drop", "100.64.0.1 drop"]);
      expect(reach(again)).toEqual(reach(first));
    } finally {
      t.remove();
    }
  }, 60000);

  it("what sshd -T printed, captured beside the copy, wins over its sshd_config", () => {
    const t = tempDir("cdktf-xen-input-");
    try {
      const moved = FORMS.find((f) => f.sshd?.join() === "Port 2222" && f.backend === "iptables")!;
      const copy = editedRestrictedCopy(t.dir, "iptables", moved.edit);
      fs.mkdirSync(path.join(copy, "dom0.state"));
      fs.writeFileSync(path.join(copy, "dom0.state", "sshd"), "port 2222\naddressfamily any\nlistenaddress [::]:2222\nlistenaddress 0.0.0.0:2222\n");
      const { code, notes } = importStack(copy, "dom0", { stack: "again" });
      expect(/ssh: \{[^}]*\}/.exec(code)?.[0]).toBe('ssh: { host: "192.0.2.1", port: 2222 }');
      expect(code).toContain('firewall: { managementCidrs: ["198.51.100.0/24"] }');
      expect(notes.filter((n) => n.includes("sshd"))).toEqual([]);
    } finally {
      t.remove();
    }
  });

  it("a synth preview, which holds no sshd_config: sshd's port is the stack's ssh.port, from topology.json beside it, for import and doctor alike; without topology.json, 22 and a doubt", () => {
    const t = tempDir("cdktf-xen-input-");
    try {
      const app = new App({ outdir: t.dir });
      // Its dom0's sshd listens on 2222, let in from 203.0.113.0/24.
      buildScenario(app, "two-guests");
      app.synth();
      const hosts = path.join(t.dir, "stacks", "lab", "hosts");
      const read = () => {
        const { code, notes } = importStack(hosts, "dom0", { stack: "again", uplink: "eth0=192.0.2.1/24" });
        const d = doctor(hosts, "dom0", { uplink: "eth0=192.0.2.1/24" });
        return {
          ssh: /ssh: \{[^}]*\}/.exec(code)?.[0],
          management: /managementCidrs: (\[[^\]]*\])/.exec(code)?.[1],
          notes: notes.filter((n) => n.includes("sshd")),
          doctor: { sshPort: d.dom0Access.sshPort, sshFrom: d.dom0Access.sshFrom, open: d.dom0Access.open, doubts: d.sshdDoubts },
        };
      };
      expect(read()).toEqual({
        ssh: 'ssh: { host: "192.0.2.1", port: 2222 }',
        management: '["203.0.113.0/24"]',
        notes: [],
        doctor: { sshPort: 2222, sshFrom: ["203.0.113.0/24"], open: [], doubts: [] },
      });
      fs.rmSync(path.join(t.dir, "stacks", "lab", "topology.json"));
      const bare = read();
      expect({ ssh: bare.ssh, sshPort: bare.doctor.sshPort, doubts: bare.doctor.doubts }).toEqual({ ssh: 'ssh: { host: "192.0.2.1" }', sshPort: 22, doubts: ["the copy holds no /etc/ssh/sshd_config"] });
    } finally {
      t.remove();
    }
  });

  it("sshd on another port: the imported stack connects through it, and lets the same network reach it and no other port", () => {
    const t = tempDir("cdktf-xen-input-");
    try {
      const moved = FORMS.find((f) => f.sshd?.join() === "Port 2222" && f.backend === "iptables")!;
      const first = editedRestrictedCopy(t.dir, "iptables", moved.edit, moved.sshd);
      const again = synthImported(importStack(first, "dom0", { stack: "again" }).code, path.join(t.dir, "again"), "again");
      const reach = (dir: string, port: number) =>
        ["198.51.100.77", "203.0.113.77"].map((from) => `${from} ${modelOfCopies(readHostCopy(dir, "dom0"), {}, UPLINK)._toDom0({ protocol: "tcp", from, port }).outcome}`);
      expect(reach(first, 2222)).toEqual(["198.51.100.77 pass", "203.0.113.77 drop"]);
      expect(reach(again, 2222)).toEqual(reach(first, 2222));
      expect(reach(again, 22)).toEqual(["198.51.100.77 drop", "203.0.113.77 drop"]);
      // Terraform's connection to the dom0 (its steps, and the bastion to its guests) is on that port.
      const tf = JSON.parse(fs.readFileSync(path.join(t.dir, "again", "stacks", "again", "cdk.tf.json"), "utf8"));
      const ports = new Set(Object.values<Record<string, { connection?: { host: string; port?: number; bastion_port?: number } }>>(tf.resource).flatMap((byName) => Object.values(byName)).map((r) => r.connection).filter((c) => c !== undefined).map((c) => (c.host === "192.0.2.1" ? c.port : c.bastion_port)));
      expect([...ports]).toEqual([2222]);
    } finally {
      t.remove();
    }
  }, 60000);
});

describe("import: a site's files and directives", () => {
  it("a file of the sites' folder that apache2 does not read is named in a note, with why: in a copy without apache2.conf, Debian's includes", () => {
    const notes: string[] = [];
    const vhost = "<VirtualHost 192.0.2.10:80>\n    ServerName a.example.org\n    DocumentRoot /var/www/a\n</VirtualHost>\n";
    const blocks = readSiteBlocks({ "/etc/apache2/ports.conf": "Listen 80\n", "/etc/apache2/sites-enabled/a.conf": vhost, "/etc/apache2/sites-enabled/a.conf.bak": vhost }, notes, "g").sites;
    expect(blocks.map((b) => `${b.file}:${b.line} ${b.serverName}`)).toEqual(["/etc/apache2/sites-enabled/a.conf:1 a.example.org"]);
    expect(notes).toEqual(["g: /etc/apache2/sites-enabled/a.conf.bak: apache2 does not read it (Debian's apache2.conf includes sites-enabled/*.conf), so its <VirtualHost> sections are not imported"]);
  });

  it("one that apache2 may not read (in an <IfDefine> inside the section) is imported with a note, aliases too; of several certificates, the first, with a note", () => {
    const files = {
      "/etc/apache2/ports.conf": "Listen 80\nListen 443\n",
      "/etc/apache2/sites-available/a.conf": [
        "<VirtualHost 192.0.2.10:443>",
        "    ServerName a.example.org",
        "    <IfDefine STAGING>",
        "        ServerName staging.example.org",
        "        ServerAlias www.staging.example.org",
        "    </IfDefine>",
        "    DocumentRoot /var/www/a",
        "    SSLEngine on",
        "    SSLCertificateFile /etc/ssl/a-rsa.pem",
        "    SSLCertificateKeyFile /etc/ssl/a-rsa.key",
        "    SSLCertificateFile /etc/ssl/a-ecdsa.pem",
        "    SSLCertificateKeyFile /etc/ssl/a-ecdsa.key",
        "</VirtualHost>",
      ].join("\n"),
    };
    const notes: string[] = [];
    const blocks = readSiteBlocks(files, notes, "g").sites;
    expect(blocks.map((b) => [b.serverName, b.aliases, b.documentRoot, b.tls])).toEqual([["staging.example.org", ["www.staging.example.org"], "/var/www/a", { certificateFile: "/etc/ssl/a-rsa.pem", certificateKeyFile: "/etc/ssl/a-rsa.key" }]]);
    expect(notes).toEqual([
      "g: /etc/apache2/sites-available/a.conf line 1: <VirtualHost 192.0.2.10:443> has 2 SSLCertificateFile lines; only the first (/etc/ssl/a-rsa.pem) and the first SSLCertificateKeyFile are imported",
      "g: /etc/apache2/sites-available/a.conf line 4: ServerName staging.example.org is imported, but apache2 may not read it (<IfDefine STAGING>: what apache2 is started with (-D) is not in the files)",
      "g: /etc/apache2/sites-available/a.conf line 5: ServerAlias www.staging.example.org is imported, but apache2 may not read it (<IfDefine STAGING>: what apache2 is started with (-D) is not in the files)",
    ]);
  });
});

describe("import: the values of a guest and its sites, checked by building the constructs the code builds", () => {
  const t = tempDir("cdktf-xen-import-values-");
  afterAll(t.remove);

  it("a ServerName with a scheme or port is imported as its host name; a site WebVhost refuses is not imported, an alias it refuses is left out, each with a note; the code synthesizes", () => {
    fs.cpSync(HAND_MADE, t.dir, { recursive: true, verbatimSymlinks: true });
    const sites = path.join(t.dir, "webserv", "etc", "apache2", "sites-enabled");
    const site = (name: string, lines: string[]) => {
      fs.rmSync(path.join(sites, `${name}.conf`));
      fs.writeFileSync(path.join(sites, `${name}.conf`), lines.join("\n") + "\n");
    };
    site("site-a", ["<VirtualHost 192.168.0.200:80>", "    ServerName http://a.example.org:80", "    ServerAlias www.a.example.org a?.example.org", "    DocumentRoot /var/www/a", "</VirtualHost>"]);
    site("site-b", ["<VirtualHost 192.168.0.201:80>", "    ServerName b.example.org", '    DocumentRoot "/var/www/b site"', "</VirtualHost>"]);
    site("site-c", ["<VirtualHost 192.168.0.202:80>", "    ServerName c.example.org", "    DocumentRoot /etc/apache2", "</VirtualHost>"]);
    const { code, notes } = importStack(t.dir, "dom0", { stack: "imported" });
    expect(code).toContain('new WebVhost(webserv, "site-a", {\n  address: "192.168.0.200",\n  serverName: "a.example.org",\n  serverAliases: ["www.a.example.org"],\n  documentRoot: "/var/www/a",\n});');
    expect(code).not.toContain('"site-b"');
    expect(code).not.toContain('"site-c"');
    expect(notes.filter((n) => n.startsWith("webserv:"))).toEqual([
      "webserv: /etc/apache2/sites-enabled/site-a.conf line 1: <VirtualHost 192.168.0.200:80>: ServerName http://a.example.org:80: imported as its host name (a WebVhost's ServerName is one; Apache's own links then take the scheme and port of the request)",
      'webserv: site site-a on 192.168.0.200: ServerAlias "a?.example.org" is invalid: expected a host name such as www.example.org (or *.example.org); left out (a WebVhost refuses it): the site no longer answers to that name after the first deploy',
      'webserv: site site-b on 192.168.0.201: not imported: WebVhost refuses it (imported/dom0/webserv/site-b: documentRoot "/var/www/b site" is invalid: expected an absolute path made of [A-Za-z0-9._+@%=-] components separated by single slashes); carry it over by hand',
      'webserv: site site-c on 192.168.0.202: not imported: WebVhost refuses it (imported/dom0/webserv/site-c: documentRoot "/etc/apache2" is invalid: a system directory would be published to the web (the site grants access to all of it); expected a directory of the site\'s own, such as /var/www/site-a); carry it over by hand',
    ]);
    expect(synthImported(code, path.join(t.dir, "out"), "imported")).toContain("hosts");
  }, 60000);

  it("a dom0 XenHost refuses (an uplink device named with @) stops the import with the construct's error", () => {
    expect(() => importStack(HAND_MADE, "dom0", { stack: "imported", uplink: "eth0@if2=192.168.0.1/24" })).toThrow(
      'dom0: cannot be imported: XenHost refuses it (imported/dom0: uplink.device "eth0@if2" is invalid: expected an interface name of 1-15 characters from [A-Za-z0-9_.-])',
    );
  });

  it("a guest RoutedDomU refuses (a disk with a script of its own) is not imported, nor its sites and ports, with a note; the code synthesizes", () => {
    const dir = path.join(t.dir, "guest");
    fs.cpSync(HAND_MADE, dir, { recursive: true, verbatimSymlinks: true });
    const cfg = path.join(dir, "dom0", "etc", "xen", "webserv.cfg");
    fs.writeFileSync(cfg, fs.readFileSync(cfg, "utf8").replace("'phy:/dev/vg0/webserv-swap,xvdb,w'", "'target=/dev/vg0/webserv-swap,vdev=xvdb,access=w,script=block-drbd'"));
    const { code, notes } = importStack(dir, "dom0", { stack: "imported" });
    expect(code).not.toContain("RoutedDomU(dom0");
    expect(code).not.toContain("new WebVhost(");
    expect(code).not.toContain("new ForwardRule(");
    expect(notes.filter((n) => n.startsWith("webserv:"))).toEqual([
      'webserv: not imported, with its sites and the ports forwarded to it: RoutedDomU refuses it (imported/dom0/webserv: disks[1] "target=/dev/vg0/webserv-swap,vdev=xvdb,access=w,script=block-drbd" is invalid: script= is not allowed (xl runs a disk script as root on the dom0); ' + DISK_ALLOWED + "); carry it over by hand",
    ]);
    expect(synthImported(code, path.join(dir, "out"), "imported")).toContain("hosts");
  }, 60000);
});

describe("import: a guest's xl config and naming files, read as xl and udev read them (test/reachability/xl-config.test.ts and test/render/guest-naming.test.ts check the readers against libxlutil and udevadm)", () => {
  const t = tempDir("cdktf-xen-import-xl-");
  afterAll(t.remove);
  const edit = (f: (text: string) => string) => {
    const cfg = path.join(t.dir, "dom0", "etc", "xen", "webserv.cfg");
    fs.writeFileSync(cfg, f(fs.readFileSync(cfg, "utf8")));
  };

  it("a vif commented out inside the list is not imported; a number xl reads in hex is, one it does not read (09) is left out with a note", () => {
    fs.cpSync(HAND_MADE, t.dir, { recursive: true, verbatimSymlinks: true });
    edit((text) => text.replace("               'mac=de:ad:be:ef:00:01", "#              'mac=de:ad:be:ef:00:01").replace("memory     = 512", "memory     = 0x200").replace("vcpus      = 1", "vcpus      = 09"));
    const { code, notes } = importStack(t.dir, "dom0", { stack: "imported" });
    expect(code).toContain(
      'new RoutedDomU(dom0, "webserv", {\n  memory: 512,\n  disks: ["phy:/dev/vg0/webserv-disk,xvda,w", "phy:/dev/vg0/webserv-swap,xvdb,w"],\n  vifs: [\n    { mac: "de:ad:be:ef:00:00", address: "192.168.0.200/24" },\n    { mac: "de:ad:be:ef:00:02", address: "192.168.0.202/24", device: "eth2" },\n  ],\n});',
    );
    expect(notes.filter((n) => n.startsWith("webserv:"))).toEqual([
      "webserv: vcpus is not a number xl reads; left out",
      'webserv: site site-b on 192.168.0.201: not imported: WebVhost refuses it (imported/dom0/webserv/site-b: address "192.168.0.201" is invalid: not an address of guest webserv; expected one of 192.168.0.200, 192.168.0.202); carry it over by hand',
    ]);
  });

  it("a vif whose ip= holds what is not an address is not imported, with a note", () => {
    edit((text) => text.replace("'mac=de:ad:be:ef:00:02, ip=192.168.0.202'", "'mac=de:ad:be:ef:00:02, ip=192.168.0.202 192.168.0.2x3'"));
    const { code, notes } = importStack(t.dir, "dom0", { stack: "imported" });
    expect(code).toContain('vifs: [\n    { mac: "de:ad:be:ef:00:00", address: "192.168.0.200/24" },\n  ],');
    expect(notes).toContain("dom0: /etc/xen/webserv.cfg line 8: ip= not read (mac=de:ad:be:ef:00:02, ip=192.168.0.202 192.168.0.2x3)");
    expect(notes).toContain("webserv: vif 1: ip= holds 192.168.0.2x3, not an IPv4 address; not imported");
  });

  it("a naming file line the model does not read is named in a note; iftab's names stand", () => {
    fs.mkdirSync(path.join(t.dir, "webserv", "etc", "udev", "rules.d"), { recursive: true });
    fs.writeFileSync(path.join(t.dir, "webserv", "etc", "udev", "rules.d", "70-persistent-net.rules"), 'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="de:ad:be:ef:00:00", NAME="lan0"\n');
    const { code, notes } = importStack(t.dir, "dom0", { stack: "imported" });
    expect(notes).toContain('webserv: /etc/udev/rules.d/70-persistent-net.rules line 1: DRIVERS=="?*" is not read by the model; the interface names it may set are not imported');
    expect(code).toContain('{ mac: "de:ad:be:ef:00:00", address: "192.168.0.200/24" },');
  });

  it("the interface names a running guest shows (ip -o link show, captured beside the copy) win over its naming files: the imported vifs keep them", () => {
    const link = (n: number, name: string, mac: string) => `${n}: ${name}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP mode DEFAULT group default qlen 1000\\    link/ether ${mac} brd ff:ff:ff:ff:ff:ff`;
    const state = path.join(t.dir, "webserv.state", "ip-link");
    fs.writeFileSync(state, [link(2, "enX0", "de:ad:be:ef:00:00"), link(3, "eth2", "de:ad:be:ef:00:02"), ""].join("\n"));
    try {
      const { code } = importStack(t.dir, "dom0", { stack: "imported" });
      expect(code).toContain('{ mac: "de:ad:be:ef:00:00", address: "192.168.0.200/24", device: "enX0" },');
    } finally {
      fs.rmSync(state);
    }
  });

  it("an xl.conf xl rejects: a note says its vif defaults are not taken, and each vif then says which script it has", () => {
    const dir = path.join(t.dir, "..", `${path.basename(t.dir)}-xl-conf`);
    fs.cpSync(HAND_MADE, dir, { recursive: true, verbatimSymlinks: true });
    const conf = path.join(dir, "dom0", "etc", "xen", "xl.conf");
    fs.writeFileSync(conf, fs.readFileSync(conf, "utf8").replace(/\n/g, "\r\n"));
    try {
      const { notes } = importStack(dir, "dom0", { stack: "imported" });
      expect(notes).toContain("dom0: /etc/xen/xl.conf line 2: xl cannot read the file (lexical error: a carriage return (the file has DOS line ends)): the vif defaults it sets (script, gatewaydev) are not taken");
      expect(notes).toContain("webserv: vif 0 has script vif-bridge; imported as a routed vif (vif-route)");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a config xl rejects (DOS line ends) is not imported, and a note says why", () => {
    edit((text) => text.replace(/\n/g, "\r\n"));
    const { code, notes } = importStack(t.dir, "dom0", { stack: "imported", uplink: "eth0=192.168.0.1/24" });
    expect(code).not.toContain("RoutedDomU(dom0");
    expect(notes[0]).toBe("dom0: /etc/xen/webserv.cfg line 1: xl cannot read the file (lexical error: a carriage return (the file has DOS line ends)): it starts no domain from it");
  });
});

describe("import: an Include in a site's section", () => {
  const files = (site: string, extra: Record<string, string> = {}) => ({ "/etc/apache2/ports.conf": "Listen 80\n", "/etc/apache2/sites-available/a.conf": site, ...extra });

  it("the files it names are read in place, relative to ServerRoot, a folder's in byte order, with what they decide; a note names the file and line of a directive apache2 may not read", () => {
    const site = ["<VirtualHost 192.0.2.10:80>", "    ServerName a.example.org", "    DocumentRoot /var/www/old", "    Include site-parts/a/", "    ServerAlias www.a.example.org", "</VirtualHost>"].join("\n");
    const notes: string[] = [];
    const blocks = readSiteBlocks(
      files(site, {
        "/etc/apache2/site-parts/a/2-root.conf": "DocumentRoot /var/www/a\n<IfDefine STAGING>\n    ServerAlias staging.a.example.org\n</IfDefine>\n",
        "/etc/apache2/site-parts/a/1-names.conf": "ServerName b.example.org\nIncludeOptional /etc/apache2/site-parts/none/*.conf\n",
      }),
      notes,
      "g",
    ).sites;
    expect(blocks.map((b) => [b.serverName, b.aliases, b.documentRoot])).toEqual([["b.example.org", ["staging.a.example.org", "www.a.example.org"], "/var/www/a"]]);
    expect(notes).toEqual(["g: /etc/apache2/site-parts/a/2-root.conf line 3: ServerAlias staging.a.example.org is imported, but apache2 may not read it (<IfDefine STAGING>: what apache2 is started with (-D) is not in the files)"]);
  });

  it("one the model does not follow (nothing in the copy that it names, a variable) is named in a note, and the section's own lines are imported", () => {
    const site = ["<VirtualHost 192.0.2.10:80>", "    ServerName a.example.org", "    Include /etc/apache2/site-parts/missing.conf", "    Include ${SITE_PARTS}/a.conf", "    DocumentRoot /var/www/a", "</VirtualHost>"].join("\n");
    const notes: string[] = [];
    const blocks = readSiteBlocks(files(site), notes, "g").sites;
    expect(blocks.map((b) => [b.serverName, b.documentRoot])).toEqual([["a.example.org", "/var/www/a"]]);
    expect(notes).toEqual([
      "g: /etc/apache2/sites-available/a.conf line 3: Include /etc/apache2/site-parts/missing.conf in <VirtualHost 192.0.2.10:80> is not followed (the files hold nothing it names (Apache does not start so; or the copy does not hold it)): what it adds to the site is not imported",
      "g: /etc/apache2/sites-available/a.conf line 4: Include ${SITE_PARTS}/a.conf in <VirtualHost 192.0.2.10:80> is not followed (an Include with a variable is not read by the model): what it adds to the site is not imported",
    ]);
  });
});

describeWith(["apache2ctl", "/etc/apache2/apache2.conf"], "import reads a guest's sites as apache2 reads them (apache2ctl -S on the same tree)", () => {
  const tmp = tempDir();
  afterAll(tmp.remove);

  it("the sections apache2 serves are those import reads: not a commented-out one, not a file sites-enabled/*.conf leaves out, not one in an <IfModule> that is off; one in conf-enabled too, with a note; a section's last ServerName, not one in an <IfModule> that is off, one from a file an Include in the section names", () => {
    // Debian's own /etc/apache2, its default site off, as a copy of a guest.
    const conf = path.join(tmp.dir, "copy", "g", "etc", "apache2");
    fs.cpSync("/etc/apache2", conf, { recursive: true, verbatimSymlinks: true });
    for (const f of fs.readdirSync(path.join(conf, "sites-enabled"))) fs.rmSync(path.join(conf, "sites-enabled", f));
    const site = (name: string, text: string, enable = true) => {
      fs.writeFileSync(path.join(conf, "sites-available", `${name}.conf`), text);
      if (enable) fs.symlinkSync(`../sites-available/${name}.conf`, path.join(conf, "sites-enabled", `${name}.conf`));
    };
    const vhost = (address: string, name: string) => `<VirtualHost ${address}>\n    ServerName ${name}\n    DocumentRoot /var/www/${name.split(".")[0]}\n</VirtualHost>\n`;
    site("a", `${vhost("192.0.2.10:80", "a.example.org")}#<VirtualHost 192.0.2.11:80>\n#    ServerName old.example.org\n#</VirtualHost>\n`);
    site("tls", `<IfModule mod_ssl.c>\n${vhost("192.0.2.14:443", "tls.example.org")}</IfModule>\n`);
    site("off", vhost("192.0.2.15:80", "off.example.org"), false);
    fs.writeFileSync(path.join(conf, "sites-enabled", "old.conf.bak"), vhost("192.0.2.12:80", "bak.example.org"));
    fs.writeFileSync(path.join(conf, "conf-enabled", "extra.conf"), vhost("192.0.2.13:8080", "conf.example.org"));
    // Apache takes a section's last ServerName; one in an <IfModule> of a module not loaded does not count, one of a module loaded does.
    site("names", [
      "<VirtualHost 192.0.2.16:80>", "    ServerName first.example.org", "    ServerName second.example.org", "    ServerAlias www.second.example.org", "    DocumentRoot /var/www/names", "</VirtualHost>",
      "<VirtualHost 192.0.2.17:80>", "    ServerName real.example.org", "    <IfModule mod_not_loaded.c>", "        ServerName off.example.org", "        ServerAlias off.example.org", "    </IfModule>", "    DocumentRoot /var/www/real", "</VirtualHost>",
      "<VirtualHost 192.0.2.18:80>", "    <IfModule mod_dir.c>", "        ServerName \\", "            on.example.org", "    </IfModule>", "    DocumentRoot \"/var/www/on\"", "</VirtualHost>",
    ].join("\n") + "\n");
    // An Include in a section: the folder it names (relative to ServerRoot) read in place; its ServerName comes after the section's own.
    site("inc", "<VirtualHost 192.0.2.19:80>\n    ServerName old.example.org\n    Include site-parts/inc/\n    DocumentRoot /var/www/inc\n</VirtualHost>\n");
    fs.mkdirSync(path.join(conf, "site-parts", "inc"), { recursive: true });
    fs.writeFileSync(path.join(conf, "site-parts", "inc", "names.conf"), "ServerName included.example.org\nServerAlias www.included.example.org\n");

    // apache2's own list of the virtual hosts it serves, their files as the copy names them.
    const dump = run("apache2ctl", ["-S"], { env: { APACHE_CONFDIR: conf } });
    expect(dump.status).toBe(0);
    const served = [...dump.stdout.matchAll(/^(\d\S+)\s+(\S+) \((\S+):(\d+)\)$/gm)].map((m) => `${m[1]} ${m[2]} ${m[3].replace(conf, "/etc/apache2")}:${m[4]}`).sort();
    expect(served).toEqual([
      "192.0.2.10:80 a.example.org /etc/apache2/sites-enabled/a.conf:1",
      "192.0.2.13:8080 conf.example.org /etc/apache2/conf-enabled/extra.conf:1",
      "192.0.2.16:80 second.example.org /etc/apache2/sites-enabled/names.conf:1",
      "192.0.2.17:80 real.example.org /etc/apache2/sites-enabled/names.conf:7",
      "192.0.2.18:80 on.example.org /etc/apache2/sites-enabled/names.conf:15",
      "192.0.2.19:80 included.example.org /etc/apache2/sites-enabled/inc.conf:1",
    ]);

    const files = readHostCopy(path.join(tmp.dir, "copy"), "g").files;
    const notes: string[] = [];
    const blocks = readSiteBlocks(files, notes, "g").sites;
    const live = readApacheBlocks(files)!.blocks.filter((b) => !b.off && b.maybe === undefined);
    expect(blocks.filter((b) => live.some((l) => l.file === b.file && l.line === b.line)).map((b) => `${b.address}:${b.port} ${b.serverName} ${b.file}:${b.line}`).sort()).toEqual(served);
    // Imported: what apache2 serves, and the TLS site in a section that is off (the import's notes say Apache does not serve it now).
    expect(blocks.map((b) => `${b.site} ${b.address}:${b.port}`).sort()).toEqual(["a 192.0.2.10:80", "extra 192.0.2.13:8080", "inc 192.0.2.19:80", "names 192.0.2.16:80", "names 192.0.2.17:80", "names 192.0.2.18:80", "tls 192.0.2.14:443"]);
    expect(blocks.filter((b) => b.site === "names").map((b) => [b.serverName, b.aliases, b.documentRoot])).toEqual([
      ["second.example.org", ["www.second.example.org"], "/var/www/names"],
      ["real.example.org", [], "/var/www/real"],
      ["on.example.org", [], "/var/www/on"],
    ]);
    expect(blocks.filter((b) => b.site === "inc").map((b) => [b.serverName, b.aliases, b.documentRoot])).toEqual([["included.example.org", ["www.included.example.org"], "/var/www/inc"]]);
    // Without apache2.conf and ports.conf, what apache2 reads is not known: nothing is imported, and a note says why.
    const bare: string[] = [];
    expect(readSiteBlocks(Object.fromEntries(Object.entries(files).filter(([p]) => p.includes("/sites-"))), bare, "g")).toEqual({ sites: [] });
    expect(bare).toEqual(["g: the copy holds Apache's sites but neither apache2.conf nor ports.conf, so what apache2 reads is not known; its sites are not imported"]);
    expect(notes).toEqual([
      "g: /etc/apache2/sites-enabled/old.conf.bak: apache2 does not read it (no Include of apache2.conf, or of a file it includes, names it), so its <VirtualHost> sections are not imported",
      "g: /etc/apache2/conf-enabled/extra.conf line 1: <VirtualHost 192.0.2.13:8080> is not in a site's file; imported as site extra: take it out of /etc/apache2/conf-enabled/extra.conf, or the first deploy has apache2 read it twice",
    ]);
  });
});
