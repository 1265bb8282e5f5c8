import * as fs from "fs";
import * as path from "path";
import { Annotations, App, TerraformStack, Testing } from "cdktf";
import { ForwardRule, Port, RoutedDomU, WebVhost, XenHost } from "../lib";
import { WebservStack } from "../examples/webserv/main";
import { seedStack } from "./support/seed";
import { listFiles, tempDir } from "./support/tools";

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
      "dom0/etc/iptables/rules.v6",
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
      for (const f of host._hostFiles()) {
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
      return dom0._firewallModel().accepts;
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

describe("the iptables backend switches to ipsets at firewall.ipsetFrom guest addresses", () => {
  const hostWith = (addresses: number, firewall: { ipsetFrom?: number; backend?: "iptables" | "nftables" } = {}) => {
    const dom0 = new XenHost(new TerraformStack(Testing.app(), "s"), "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "10.9.0.1/16" }, firewall });
    const g = new RoutedDomU(dom0, "g", {
      disks: [],
      vifs: Array.from({ length: addresses }, (_, i) => ({ mac: `00:16:3e:00:02:${i.toString(16).padStart(2, "0")}`, address: `10.9.2.${i + 1}/16` })),
    });
    new ForwardRule(dom0, "web", { to: g, ports: [80] });
    return dom0;
  };
  const firewallFiles = (dom0: XenHost) => dom0._hostFiles().map((f) => f.path).filter((p) => /iptables|firewall/.test(p));
  const forwardAccepts = (dom0: XenHost) => dom0._hostFiles().find((f) => f.path === "/etc/iptables/rules.v4")!.content.split("\n").filter((l) => l.startsWith("-A FORWARD") && l.endsWith("-j ACCEPT") && !l.includes("conntrack"));

  it("63 addresses: one rule per address, no ipsets file", () => {
    const dom0 = hostWith(63);
    expect(dom0._usesIpsets()).toBe(false);
    expect(firewallFiles(dom0)).toEqual(["/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/usr/local/sbin/cdktf-xen-firewall"]);
    expect(forwardAccepts(dom0)).toHaveLength(63);
  });

  it("64 addresses: one rule matching through one set; the sets file comes first, the script loads it", () => {
    const dom0 = hostWith(64);
    expect(dom0._usesIpsets()).toBe(true);
    expect(firewallFiles(dom0)).toEqual(["/etc/iptables/ipsets", "/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/usr/local/sbin/cdktf-xen-firewall"]);
    expect(forwardAccepts(dom0)).toEqual([expect.stringMatching(/^-A FORWARD -p tcp -m set --match-set cdktf-xen-[0-9a-f]{16} dst,dst -m tcp --dport 80 -j ACCEPT$/)]);
    const sets = dom0._hostFiles().find((f) => f.path === "/etc/iptables/ipsets")!.content;
    expect(sets.split("\n").filter((l) => l.startsWith("add "))).toHaveLength(64);
    expect(dom0._hostFiles().find((f) => f.path === "/usr/local/sbin/cdktf-xen-firewall")!.content).toContain("\nsets='/etc/iptables/ipsets'\n");
  });

  it("ipsetFrom 0 uses sets for one address; nftables never writes ipsets", () => {
    expect(firewallFiles(hostWith(1, { ipsetFrom: 0 }))).toContain("/etc/iptables/ipsets");
    expect(hostWith(64, { backend: "nftables" })._usesIpsets()).toBe(false);
    expect(firewallFiles(hostWith(64, { backend: "nftables" }))).toEqual(["/etc/cdktf-xen/firewall.nft", "/usr/local/sbin/cdktf-xen-firewall"]);
  });
});

describe("legal but suspicious input gets a warning, not an error", () => {
  it("MAC outside Xen's range and not locally administered; an unpinned host key and open management access", () => {
    const h = newHost();
    const g = new RoutedDomU(h, "g", { disks: [], vifs: [{ mac: "00:11:22:33:44:55", address: "192.0.2.10/24" }] });
    const warnings = (c: { node: { metadata: { type: string; data: unknown }[] } }) =>
      c.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data));
    expect(warnings(g)).toEqual([expect.stringContaining("vifs[0].mac 00:11:22:33:44:55 is neither in Xen's range 00:16:3e nor locally administered")]);
    h.node.validate();
    expect(warnings(h)).toEqual([expect.stringContaining("ssh.hostKey is not set"), expect.stringContaining("firewall.managementCidrs is not set")]);
    void Annotations;
  });
});

describe("disk specs: the forms the README documents", () => {
  it("block devices in the positional and keyword forms; images only under the dom0's diskImageDirectories", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, diskImageDirectories: ["/var/lib/xen/images"] });
    const disks = ["phy:/dev/vg0/w,xvda,w", "/dev/vg0/d,raw,xvdb,rw", "format=qcow2, vdev=xvdc, access=r, target=/var/lib/xen/images/w.qcow2", "file:/var/lib/xen/images/cd.iso,hdc,r"];
    const g = new RoutedDomU(dom0, "g", { disks, vifs: [{ mac: "00:16:3e:00:00:01", address: "192.0.2.10/24" }] });
    expect(g._guestModel().disks).toEqual(disks);
    expect(() => new RoutedDomU(newHost("other", "192.0.2.1/24"), "g", { disks: ["file:/var/lib/xen/images/w.img,xvda,w"], vifs: [{ mac: "00:16:3e:00:00:02", address: "192.0.2.11/24" }] })).toThrow(
      'other/g: disks[0] "file:/var/lib/xen/images/w.img,xvda,w" is invalid: target /var/lib/xen/images/w.img is outside /dev/: a guest may be handed only block devices, or images under a directory of XenHost diskImageDirectories',
    );
  });
});

describe("several addresses on one vif", () => {
  /** One vif with three addresses: no policy routing (one vif), a site on the third address, its ports forwarded. */
  function oneVif(app = Testing.app()) {
    const stack = new TerraformStack(app, "s");
    const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, firewall: { managementCidrs: ["198.51.100.0/24"] } });
    const guest = new RoutedDomU(dom0, "multi", { disks: [], vifs: [{ mac: "00:16:3e:00:00:10", address: "192.0.2.10/24", additionalAddresses: ["192.0.2.11/24", "192.0.2.12/24"] }] });
    const site = new WebVhost(guest, "c", { address: "192.0.2.12", serverName: "c.example.org", documentRoot: "/var/www/c" });
    site.connections.allowDefaultPortFromAnyIpv4();
    new ForwardRule(dom0, "dns", { to: guest, ports: [Port.udp(53)] });
    return { app, dom0, guest, site };
  }
  const file = (host: XenHost | RoutedDomU, p: string) => host._hostFiles().find((f) => f.path === p)!.content;

  it("xl lists every address in ip=, the guest holds them all on one interface, and no policy routing is written", () => {
    const { dom0, guest } = oneVif();
    expect(guest.addresses).toEqual(["192.0.2.10", "192.0.2.11", "192.0.2.12"]);
    expect(guest._guestModel().policyRouting).toBe(false);
    expect(file(dom0, "/etc/xen/multi.cfg")).toContain("'mac=00:16:3e:00:00:10,ip=192.0.2.10 192.0.2.11 192.0.2.12,script=vif-route,gatewaydev=eth0,vifname=multi-0'");
    expect(file(guest, "/etc/network/interfaces")).toBe(
      "# Generated by cdktf-xen. Changes made here are overwritten by the next deploy.\nauto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address 192.0.2.10/24\n    gateway 192.0.2.1\n\niface eth0 inet static\n    address 192.0.2.11/24\n\niface eth0 inet static\n    address 192.0.2.12/24\n",
    );
    expect(guest._hostFiles().map((f) => f.path)).not.toContain("/etc/iproute2/rt_tables.d/cdktf-xen.conf");
  });

  it("the firewall binds every address to the one vif; the proof at synth passes on every address", () => {
    const { app, dom0 } = oneVif(new App({ outdir: tempDir().dir }));
    const rules = file(dom0, "/etc/iptables/rules.v4");
    expect(rules).toContain("-A FORWARD -d 192.0.2.12/32 -o multi-0 -p tcp -m tcp --dport 80 -j ACCEPT");
    for (const a of ["192.0.2.10", "192.0.2.11", "192.0.2.12"]) expect(rules).toContain(`-A FORWARD -d ${a}/32 -o multi-0 -p udp -m udp --dport 53 -j ACCEPT`);
    expect(() => app.synth()).not.toThrow();
  });

  it("an address is one vif's, once", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" } });
    expect(() => new RoutedDomU(dom0, "twice", { disks: [], vifs: [{ mac: "00:16:3e:00:00:10", address: "192.0.2.10/24" }, { mac: "00:16:3e:00:00:11", address: "192.0.2.20/24", additionalAddresses: ["192.0.2.10/24"] }] })).toThrow(
      's/dom0/twice: vifs "192.0.2.10" is invalid: each address belongs to one vif, once; this one appears twice',
    );
  });
});
