import * as fs from "fs";
import * as path from "path";
import { Annotations, App, TerraformStack, Testing } from "cdktf";
import { ForwardRule, Port, RoutedDomU, WebVhost, XenHost, XenPropError } from "../lib";
import { WebservStack } from "../examples/webserv/main";
import { seedStack } from "./support/seed";
import { tempDir } from "./support/tools";

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

function newHost(id = "dom0", address = "192.0.2.1/24", stack = new TerraformStack(Testing.app(), "s")) {
  return new XenHost(stack, id, { ssh: { host: "198.51.100.2" }, uplink: { address } });
}

describe("synth", () => {
  const out = tempDir();
  afterAll(out.remove);

  it("writes a preview of every host's files, byte-identical to what the hosts receive", () => {
    const app = new App({ outdir: out.dir });
    const { dom0, webserv } = seedStack(app);
    app.synth();
    const hosts = path.join(out.dir, "stacks", "webserv", "hosts");
    expect(listFiles(hosts)).toEqual([
      "dom0/etc/iptables/rules.v4",
      "dom0/etc/sysctl.d/60-cdktf-xen.conf",
      "dom0/etc/xen/scripts/vif-post.d/cdktf-xen.hook",
      "dom0/etc/xen/webserv.cfg",
      "dom0/usr/local/sbin/cdktf-xen-firewall",
      "dom0/var/lib/cdktf-xen/guests.list",
      "webserv/etc/apache2/ports.conf",
      "webserv/etc/apache2/sites-available/site-a.conf",
      "webserv/etc/apache2/sites-available/site-b.conf",
      "webserv/etc/apache2/sites-available/site-c.conf",
      "webserv/etc/iftab",
      "webserv/etc/iproute2/rt_tables.d/cdktf-xen.conf",
      "webserv/etc/network/interfaces",
      "webserv/etc/sysctl.d/60-cdktf-xen.conf",
      "webserv/var/lib/cdktf-xen/sites.list",
    ]);
    for (const host of [dom0, webserv]) {
      for (const f of host.hostFiles()) {
        expect(fs.readFileSync(path.join(hosts, host.hostId, f.path), "utf8")).toBe(f.content);
      }
    }
    expect(fs.existsSync(path.join(out.dir, "stacks", "webserv", "cdk.tf.json"))).toBe(true);
  });

  it("the example app synthesizes the seed scenario", () => {
    const dir = path.join(out.dir, "example");
    const app = new App({ outdir: dir });
    new WebservStack(app, "webserv");
    app.synth();
    const hosts = path.join(dir, "stacks", "webserv", "hosts");
    const rules = fs.readFileSync(path.join(hosts, "dom0/etc/iptables/rules.v4"), "utf8");
    expect(rules.match(/^-A FORWARD .*--dports 80,443 -j ACCEPT$/gm)).toHaveLength(3);
    expect(fs.readFileSync(path.join(hosts, "webserv/etc/apache2/ports.conf"), "utf8")).toContain("Listen 192.168.0.202:443 https\n");
  });

  it("a failed synth writes nothing: no cdk.tf.json and no preview", () => {
    const dir = path.join(out.dir, "failed");
    const app = new App({ outdir: dir });
    const { dom0 } = seedStack(app);
    new RoutedDomU(dom0, "clash", { disks: [], vifs: [{ mac: "00:16:3e:00:00:99", address: "192.168.0.201/24" }] });
    expect(() => app.synth()).toThrow(/webserv\/dom0\/clash: vifs\[0\]\.address "192.168.0.201" is invalid: already used by webserv\/dom0\/webserv vifs\[1\]\.address/);
    expect(listFiles(dir).filter((f) => f.endsWith(".json") || f.includes("hosts"))).toEqual([]);
  });
});

describe("forwarding rules under one dom0 land in one ruleset", () => {
  it("from a guest, a vhost, an address; de-duplicated and independent of definition order", () => {
    const build = (order: number[]) => {
      const dom0 = newHost();
      const g = new RoutedDomU(dom0, "g", {
        disks: [],
        vifs: [{ mac: "00:16:3e:00:00:01", address: "192.0.2.10/24" }, { mac: "00:16:3e:00:00:02", address: "192.0.2.11/24" }],
      });
      const v = new WebVhost(g, "site", { address: "192.0.2.11", ports: [8080], serverName: "s.example.org", documentRoot: "/srv/s" });
      const rules = [
        () => new ForwardRule(dom0, "r0", { to: g, ports: [80] }),
        () => new ForwardRule(dom0, "r1", { to: v }),
        () => new ForwardRule(dom0, "r2", { to: "192.0.2.10", ports: [80, Port.udp(53)] }),
      ];
      order.forEach((i) => rules[i]());
      return dom0.firewallModel().accepts;
    };
    const accepts = build([0, 1, 2]);
    expect(accepts).toEqual([
      { vifname: "g-0", address: "192.0.2.10", protocol: "tcp", source: "0.0.0.0/0", ports: [{ from: 80, to: 80 }], sourcePorts: [] },
      { vifname: "g-0", address: "192.0.2.10", protocol: "udp", source: "0.0.0.0/0", ports: [{ from: 53, to: 53 }], sourcePorts: [] },
      { vifname: "g-1", address: "192.0.2.11", protocol: "tcp", source: "0.0.0.0/0", ports: [{ from: 80, to: 80 }, { from: 8080, to: 8080 }], sourcePorts: [] },
    ]);
    expect(build([2, 1, 0])).toEqual(accepts);
  });
});

describe("bad input is refused with the construct path, the prop, the value and what is allowed", () => {
  const vif = (n: number, address = `192.0.2.${10 + n}/24`) => ({ mac: `00:16:3e:00:00:${(16 + n).toString(16)}`, address });
  const cases: [string, () => unknown, RegExp][] = [
    ["malformed IPv4 in a vif", () => new RoutedDomU(newHost(), "g", { disks: [], vifs: [vif(0, "192.0.2.300/24")] }), /s\/dom0\/g: vifs\[0\]\.address "192\.0\.2\.300\/24" is invalid: expected an IPv4 address with a prefix length/],
    ["address without prefix", () => new RoutedDomU(newHost(), "g", { disks: [], vifs: [vif(0, "192.0.2.10")] }), /vifs\[0\]\.address "192\.0\.2\.10" is invalid/],
    ["network address as host", () => new RoutedDomU(newHost(), "g", { disks: [], vifs: [vif(0, "192.0.2.0/24")] }), /is the network address of 192\.0\.2\.0\/24/],
    ["broadcast address as host", () => new RoutedDomU(newHost(), "g", { disks: [], vifs: [vif(0, "192.0.2.255/24")] }), /is the broadcast address/],
    ["malformed MAC", () => new RoutedDomU(newHost(), "g", { disks: [], vifs: [{ mac: "de:ad:be:ef:00", address: "192.0.2.10/24" }] }), /vifs\[0\]\.mac "de:ad:be:ef:00" is invalid: expected a MAC address/],
    ["multicast MAC", () => new RoutedDomU(newHost(), "g", { disks: [], vifs: [{ mac: "01:00:5e:00:00:01", address: "192.0.2.10/24" }] }), /multicast MAC/],
    ["empty vif list", () => new RoutedDomU(newHost(), "g", { disks: [], vifs: [] }), /s\/dom0\/g: vifs \[\] is invalid: expected at least one vif/],
    ["more vifs than Xen allows", () => new RoutedDomU(newHost("dom0", "10.9.0.1/16"), "g", { disks: [], vifs: Array.from({ length: 65 }, (_, i) => ({ mac: `00:16:3e:00:01:${i.toString(16).padStart(2, "0")}`, address: `10.9.1.${i + 1}/16` })) }), /Xen allows at most 64 vifs/],
    ["vifname too long", () => new RoutedDomU(newHost(), "g", { disks: [], vifs: [{ ...vif(0), vifname: "a-very-long-vifname" }] }), /vifs\[0\]\.vifname "a-very-long-vifname" is invalid: a vifname has at most 15 characters/],
    ["default vifname too long for hvm", () => new RoutedDomU(newHost(), "longguestname", { type: "hvm", disks: [], vifs: [vif(0)] }), /vifname \(default\) "longguestname-0" is invalid: a vifname has at most 11 characters for a hvm guest/],
    ["guest id with a path traversal", () => new RoutedDomU(newHost(), "../etc", { disks: [], vifs: [vif(0)] }), /: id "\.\.\/etc" is invalid: expected a construct id of 1-63 characters/],
    ["guest name (from the id) in upper case", () => new RoutedDomU(newHost(), "Web", { disks: [], vifs: [vif(0)] }), /s\/dom0\/Web: name \(the construct id\) "Web" is invalid: expected a name of 1-32 characters matching \[a-z0-9\]\[a-z0-9-\]\*/],
    ["guest name upper case", () => new RoutedDomU(newHost(), "g", { name: "Web", disks: [], vifs: [vif(0)] }), /: name "Web" is invalid/],
    ["memory out of range", () => new RoutedDomU(newHost(), "g", { memory: 0, disks: [], vifs: [vif(0)] }), /memory 0 is invalid: expected a whole number from 32 to 4194304 MiB/],
    ["disk spec with a quote", () => new RoutedDomU(newHost(), "g", { disks: ["phy:/dev/x',xvda,w"], vifs: [vif(0)] }), /disks\[0\] "phy:\/dev\/x',xvda,w" is invalid/],
    ["vhost address not owned by its guest", () => { const g = new RoutedDomU(newHost(), "g", { disks: [], vifs: [vif(0)] }); return new WebVhost(g, "w", { address: "192.0.2.99", serverName: "w.example.org", documentRoot: "/srv/w" }); }, /s\/dom0\/g\/w: address "192\.0\.2\.99" is invalid: not an address of guest g; expected one of 192\.0\.2\.10/],
    ["ServerName with a newline", () => { const g = new RoutedDomU(newHost(), "g", { disks: [], vifs: [vif(0)] }); return new WebVhost(g, "w", { address: "192.0.2.10", serverName: "a.example.org\nInclude /etc/shadow", documentRoot: "/srv/w" }); }, /serverName "a\.example\.org\\nInclude \/etc\/shadow" is invalid: expected a host name/],
    ["DocumentRoot with a command substitution", () => { const g = new RoutedDomU(newHost(), "g", { disks: [], vifs: [vif(0)] }); return new WebVhost(g, "w", { address: "192.0.2.10", serverName: "a.example.org", documentRoot: "/srv/$(reboot)" }); }, /documentRoot "\/srv\/\$\(reboot\)" is invalid: expected an absolute path/],
    ["DocumentRoot with ..", () => { const g = new RoutedDomU(newHost(), "g", { disks: [], vifs: [vif(0)] }); return new WebVhost(g, "w", { address: "192.0.2.10", serverName: "a.example.org", documentRoot: "/srv/../etc" }); }, /'\.' and '\.\.' are not allowed/],
    ["port 0 in a ForwardRule", () => { const h = newHost(); const g = new RoutedDomU(h, "g", { disks: [], vifs: [vif(0)] }); return new ForwardRule(h, "r", { to: g, ports: [0] }); }, /s\/dom0\/r: ports\[0\]\.from 0 is invalid: expected a port number from 1 to 65535/],
    ["inverted port range", () => { const h = newHost(); const g = new RoutedDomU(h, "g", { disks: [], vifs: [vif(0)] }); return new ForwardRule(h, "r", { to: g, ports: [Port.tcpRange(90, 80)] }); }, /ports\[0\] "90-80" is invalid: the range is inverted/],
    ["ForwardRule to a guest of another dom0", () => { const stack = new TerraformStack(Testing.app(), "s"); const a = newHost("a", "192.0.2.1/24", stack); const b = newHost("b", "198.51.100.1/24", stack); const g = new RoutedDomU(b, "g", { disks: [], vifs: [vif(0, "198.51.100.10/24")] }); return new ForwardRule(a, "r", { to: g, ports: [80] }); }, /s\/a\/r: to "s\/b\/g" is invalid: that guest runs on s\/b/],
    ["ForwardRule to an address no guest has", () => new ForwardRule(newHost(), "r", { to: "192.0.2.77", ports: [80] }), /to "192\.0\.2\.77" is invalid: no guest of s\/dom0 has this address/],
    ["literal private key", () => new XenHost(new TerraformStack(Testing.app(), "s"), "dom0", { ssh: { host: "198.51.100.2", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }, uplink: { address: "192.0.2.1/24" } }), /ssh\.privateKey "\(a literal key, not shown\)" is invalid: pass a reference to a sensitive TerraformVariable/],
    ["management CIDR with host bits", () => new XenHost(new TerraformStack(Testing.app(), "s"), "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, firewall: { managementCidrs: ["203.0.113.5/24"] } }), /firewall\.managementCidrs\[0\] "203\.0\.113\.5\/24" is invalid: host bits are set; expected the network address, e\.g\. 203\.0\.113\.0\/24/],
  ];
  it.each(cases)("%s", (_name, make, message) => {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(XenPropError);
    expect((error as Error).message).toMatch(message);
  });

  function validate(app: App): string[] {
    return app.node.findAll().flatMap((c) => c.node.validate());
  }

  it("duplicate MAC, address, guest name and vifname across the app are reported at synth", () => {
    const app = Testing.app();
    const s1 = new TerraformStack(app, "one");
    const s2 = new TerraformStack(app, "two");
    const a = newHost("a", "192.0.2.1/24", s1);
    const b = newHost("b", "198.51.100.1/24", s2);
    new RoutedDomU(a, "g", { disks: [], vifs: [{ mac: "00:16:3e:00:00:01", address: "192.0.2.10/24" }] });
    new RoutedDomU(a, "h", { name: "g", disks: [], vifs: [{ mac: "00:16:3e:00:00:02", address: "192.0.2.11/24", vifname: "g-0" }] });
    new RoutedDomU(b, "k", { disks: [], vifs: [{ mac: "00:16:3e:00:00:01", address: "192.0.2.10/24" }] });
    const errors = validate(app);
    expect(errors).toEqual(
      expect.arrayContaining([
        'one/a/h: name "g" is invalid: already used by one/a/g name; it must be unique on one/a',
        'one/a/h: vifs[0].vifname "g-0" is invalid: already used by one/a/g vifs[0].vifname; it must be unique on one/a',
        'two/b/k: vifs[0].address "192.0.2.10" is invalid: already used by one/a/g vifs[0].address; it must be unique in the app',
        'two/b/k: vifs[0].mac "00:16:3e:00:00:01" is invalid: already used by one/a/g vifs[0].mac; it must be unique in the app',
      ]),
    );
  });

  it("a guest may not take its dom0's uplink address", () => {
    const h = newHost();
    new RoutedDomU(h, "g", { disks: [], vifs: [{ mac: "00:16:3e:00:00:01", address: "192.0.2.1/24" }] });
    expect(validate(h.node.root as App)).toContain('s/dom0/g: vifs[0].address "192.0.2.1" is invalid: already used by s/dom0 uplink.address; it must be unique in the app');
  });

  it("a clean tree validates without errors", () => {
    expect(validate(seedStack().app)).toEqual([]);
  });
});

describe("legal but suspicious input gets a warning, not an error", () => {
  it("MAC outside Xen's range and not locally administered; open management access", () => {
    const h = newHost();
    const g = new RoutedDomU(h, "g", { disks: [], vifs: [{ mac: "00:11:22:33:44:55", address: "192.0.2.10/24" }] });
    const warnings = (c: { node: { metadata: { type: string; data: unknown }[] } }) =>
      c.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data));
    expect(warnings(g)).toEqual([expect.stringContaining("vifs[0].mac 00:11:22:33:44:55 is neither in Xen's range 00:16:3e nor locally administered")]);
    expect(warnings(h)).toEqual([expect.stringContaining("firewall.managementCidrs is not set")]);
    void Annotations;
  });
});
