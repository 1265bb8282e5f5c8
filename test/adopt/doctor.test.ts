/**
 * `cdktf-xen doctor` on the seed article's hand-made files (the first
 * address answers, the two others are black-holed), on the synth preview of
 * the library's own stacks (everything answers), and on copies it cannot
 * read in full (unknown, never a pass). test/lab/hand-made.test.ts checks
 * the captured state of the fixture against the real iptables and kernel.
 */
import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack } from "cdktf";
import * as fc from "fast-check";
import { ForwardRule, Port, RoutedDomU, WebVhost, XenHost } from "../../lib";
import { doctor, DoctorCheck, findUplink } from "../../lib/adopt/doctor";
import { readHostCopy } from "../../lib/adopt/host-copy";
import { main } from "../../lib/cli";
import { buildScenario } from "../../lib/lab/scenarios";
import { editedRestrictedCopy, HAND_EDITS, restrictedStack } from "../support/restricted";
import { seedStack } from "../support/seed";
import { tempDir } from "../support/tools";

const HAND_MADE = path.join(__dirname, "..", "fixtures", "seed-by-hand");

/** A copy of the fixture to change, removed after the test. */
function copyOf(change: (dir: string) => void): { dir: string; remove: () => void } {
  const t = tempDir("cdktf-xen-doctor-");
  fs.cpSync(HAND_MADE, t.dir, { recursive: true, verbatimSymlinks: true });
  change(t.dir);
  return t;
}

const brief = (checks: readonly DoctorCheck[]) => checks.map((c) => `${c.address} ${c.protocol} ${c.port} ${c.status}`);

describe("doctor on the seed article's hand-made files", () => {
  const report = doctor(HAND_MADE, "dom0");

  it("reports the first address fine and the two others black-holed, and exits non-zero", () => {
    expect(brief(report.checks)).toEqual([
      "192.168.0.200 tcp 80 answers",
      "192.168.0.200 tcp 443 answers",
      "192.168.0.201 tcp 80 black hole",
      "192.168.0.201 tcp 443 black hole",
      "192.168.0.202 tcp 80 black hole",
      "192.168.0.202 tcp 443 black hole",
    ]);
    expect(report.problems).toEqual([]);
    expect(report.exitCode).toBe(1);
    expect(report.text.trimEnd().split("\n").pop()).toBe("3 addresses, 6 sockets: 2 answer, 4 black-holed, 0 dropped, 0 unknown");
  });

  it("names each failure's hops, from the running firewall and the vif names xl list gives, and the cure", () => {
    const c = report.checks.find((x) => x.address === "192.168.0.201" && x.port === 80)!;
    expect(c.why).toBe("vhost site-b (site-b.conf line 1)");
    expect(c.verdict.hops.map((h) => `${h.outcome} ${h.host} ${h.stage}`)).toEqual([
      "pass dom0 arp", "pass dom0 rp_filter", "pass dom0 forwarding", "pass dom0 route", "pass dom0 firewall",
      "pass webserv arp", "pass webserv rp_filter", "pass webserv deliver", "pass webserv listen",
      "pass webserv route", "drop dom0 arp",
    ]);
    expect(c.verdict.hops[4].text).toBe(
      'FORWARD eth0 -> vif3.1, new connection: iptables-save line 12 "-A FORWARD -d 192.168.0.201/32 -i eth0 -p tcp -m tcp --sport 1024:65535 --dport 80 -m state --state NEW,ESTABLISHED -j ACCEPT": ACCEPT',
    );
    expect(c.verdict.summary).toBe(
      "tcp 203.0.113.77 -> 192.168.0.201:80: reply dropped at dom0 (arp): reply from 192.168.0.201 leaves the guest by eth0 (main table: default via 192.168.0.1 dev eth0 (interfaces line 8, gateway)); the guest asks on eth0 who has 192.168.0.1 (its gateway), as 192.168.0.201 (arp_announce 0 (all 0 (sysctl -a); eth0 0 (default))); the dom0 ignores the ARP request from 192.168.0.201: in on vif3.0, strict rp_filter drops it: 192.168.0.201 is routed via vif3.1 (main table: 192.168.0.201 dev vif3.1 src 192.168.0.1 (vif-route, webserv.cfg vif 1)); rp_filter 1 (all 1 (sysctl.conf line 2); vif3.0 1 (default))",
    );
    expect(c.cure).toBe(
      "source policy routing in the guest: the reply from 192.168.0.201 came in by eth1 and must leave by it, not eth0: a routing table per interface (its subnet and default route) and `ip rule add from 192.168.0.201 lookup <table>`, with arp_announce=2 and arp_ignore=1 in the guest, so that it asks for its gateway with the address of the interface it asks on; RoutedDomU writes both for every vif (`cdktf-xen import` turns these files into code)",
    );
    expect(report.text).toContain(`  BLACK HOLE tcp 80    vhost site-b (site-b.conf line 1)\n             ${c.verdict.summary}\n               pass    dom0 arp: `);
  });

  it("the command prints the report and exits 1", () => {
    let out = "";
    expect(main(["doctor", HAND_MADE, "--dom0", "dom0"], (s) => (out += s))).toBe(1);
    expect(out).toBe(report.text);
  });
});

describe("doctor on the dom0 itself: who its input path lets reach sshd, and what else", () => {
  it("the seed article's dom0 filters nothing on its way in: sshd from any address, and every other port", () => {
    const r = doctor(HAND_MADE, "dom0");
    expect(r.dom0Access).toEqual({ sshPort: 22, sshFrom: "anywhere", sshUndecided: false, open: [{ from: "from anywhere", ports: ["tcp/1-21, 23-65535", "udp/1-65535"] }], unknown: new Map() });
    expect(r.sshdDoubts).toEqual([]);
    expect(r.text).toContain(["", "dom0 itself, by its uplink eth0 192.168.0.1", "  sshd       tcp 22    from any address", "  open       tcp/1-21, 23-65535 and udp/1-65535 from anywhere", ""].join("\n"));
  });

  it("a firewall that lets the management network reach sshd on the port sshd_config names, and one more port from another network", () => {
    const t = tempDir("cdktf-xen-dom0-input-");
    try {
      const edit = (f: { text: string }) => void (f.text = f.text.replace("-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 22 -j ACCEPT", "-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 2222 -j ACCEPT\n-A INPUT -s 203.0.113.0/24 -p udp -m udp --dport 161 -j ACCEPT\n-A INPUT -m mac --mac-source 00:16:3e:00:00:01 -j ACCEPT"));
      const r = doctor(editedRestrictedCopy(t.dir, "iptables", edit, ["Port 2222", "Include /usr/local/etc/sshd.conf"]), "dom0");
      const { sshPort, sshFrom, sshUndecided, open, unknown } = r.dom0Access;
      expect({ sshPort, sshFrom, sshUndecided, open }).toEqual({ sshPort: 2222, sshFrom: ["198.51.100.0/24"], sshUndecided: true, open: [{ from: "from 203.0.113.0/24", ports: ["udp/161"] }] });
      // The rule the model cannot read may let anything in that no rule before it decides.
      expect([...unknown.keys()]).toEqual(['rules.v4 line 12 "-A INPUT -m mac --mac-source 00:16:3e:00:00:01 -j ACCEPT" may match: match -m mac not read by the model']);
      expect([...unknown.values()][0].slice(0, 2)).toEqual(["tcp/2222 from anywhere", "tcp/1-160 from anywhere"]);
      expect(r.text).toContain("  sshd       tcp 2222  from 198.51.100.0/24\n  open       udp/161 from 203.0.113.0/24\n  UNKNOWN    tcp/2222 from anywhere, tcp/1-160 from anywhere, ");
      expect(r.text).toContain("  sshd's port: Include /usr/local/etc/sshd.conf (sshd_config line 124): files the copy does not hold (import reads /etc/ssh/sshd_config and /etc/ssh/sshd_config.d)\n");
      // What the dom0 lets in to itself does not decide the exit code: that is the guests' sockets and what was read.
      expect(r.problems.filter((p) => !p.includes("-m mac"))).toEqual([]);
    } finally {
      t.remove();
    }
  });
});

describe("doctor on Debian's own layout of the interfaces file", () => {
  it("source /etc/network/interfaces.d/* at the top, eth2's stanza moved there: eth2 comes up first (test/render/real-tools.test.ts shows the kernel agree), so .200 is black-holed from its own subnet too", () => {
    const t = copyOf((d) => {
      const file = path.join(d, "webserv", "etc", "network", "interfaces");
      const whole = fs.readFileSync(file, "utf8");
      const at = whole.indexOf("auto eth2");
      fs.writeFileSync(file, `source /etc/network/interfaces.d/*\n\n${whole.slice(0, at)}`);
      fs.mkdirSync(path.join(d, "webserv", "etc", "network", "interfaces.d"));
      fs.writeFileSync(path.join(d, "webserv", "etc", "network", "interfaces.d", "eth2"), whole.slice(at));
    });
    try {
      const r = doctor(t.dir, "dom0");
      expect(r.problems).toEqual([]);
      expect(brief(r.checks)).toEqual(["200", "201", "202"].flatMap((a) => [80, 443].map((port) => `192.168.0.${a} tcp ${port} black hole`)));
      // The reply's route, named in the trace, is the sourced file's: a client on the subnet gets .200's reply by eth2.
      expect(r.checks[0].verdict.summary).toContain("tcp 192.168.0.254 -> 192.168.0.200:80: reply dropped at dom0 (arp): reply from 192.168.0.200 leaves the guest by eth2 (main table, the first of 3 routes to 192.168.0.0/24: 192.168.0.0/24 dev eth2 src 192.168.0.202 (eth2 line 3, the prefix route of eth2))");
    } finally {
      t.remove();
    }
  });
});

describe("doctor on Debian's own Apache layout", () => {
  /** Debian's apache2.conf, cut to what the model reads, and its ports.conf: Listen 443 only with mod_ssl. */
  const debianApache = (d: string, ssl: boolean) => {
    const apache = path.join(d, "webserv", "etc", "apache2");
    fs.writeFileSync(path.join(apache, "apache2.conf"), "IncludeOptional mods-enabled/*.load\nIncludeOptional mods-enabled/*.conf\nInclude ports.conf\nIncludeOptional conf-enabled/*.conf\nIncludeOptional sites-enabled/*.conf\n");
    fs.writeFileSync(path.join(apache, "ports.conf"), "Listen 80\n\n<IfModule ssl_module>\n\tListen 443\n</IfModule>\n");
    fs.writeFileSync(path.join(apache, "sites-enabled", "site-a-tls.conf"), "<VirtualHost 192.168.0.200:443>\n    DocumentRoot /var/www/a\n</VirtualHost>\n");
    fs.mkdirSync(path.join(apache, "mods-enabled"));
    if (ssl) fs.writeFileSync(path.join(apache, "mods-enabled", "ssl.load"), "LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n");
  };

  it("Listen 443 in <IfModule ssl_module> without mod_ssl enabled: the vhost on 443 is not served (test/lab/apache-config.test.ts shows apache2 agree)", () => {
    for (const ssl of [false, true]) {
      const t = copyOf((d) => debianApache(d, ssl));
      try {
        const r = doctor(t.dir, "dom0");
        expect(r.problems).toEqual([]);
        const tls = r.checks.filter((c) => c.why.startsWith("vhost site-a-tls"));
        expect(tls.map((c) => `${c.address} ${c.port} ${c.status}`)).toEqual([`192.168.0.200 443 ${ssl ? "answers" : "dropped"}`]);
        if (!ssl) expect(tls[0].verdict.summary).toBe("tcp 203.0.113.77 -> 192.168.0.200:443: request dropped at webserv (listen): Apache does not listen on 192.168.0.200:443 (no Listen in its configuration matches it)");
      } finally {
        t.remove();
      }
    }
  });

  it("what Apache listens on now, captured (ss -Hltnp): with Apache stopped, every vhost is dropped at its listen, where the files alone say it serves", () => {
    const t = copyOf((d) => fs.writeFileSync(path.join(d, "webserv.state", "listening"), 'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=5,fd=3))\n'));
    try {
      const r = doctor(t.dir, "dom0");
      expect(r.problems).toEqual([]);
      const vhosts = r.checks.filter((c) => c.why.startsWith("vhost"));
      expect(vhosts.map((c) => `${c.address} ${c.port} ${c.status} ${c.verdict.failure?.stage}`)).toEqual(["200", "201", "202"].map((a) => `192.168.0.${a} 80 dropped listen`));
      expect(vhosts[0].verdict.failure?.text).toBe("Apache does not listen on 192.168.0.200:80 (ss -Hltnp shows no socket of Apache's for it)");
      expect(r.text).toContain("read webserv: 9 files; what it runs now: sysctl, listening");
    } finally {
      t.remove();
    }
  });
});

describe("doctor on a guest's own firewall", () => {
  it("captured beside the copy (iptables-save): what it drops is dropped at the guest, with its cure", () => {
    const saved = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    const t = copyOf((d) => fs.writeFileSync(path.join(d, "webserv.state", "iptables-save"), saved));
    try {
      const r = doctor(t.dir, "dom0");
      expect(brief(r.checks)).toEqual(["200", "201", "202"].flatMap((a) => [80, 443].map((port) => `192.168.0.${a} tcp ${port} dropped`)));
      const c = r.checks[0];
      expect([c.verdict.failure?.host, c.verdict.failure?.text]).toEqual(["webserv", "INPUT in on eth0, new connection: iptables-save: no rule of INPUT matches, policy DROP"]);
      expect(c.cure).toBe("open tcp port 80 of 192.168.0.200 in the guest's own firewall (its INPUT chain, or its nftables input hook); the library does not manage a guest's firewall");
    } finally {
      t.remove();
    }
  });

  it("loaded by an up line of its interfaces file (pre-up iptables-restore < /etc/iptables.up.rules): the copy's file is read, and what it drops is dropped at the guest; without it, unknown, and the line named", () => {
    const rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT\nCOMMIT\n";
    const withLine = (d: string) => {
      const file = path.join(d, "webserv", "etc", "network", "interfaces");
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("    gateway 192.168.0.1\n", "    gateway 192.168.0.1\n    pre-up iptables-restore < /etc/iptables.up.rules\n"));
    };
    const t = copyOf((d) => {
      withLine(d);
      fs.writeFileSync(path.join(d, "webserv", "etc", "iptables.up.rules"), rules);
    });
    try {
      expect(readHostCopy(t.dir, "webserv").files["/etc/iptables.up.rules"]).toBe(rules);
      const r = doctor(t.dir, "dom0");
      // 80 is dropped at the guest's firewall; 443 fares as without it (the hand-made routing black-holes the replies of .201 and .202).
      expect(brief(r.checks)).toEqual(["192.168.0.200 tcp 80 dropped", "192.168.0.200 tcp 443 answers", "192.168.0.201 tcp 80 dropped", "192.168.0.201 tcp 443 black hole", "192.168.0.202 tcp 80 dropped", "192.168.0.202 tcp 443 black hole"]);
      expect([r.checks[0].verdict.failure?.host, r.checks[0].verdict.failure?.text]).toEqual(["webserv", "INPUT in on eth0, new connection: iptables.up.rules: no rule of INPUT matches, policy DROP"]);
      expect(r.problems.filter((p) => p.includes("iptables.up.rules"))).toEqual([]);
    } finally {
      t.remove();
    }
    const missing = copyOf(withLine);
    try {
      const r = doctor(missing.dir, "dom0");
      expect(r.checks.filter((c) => c.address === "192.168.0.200").map((c) => c.status)).toEqual(["unknown", "unknown"]);
      expect(r.problems).toContain('not read: /etc/network/interfaces line 9 "    pre-up iptables-restore < /etc/iptables.up.rules": loads /etc/iptables.up.rules, which the files do not hold (iptables-save or nft list ruleset, captured beside the copy, shows what runs)');
    } finally {
      missing.remove();
    }
  });

  it("Apache's Include of a file outside /etc/apache2 (certbot's options-ssl-apache.conf) or a wildcard there: the copy's files are read, and the site answers; a file the copy lacks leaves it unknown", () => {
    const site = (d: string) => path.join(d, "webserv", "etc", "apache2", "sites-available", "site-a.conf");
    const withIncludes = (d: string) => {
      fs.writeFileSync(site(d), fs.readFileSync(site(d), "utf8").replace("</VirtualHost>", "    Include /etc/letsencrypt/options-ssl-apache.conf\n    IncludeOptional /etc/apache2-local/*/site.conf\n</VirtualHost>"));
    };
    const t = copyOf((d) => {
      withIncludes(d);
      fs.mkdirSync(path.join(d, "webserv", "etc", "letsencrypt"), { recursive: true });
      fs.writeFileSync(path.join(d, "webserv", "etc", "letsencrypt", "options-ssl-apache.conf"), "SSLSessionTickets off\n");
      fs.writeFileSync(path.join(d, "webserv", "etc", "letsencrypt", "privkey.pem"), "not read\n");
      for (const dir of ["a", "b"]) {
        fs.mkdirSync(path.join(d, "webserv", "etc", "apache2-local", dir), { recursive: true });
        fs.writeFileSync(path.join(d, "webserv", "etc", "apache2-local", dir, "site.conf"), `Alias /${dir} /srv/${dir}\n`);
      }
      fs.writeFileSync(path.join(d, "webserv", "etc", "apache2-local", "a", "other.conf"), "not read\n");
    });
    try {
      const files = readHostCopy(t.dir, "webserv").files;
      // What the lines name, and nothing else of those folders.
      expect(Object.keys(files).filter((p) => /^\/etc\/(letsencrypt|apache2-local)\//.test(p))).toEqual(["/etc/letsencrypt/options-ssl-apache.conf", "/etc/apache2-local/a/site.conf", "/etc/apache2-local/b/site.conf"]);
      const r = doctor(t.dir, "dom0");
      expect(brief(r.checks).slice(0, 2)).toEqual(["192.168.0.200 tcp 80 answers", "192.168.0.200 tcp 443 answers"]);
      expect(r.problems).toEqual([]);
    } finally {
      t.remove();
    }
    const lacking = copyOf(withIncludes);
    try {
      const r = doctor(lacking.dir, "dom0");
      const c = r.checks.find((x) => x.address === "192.168.0.200" && x.port === 80)!;
      expect([c.status, c.verdict.failure?.host, c.verdict.failure?.text]).toEqual([
        "unknown",
        "webserv",
        'Apache listens on 192.168.0.200:80 (ports.conf line 1), site site-a (site-a.conf line 1); the model cannot read /etc/apache2/sites-enabled/site-a.conf line 4 "Include /etc/letsencrypt/options-ssl-apache.conf": the files hold nothing it names (Apache does not start so; or the copy does not hold it)',
      ]);
    } finally {
      lacking.remove();
    }
  });

  it("what loads at boot follows the copy's systemd links: nftables.conf not enabled drops nothing; enabled beside netfilter-persistent's rules.v4, its flush leaves the guest unknown", () => {
    const drop80 = "flush ruleset\ntable inet guest {\n  chain input {\n    type filter hook input priority filter; policy accept;\n    tcp dport 80 drop\n  }\n}\n";
    const rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 8080 -j DROP\nCOMMIT\n";
    const link = (d: string, wants: string, unit: string) => {
      fs.mkdirSync(path.join(d, "webserv", "etc", "systemd", "system", wants), { recursive: true });
      fs.symlinkSync(`/lib/systemd/system/${unit}`, path.join(d, "webserv", "etc", "systemd", "system", wants, unit));
    };
    const base = (d: string) => {
      fs.writeFileSync(path.join(d, "webserv", "etc", "nftables.conf"), drop80);
      fs.mkdirSync(path.join(d, "webserv", "etc", "iptables"), { recursive: true });
      fs.writeFileSync(path.join(d, "webserv", "etc", "iptables", "rules.v4"), rules);
      link(d, "multi-user.target.wants", "netfilter-persistent.service");
    };
    const disabled = copyOf(base);
    try {
      expect(readHostCopy(disabled.dir, "webserv").files["/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service"]).toBe("/lib/systemd/system/netfilter-persistent.service");
      const r = doctor(disabled.dir, "dom0");
      expect(brief(r.checks).slice(0, 2)).toEqual(["192.168.0.200 tcp 80 answers", "192.168.0.200 tcp 443 answers"]);
      expect(r.problems).toEqual([]);
    } finally {
      disabled.remove();
    }
    const both = copyOf((d) => {
      base(d);
      link(d, "sysinit.target.wants", "nftables.service");
    });
    try {
      const r = doctor(both.dir, "dom0");
      expect(r.checks.filter((c) => c.address === "192.168.0.200").map((c) => c.status)).toEqual(["unknown", "unknown"]);
      expect(r.problems).toEqual(['not read: /etc/nftables.conf line 1 "flush ruleset": nftables.service and netfilter-persistent.service both load the firewall at boot, in no set order, and nftables.conf flushes the ruleset: if it runs second, iptables\' rules from rules.v4 go with it (under iptables\' nf_tables backend)']);
    } finally {
      both.remove();
    }
  });

  it("an nftables.conf that includes a folder's files (include \"/etc/nftables.d/*.nft\"): the copy's folder is read, and what its files drop is dropped at the guest; an include the copy lacks leaves it unknown", () => {
    const conf = 'flush ruleset\ninclude "/etc/nftables.d/*.nft"\n';
    const drop80 = "table inet guest {\n  chain input {\n    type filter hook input priority filter; policy accept;\n    tcp dport 80 drop\n  }\n}\n";
    const t = copyOf((d) => {
      fs.mkdirSync(path.join(d, "webserv", "etc", "nftables.d"), { recursive: true });
      fs.writeFileSync(path.join(d, "webserv", "etc", "nftables.conf"), conf);
      fs.writeFileSync(path.join(d, "webserv", "etc", "nftables.d", "web.nft"), drop80);
    });
    try {
      expect(readHostCopy(t.dir, "webserv").files["/etc/nftables.d/web.nft"]).toBe(drop80);
      const r = doctor(t.dir, "dom0");
      expect(brief(r.checks)).toEqual(["192.168.0.200 tcp 80 dropped", "192.168.0.200 tcp 443 answers", "192.168.0.201 tcp 80 dropped", "192.168.0.201 tcp 443 black hole", "192.168.0.202 tcp 80 dropped", "192.168.0.202 tcp 443 black hole"]);
      expect([r.checks[0].verdict.failure?.host, r.checks[0].verdict.failure?.text]).toEqual(["webserv", "INPUT in on eth0, new connection: web.nft line 4 \"tcp dport 80 drop\": drop"]);
    } finally {
      t.remove();
    }
    const lacking = copyOf((d) => fs.writeFileSync(path.join(d, "webserv", "etc", "nftables.conf"), 'flush ruleset\ninclude "/etc/nftables.d/web.nft"\n'));
    try {
      const r = doctor(lacking.dir, "dom0");
      expect(r.checks.filter((c) => c.address === "192.168.0.200").map((c) => c.status)).toEqual(["unknown", "unknown"]);
      expect(r.problems).toEqual(['not read: /etc/nftables.conf line 2 "include \\"/etc/nftables.d/web.nft\\"": includes /etc/nftables.d/web.nft, which the files do not hold (nft fails to load /etc/nftables.conf without it)']);
    } finally {
      lacking.remove();
    }
  });

  it("ufw enabled and its rules not captured: every socket unknown, and ufw.conf named among what was not read", () => {
    const t = copyOf((d) => {
      fs.mkdirSync(path.join(d, "webserv", "etc", "ufw"), { recursive: true });
      fs.writeFileSync(path.join(d, "webserv", "etc", "ufw", "ufw.conf"), "ENABLED=yes\n");
    });
    try {
      const r = doctor(t.dir, "dom0");
      expect(brief(r.checks)).toEqual(["200", "201", "202"].flatMap((a) => [80, 443].map((port) => `192.168.0.${a} tcp ${port} unknown`)));
      expect(r.problems).toContain('not read: /etc/ufw/ufw.conf line 1 "ENABLED=yes": ufw loads its own rules at boot, which the model does not read (iptables-save, captured beside the copy, shows them)');
      expect(r.exitCode).toBe(1);
    } finally {
      t.remove();
    }
  });

  it("firewalld installed and what runs not captured: every socket unknown, and firewalld.conf named; with nft list ruleset captured, that is read", () => {
    const installed = (d: string) => {
      fs.mkdirSync(path.join(d, "webserv", "etc", "firewalld"), { recursive: true });
      fs.writeFileSync(path.join(d, "webserv", "etc", "firewalld", "firewalld.conf"), "DefaultZone=public\n");
    };
    const t = copyOf(installed);
    const captured = copyOf((d) => {
      installed(d);
      fs.writeFileSync(path.join(d, "webserv.state", "nft-ruleset"), "table inet firewalld {\n\tchain filter_INPUT {\n\t\ttype filter hook input priority filter + 10; policy accept;\n\t}\n}\n");
    });
    try {
      const r = doctor(t.dir, "dom0");
      expect(brief(r.checks)).toEqual(["200", "201", "202"].flatMap((a) => [80, 443].map((port) => `192.168.0.${a} tcp ${port} unknown`)));
      expect(r.problems).toContain('not read: /etc/firewalld/firewalld.conf line 0 "": firewalld is installed: the rules of its zones, which it loads when it starts, are not read by the model (nft list ruleset, captured beside the copy, shows what runs)');
      // The ruleset it runs lets everything in: the hand-made network's answer again.
      expect(brief(doctor(captured.dir, "dom0").checks)).toEqual(brief(doctor(HAND_MADE, "dom0").checks));
    } finally {
      t.remove();
      captured.remove();
    }
  });
});

describe("doctor never guesses: what it cannot read is unknown, and said", () => {
  it("without the running firewall, the files hold none: every socket unknown", () => {
    const t = copyOf((d) => fs.rmSync(path.join(d, "dom0.state", "iptables-save")));
    try {
      const r = doctor(t.dir, "dom0");
      expect(brief(r.checks)).toEqual(["192.168.0.200 tcp 80 unknown", "192.168.0.201 tcp 80 unknown", "192.168.0.202 tcp 80 unknown"]);
      expect(r.checks[0].verdict.failure?.text).toBe("FORWARD eth0 -> vif3.0, new connection: the files hold no firewall (rules.v4 or an nftables file), so what the dom0 filters is not known");
      expect(r.exitCode).toBe(1);
    } finally {
      t.remove();
    }
  });

  it("without xl list, vifs that have no vifname are not named: no address is answered for, and it says why", () => {
    const t = copyOf((d) => fs.rmSync(path.join(d, "dom0.state", "xl-list")));
    try {
      const r = doctor(t.dir, "dom0");
      expect(r.checks).toEqual([]);
      expect(r.problems[0]).toBe("not read: webserv.cfg line 6 \"vif 0\": no vifname: xl names it vif<domid>.0, known only once the guest runs (give the domain ids, as `xl list` prints them)");
      expect(r.exitCode).toBe(1);
    } finally {
      t.remove();
    }
  });

  it("a guest whose copy is missing, and a link that leaves the copy, are named", () => {
    const t = copyOf((d) => {
      fs.renameSync(path.join(d, "webserv"), path.join(d, "elsewhere"));
      fs.symlinkSync("/etc/hostname-of-the-host", path.join(d, "dom0", "etc", "iftab"));
    });
    try {
      const r = doctor(t.dir, "dom0");
      expect(r.problems).toEqual(["dom0: /etc/iftab: cannot be read: a link whose target the copy does not hold (/etc/hostname-of-the-host)", "webserv: the copy holds no webserv/ folder: its addresses cannot be answered for"]);
      expect(r.exitCode).toBe(1);
    } finally {
      t.remove();
    }
  });

  it("a copy's paths and links never lead outside it: `..` in a path a file names, a folder linked to / or to .., are read as on the host, inside the copy", () => {
    // A file beside the copy, which its paths and links aim at: doctor must not read it.
    const outside = tempDir("cdktf-xen-outside-");
    const secret = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m comment --comment SECRET-OUTSIDE-THE-COPY -j DROP\nCOMMIT\n";
    fs.writeFileSync(path.join(outside.dir, "fw.rules"), secret);
    const t = copyOf((d) => {
      const etc = path.join(d, "webserv", "etc");
      const climb = path.relative(path.join(etc, "network"), outside.dir).split(path.sep).length + 4;
      const escape = `/${"../".repeat(climb)}${outside.dir.slice(1)}/fw.rules`;
      const file = path.join(etc, "network", "interfaces");
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("    gateway 192.168.0.1\n", `    gateway 192.168.0.1\n    pre-up iptables-restore < ${escape}\n    pre-up iptables-restore < /etc/up/fw.rules\n`));
      // /etc/up is a link to the copy's own root, / on the host; /etc/iptables one to a relative climb far past it.
      fs.symlinkSync("/", path.join(etc, "up"));
      fs.symlinkSync("../".repeat(climb) + outside.dir.slice(1), path.join(etc, "iptables"));
      fs.writeFileSync(path.join(d, "webserv", "fw.rules"), "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n");
    });
    try {
      const copy = readHostCopy(t.dir, "webserv");
      expect(Object.values(copy.files).filter((text) => text.includes("SECRET-OUTSIDE-THE-COPY"))).toEqual([]);
      // Through the link to /, the copy's own /fw.rules; the path with `..` is /<outside>/fw.rules on the host, which the copy does not hold.
      expect(Object.keys(copy.files).filter((p) => p.endsWith("fw.rules"))).toEqual(["/etc/up/fw.rules"]);
      const r = doctor(t.dir, "dom0");
      expect(r.problems.join("\n")).not.toContain("SECRET");
      expect(r.problems.filter((p) => p.includes("which the files do not hold"))).toHaveLength(1);
    } finally {
      t.remove();
      outside.remove();
    }
  });

  it("a guest whose xl config names it with a path (name = \"../elsewhere\") is not read from outside the copy", () => {
    const t = copyOf((d) => {
      const cfg = path.join(d, "dom0", "etc", "xen", "webserv.cfg");
      fs.writeFileSync(cfg, fs.readFileSync(cfg, "utf8").replace('name       = "webserv"', 'name       = "../elsewhere"'));
    });
    // A folder beside the copy, as a guest would be: with the seed guest's files in it.
    const beside = path.join(path.dirname(t.dir), "elsewhere");
    fs.cpSync(path.join(t.dir, "webserv"), beside, { recursive: true, verbatimSymlinks: true });
    try {
      expect(readHostCopy(t.dir, "../elsewhere")).toMatchObject({ exists: false, files: {}, state: {} });
      const r = doctor(t.dir, "dom0");
      expect(r.problems).toContain("../elsewhere: the copy holds no ../elsewhere/ folder: its addresses cannot be answered for");
      expect(r.checks.every((c) => c.status === "unknown")).toBe(true);
    } finally {
      t.remove();
      fs.rmSync(beside, { recursive: true, force: true });
    }
  });

  it("a guest whose files name no interface, and whose interfaces file brings up enX0 to enX2: unknown; with its links captured (ip -o link show), read", () => {
    const systemdNames = (d: string) => {
      fs.rmSync(path.join(d, "webserv", "etc", "iftab"));
      const interfaces = path.join(d, "webserv", "etc", "network", "interfaces");
      fs.writeFileSync(interfaces, fs.readFileSync(interfaces, "utf8").replace(/eth(\d)/g, "enX$1"));
    };
    const unnamed = copyOf(systemdNames);
    // Lines as ip -o link show prints them (test/render/real-tools.test.ts reads the real command's).
    const link = (n: number, name: string, mac: string) => `${n}: ${name}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP mode DEFAULT group default qlen 1000\\    link/ether ${mac} brd ff:ff:ff:ff:ff:ff`;
    const captured = copyOf((d) => {
      systemdNames(d);
      const lo = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00";
      fs.writeFileSync(path.join(d, "webserv.state", "ip-link"), [lo, ...[0, 1, 2].map((i) => link(i + 2, `enX${i}`, `de:ad:be:ef:00:0${i}`)), ""].join("\n"));
    });
    try {
      const r = doctor(unnamed.dir, "dom0");
      expect(brief(r.checks)).toEqual(["192.168.0.200 tcp 80 unknown", "192.168.0.200 tcp 443 unknown", "192.168.0.201 tcp 80 unknown", "192.168.0.201 tcp 443 unknown", "192.168.0.202 tcp 80 unknown", "192.168.0.202 tcp 443 unknown"]);
      expect(r.checks[0].verdict.failure?.text).toBe(
        'the dom0 asks who has 192.168.0.200: vif3.0 is eth0 in the guest (assumed: no naming file names MAC de:ad:be:ef:00:00, so the kernel\'s eth0 in vif order), which the guest\'s files do not bring up; but the model cannot read /etc/network/interfaces line 5 "iface enX0": the host has no interface enX0: ifup fails for it (and 2 more)',
      );
      // With the links captured, the very verdicts of the fixture, whose iftab names them eth0 to eth2.
      expect(brief(doctor(captured.dir, "dom0").checks)).toEqual(brief(doctor(HAND_MADE, "dom0").checks));
    } finally {
      unnamed.remove();
      captured.remove();
    }
  });

  it("a wrong invocation exits 2 and says what was expected", () => {
    let err = "";
    const none = () => undefined;
    expect(main(["doctor", HAND_MADE, "--dom0", "nosuch"], none, (s) => (err += s))).toBe(2);
    expect(err).toBe(`cdktf-xen doctor: ${path.join(HAND_MADE, "nosuch")}: no such folder: the copy holds dom0, webserv\n`);
    err = "";
    expect(main(["doctor", HAND_MADE, "--dom0", "dom0", "--uplink", "eth0"], none, (s) => (err += s))).toBe(2);
    expect(err).toBe('cdktf-xen doctor: --uplink: "eth0" is not an uplink: expected <device>=<address>/<prefix>, e.g. eth0=192.0.2.1/24\n');
    expect(main(["doctor"], none, none)).toBe(2);
  });
});

describe("doctor on the library's own synth preview exits 0", () => {
  /** Synthesizes `build` into a temporary outdir and runs the doctor on each dom0 of its preview. */
  function previewOf(build: (app: App) => void): { reports: ReturnType<typeof doctor>[]; remove: () => void } {
    const t = tempDir("cdktf-xen-preview-");
    const app = new App({ outdir: t.dir });
    build(app);
    app.synth();
    const reports: ReturnType<typeof doctor>[] = [];
    for (const stack of fs.readdirSync(path.join(t.dir, "stacks"))) {
      const hosts = path.join(t.dir, "stacks", stack, "hosts");
      const topology = JSON.parse(fs.readFileSync(path.join(t.dir, "stacks", stack, "topology.json"), "utf8")) as { dom0s: { id: string }[] };
      for (const d of topology.dom0s) reports.push(doctor(hosts, d.id));
    }
    return { reports, remove: t.remove };
  }

  it.each([
    ["the seed stack", (app: App) => void seedStack(app)],
    ["the two-guest scenario", (app: App) => buildScenario(app, "two-guests", "base")],
    ["the two-guest scenario on nftables", (app: App) => buildScenario(app, "two-guests", "nftables")],
  ])("%s", (_, build) => {
    const p = previewOf(build);
    try {
      expect(p.reports.length).toBeGreaterThan(0);
      for (const r of p.reports) {
        expect({ dom0: r.dom0, problems: r.problems, failing: r.checks.filter((c) => c.status !== "answers").map((c) => c.verdict.summary) }).toEqual({ dom0: r.dom0, problems: [], failing: [] });
        expect(r.checks.length).toBeGreaterThan(0);
        expect(r.exitCode).toBe(0);
      }
    } finally {
      p.remove();
    }
  });
});

describe("doctor on ports open only to a network, or only from some source ports", () => {
  it("asks each from a client in that network and at a source port it lets through; the usual outside client stands for anywhere only outside every named network", () => {
    const t = tempDir("cdktf-xen-preview-");
    try {
      const app = new App({ outdir: t.dir });
      restrictedStack(app);
      app.synth();
      const r = doctor(path.join(t.dir, "stacks", "restricted", "hosts"), "dom0");
      // 203.0.113.77 and 203.0.113.177 are in the named network, 192.0.2.177 on the uplink: the benchmarking network (RFC 2544) stands in.
      expect(r.text).toContain("clients: 198.18.0.1 (behind the uplink's router), 192.0.2.254 (on the uplink's subnet), 203.0.113.1 (in 203.0.113.0/24)");
      expect(r.checks.map((c) => `${c.address} ${c.protocol} ${c.port} ${c.why}: ${c.status}`)).toEqual([
        "192.0.2.30 tcp 8443 opened by the firewall to 203.0.113.0/24 from source ports 1024-65535: answers",
        "192.0.2.30 udp 53 opened by the firewall from source ports 53, 1024-65535: answers",
        "192.0.2.31 tcp 80 opened by the firewall: answers",
        "192.0.2.31 udp 53 opened by the firewall from source ports 53, 1024-65535: answers",
      ]);
      expect(r.checks[0].verdict.question).toMatchObject({ from: "203.0.113.1", protocol: "tcp", port: 8443 });
      expect(r.exitCode).toBe(0);
    } finally {
      t.remove();
    }
  });
});

describe("doctor on hand-written firewalls that name a network otherwise (sets), or drop it before opening a port to anywhere", () => {
  const RESTRICTED = [
    "192.0.2.30 tcp 8443 opened by the firewall to 203.0.113.0/24 from source ports 1024-65535: answers",
    "192.0.2.30 udp 53 opened by the firewall from source ports 53, 1024-65535: answers",
    "192.0.2.31 tcp 80 opened by the firewall: answers",
    "192.0.2.31 udp 53 opened by the firewall from source ports 53, 1024-65535: answers",
  ];
  const checks = (r: ReturnType<typeof doctor>) => r.checks.map((c) => `${c.address} ${c.protocol} ${c.port} ${c.why}: ${c.status}`);

  it.each(HAND_EDITS.map((e) => [e.form, e] as const))("%s: the port is asked from a client in that network, and answers", (_, e) => {
    const t = tempDir("cdktf-xen-hand-edited-");
    try {
      const r = doctor(editedRestrictedCopy(t.dir, e.backend, e.edit), "dom0");
      const also = e.alsoNamed.map((n) => RESTRICTED[0].replace("203.0.113.0/24", n));
      expect(checks(r)).toEqual([...also, ...RESTRICTED]);
      expect(r.checks[also.length].verdict.question).toMatchObject({ from: "203.0.113.1", port: 8443 });
      expect(r.exitCode).toBe(0);
    } finally {
      t.remove();
    }
  });

  it("a port open from anywhere but not to a network dropped before it: the report says which", () => {
    const t = tempDir("cdktf-xen-hand-edited-");
    try {
      const r = doctor(editedRestrictedCopy(t.dir, "iptables", (f) => void (f.text = f.text.replace("-A FORWARD -d 192.0.2.31/32", "-A FORWARD -s 203.0.113.0/24 -j DROP\n-A FORWARD -d 192.0.2.31/32"))), "dom0");
      expect(checks(r)).toEqual([RESTRICTED[0], RESTRICTED[1], RESTRICTED[2].replace(":", ", not to 203.0.113.0/24:"), RESTRICTED[3].replace(":", ", not to 203.0.113.0/24:")]);
    } finally {
      t.remove();
    }
  });
});

describe("doctor on any stack's own preview exits 0 (generated stacks)", () => {
  // Guests of one to three vifs, sites on their addresses, forwarded ports of both protocols from anywhere
  // or from one network, on either firewall backend, with and without ipsets.
  const stacks = fc.record({
    backend: fc.constantFrom("iptables" as const, "nftables" as const),
    ipsetFrom: fc.constantFrom(0, 64),
    guests: fc.array(
      fc.record({
        vifs: fc.integer({ min: 1, max: 3 }),
        sites: fc.array(fc.record({ vif: fc.nat(2), port: fc.constantFrom(80, 8080), tls: fc.boolean() }), { maxLength: 3 }),
        rules: fc.array(
          fc.record({
            protocol: fc.constantFrom("tcp" as const, "udp" as const),
            port: fc.constantFrom(22, 53, 123, 443, 8443),
            // 203.0.113.0/24 holds the usual client behind the router; a source-port range leaves out the default one.
            from: fc.constantFrom("0.0.0.0/0", "198.51.100.0/24", "203.0.113.0/24"),
            sourcePorts: fc.constantFrom(undefined, [1024, 65535] as const, [53, 53] as const),
          }),
          { maxLength: 3 },
        ),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  });

  it("every socket the doctor asks answers, and it reads everything", () => {
    let asked = 0;
    fc.assert(
      fc.property(stacks, (s) => {
        const t = tempDir("cdktf-xen-doctor-any-");
        try {
          const app = new App({ outdir: t.dir });
          const stack = new TerraformStack(app, "any");
          const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, firewall: { backend: s.backend, ipsetFrom: s.ipsetFrom, managementCidrs: ["198.51.100.0/24"] } });
          let next = 10;
          s.guests.forEach((g, i) => {
            const addresses = Array.from({ length: g.vifs }, () => `192.0.2.${next++}`);
            const guest = new RoutedDomU(dom0, `g${i}`, { disks: [`phy:/dev/vg0/g${i},xvda,w`], vifs: addresses.map((a, j) => ({ mac: `00:16:3e:00:0${i}:0${j}`, address: `${a}/24` })) });
            const used = new Set<string>();
            g.sites.forEach((site, k) => {
              const address = addresses[site.vif % addresses.length];
              if (used.has(address)) return;
              used.add(address);
              const vhost = new WebVhost(guest, `s${i}-${k}`, { address, serverName: `s${i}-${k}.example.org`, documentRoot: `/var/www/s${i}-${k}`, ports: [site.port], tls: site.tls ? { certificateFile: "/etc/ssl/c.pem", certificateKeyFile: "/etc/ssl/k.pem" } : undefined });
              vhost.connections.allowDefaultPortFromAnyIpv4();
            });
            g.rules.forEach((r, k) =>
              new ForwardRule(dom0, `r${i}-${k}`, {
                to: guest,
                ports: [r.protocol === "tcp" ? Port.tcp(r.port) : Port.udp(r.port)],
                from: [r.from],
                ...(r.sourcePorts ? { sourcePorts: [r.protocol === "tcp" ? Port.tcpRange(r.sourcePorts[0], r.sourcePorts[1]) : Port.udpRange(r.sourcePorts[0], r.sourcePorts[1])] } : {}),
              }),
            );
          });
          app.synth();
          const r = doctor(path.join(t.dir, "stacks", "any", "hosts"), "dom0");
          expect({ problems: r.problems, failing: r.checks.filter((c) => c.status !== "answers").map((c) => c.verdict.summary) }).toEqual({ problems: [], failing: [] });
          expect(r.exitCode).toBe(0);
          // Every vhost socket was asked, and every forwarded port, from whatever source and source ports.
          const served = s.guests.reduce((n, g) => n + new Set(g.sites.map((x) => x.vif % g.vifs)).size, 0);
          expect(r.checks.filter((c) => c.why.startsWith("vhost")).length).toBeGreaterThanOrEqual(served);
          const sockets = new Set(r.checks.map((c) => `${c.address} ${c.protocol}/${c.port}`));
          let first = 10;
          s.guests.forEach((g) => {
            const addresses = Array.from({ length: g.vifs }, (_, j) => `192.0.2.${first + j}`);
            first += g.vifs;
            for (const rule of g.rules) for (const a of addresses) expect(sockets).toContain(`${a} ${rule.protocol}/${rule.port}`);
          });
          asked += r.checks.length;
        } finally {
          t.remove();
        }
      }),
      { numRuns: 25, seed: 20261203 },
    );
    expect(asked).toBeGreaterThan(50);
  }, 120000);
});

describe("doctor: the dom0's uplink, when neither --uplink nor topology.json gives it", () => {
  const t = tempDir("cdktf-xen-uplink-");
  afterAll(t.remove);
  /** A copy of the seed's hand-made hosts, with `edit` applied to the dom0's files (a path to undefined removes it). */
  const copy = (name: string, edit: Record<string, (text: string) => string | undefined>) => {
    const dir = path.join(t.dir, name);
    fs.cpSync(HAND_MADE, dir, { recursive: true, verbatimSymlinks: true });
    for (const [p, f] of Object.entries(edit)) {
      const file = path.join(dir, "dom0", p);
      const text = f(fs.readFileSync(file, "utf8"));
      if (text === undefined) fs.rmSync(file);
      else fs.writeFileSync(file, text);
    }
    return dir;
  };

  it("read from the vifs' gatewaydev and that device's address in the interfaces file", () => {
    expect(findUplink(HAND_MADE, readHostCopy(HAND_MADE, "dom0"))).toEqual({ device: "eth0", address: "192.168.0.1/24", from: "/etc/network/interfaces" });
  });

  it("when it cannot be read, the error says why: an xl config xl rejects, several gatewaydev, no interfaces file, no address", () => {
    const cases: [string, Record<string, (text: string) => string | undefined>, string][] = [
      ["rejected", { "etc/xen/webserv.cfg": (s) => s.replace(/\n/g, "\r\n") }, 'no vif of the copy\'s xl configs names it (gatewaydev); /etc/xen/webserv.cfg line 1 "": xl cannot read the file (lexical error: a carriage return (the file has DOS line ends)): it starts no domain from it'],
      ["several", { "etc/xen/webserv.cfg": (s) => s.replace("'mac=de:ad:be:ef:00:01, ip=192.168.0.201'", "'mac=de:ad:be:ef:00:01, ip=192.168.0.201, gatewaydev=eth1'") }, "the vifs name several gatewaydev (eth0, eth1)"],
      ["no-interfaces", { "etc/network/interfaces": () => undefined }, "the copy has no /etc/network/interfaces to read eth0's address from"],
      ["no-address", { "etc/network/interfaces": (s) => s.replace(/iface eth0 inet static[\s\S]*?(\n\n|$)/, "iface eth0 inet dhcp\n\n") }, "eth0 has no static address in /etc/network/interfaces of the copy"],
    ];
    for (const [name, edit, why] of cases) {
      const dir = copy(name, edit);
      expect(() => findUplink(dir, readHostCopy(dir, "dom0"))).toThrow(`dom0: the uplink is not known: ${why}; give it with --uplink <device>=<address>/<prefix>`);
    }
  });
});
