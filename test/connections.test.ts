/**
 * The intent API: `connections.allowFrom(peer, port)` and its kin write what
 * the primitives (ForwardRule, managementCidrs, allowEgress) write, byte for
 * byte, refuse what a construct cannot do, and the brands hold across two
 * copies of the library.
 */
import { TerraformStack, Testing } from "cdktf";
import { ForwardRule, Peer, Port, RoutedDomU, WebVhost, XenHost, XenHostProps } from "../lib";

const MGMT = "203.0.113.0/24";

/** A dom0 with one two-address guest serving one site on its second address (HTTP and HTTPS). */
function build(opts: { firewall?: XenHostProps["firewall"]; allowEgress?: boolean } = {}) {
  const stack = new TerraformStack(Testing.app(), "s");
  const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, firewall: opts.firewall });
  const web = new RoutedDomU(dom0, "web", {
    disks: [],
    vifs: [
      { mac: "00:16:3e:00:00:10", address: "192.0.2.10/24" },
      { mac: "00:16:3e:00:00:11", address: "192.0.2.11/24" },
    ],
    allowEgress: opts.allowEgress,
  });
  const site = new WebVhost(web, "site", {
    address: "192.0.2.11",
    serverName: "site.example.org",
    documentRoot: "/var/www/site",
    tls: { certificateFile: "/etc/ssl/certs/site.pem", certificateKeyFile: "/etc/ssl/private/site.key" },
  });
  return { dom0, web, site };
}

/** Every file the dom0 receives, by path. */
const dom0Files = (dom0: XenHost) => Object.fromEntries(dom0._hostFiles().map((f) => [f.path, f.content]));
const warnings = (c: XenHost) => c.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data));

describe("connections: intent, written as the primitives write it", () => {
  it("guest.connections.allowFrom(peer, port) is a ForwardRule to every address of the guest", () => {
    const byIntent = build();
    byIntent.web.connections.allowFrom(Peer.ipv4("198.51.100.0/24"), Port.udp(53));
    byIntent.web.connections.allowFromAnyIpv4(Port.tcp(22));
    const byRule = build();
    new ForwardRule(byRule.dom0, "dns", { to: byRule.web, ports: [Port.udp(53)], from: ["198.51.100.0/24"] });
    new ForwardRule(byRule.dom0, "ssh", { to: byRule.web, ports: [22] });
    expect(dom0Files(byIntent.dom0)).toEqual(dom0Files(byRule.dom0));
    expect(dom0Files(byIntent.dom0)["/etc/iptables/rules.v4"]).toContain("-A FORWARD -s 198.51.100.0/24 -d 192.0.2.10/32 -o web-0 -p udp -m udp --dport 53 -j ACCEPT\n");
  });

  it("site.connections.allowDefaultPortFromAnyIpv4() is a ForwardRule to the vhost: its address, its HTTP and HTTPS ports", () => {
    const byIntent = build();
    byIntent.site.connections.allowDefaultPortFromAnyIpv4();
    const byRule = build();
    new ForwardRule(byRule.dom0, "site", { to: byRule.site });
    expect(dom0Files(byIntent.dom0)).toEqual(dom0Files(byRule.dom0));
    expect(dom0Files(byIntent.dom0)["/etc/iptables/rules.v4"]).toContain("-A FORWARD -d 192.0.2.11/32 -o web-1 -p tcp -m multiport --dports 80,443 -j ACCEPT\n");
    // One port it serves, from one network.
    const one = build();
    one.site.connections.allowFrom(Peer.ipv4(MGMT), Port.tcp(443));
    expect(dom0Files(one.dom0)["/etc/iptables/rules.v4"]).toContain(`-A FORWARD -s ${MGMT} -d 192.0.2.11/32 -o web-1 -p tcp -m tcp --dport 443 -j ACCEPT\n`);
  });

  it("the same call twice is one rule", () => {
    const once = build();
    once.site.connections.allowDefaultPortFromAnyIpv4();
    const twice = build();
    twice.site.connections.allowDefaultPortFromAnyIpv4();
    twice.site.connections.allowDefaultPortFromAnyIpv4();
    expect(twice.dom0.forwardRules.length).toBe(1);
    expect(dom0Files(twice.dom0)).toEqual(dom0Files(once.dom0));
  });

  it("dom0.connections.allowFrom(mgmt, Port.tcp(22)) is firewall.managementCidrs, and silences the open-sshd warning", () => {
    const byIntent = build();
    byIntent.dom0.connections.allowFrom(Peer.ipv4(MGMT), Port.tcp(22));
    const byProp = build({ firewall: { managementCidrs: [MGMT] } });
    expect(dom0Files(byIntent.dom0)).toEqual(dom0Files(byProp.dom0));
    expect(dom0Files(byIntent.dom0)["/etc/iptables/rules.v4"]).toContain(`-A INPUT -s ${MGMT} -p tcp -m tcp --dport 22 -j ACCEPT\n`);
    byIntent.dom0.node.validate();
    expect(warnings(byIntent.dom0).filter((w) => w.includes("managementCidrs"))).toEqual([]);
    // Added to the prop's networks; the default port is sshd's.
    const both = build({ firewall: { managementCidrs: [MGMT] } });
    both.dom0.connections.allowDefaultPortFrom(Peer.ipv4("198.51.100.7/32"));
    expect(both.dom0._firewallModel().managementCidrs).toEqual([MGMT, "198.51.100.7/32"]);
  });

  it("guest.connections.allowToAnyIpv4() is allowEgress", () => {
    const byIntent = build();
    byIntent.web.connections.allowToAnyIpv4();
    expect(dom0Files(byIntent.dom0)).toEqual(dom0Files(build({ allowEgress: true }).dom0));
    expect(dom0Files(byIntent.dom0)).not.toEqual(dom0Files(build().dom0));
  });

  it("what a construct cannot do is refused, naming the construct, the call, the value and what is allowed", () => {
    const { dom0, web, site } = build();
    expect(() => site.connections.allowFrom(Peer.anyIpv4(), Port.tcp(8080))).toThrow(
      's/dom0/web/site: connections.allowFrom "tcp/8080" is invalid: the site answers on tcp/80, tcp/443 only; open another port through its guest\'s connections',
    );
    expect(() => dom0.connections.allowFrom(Peer.anyIpv4(), Port.tcp(80))).toThrow('s/dom0: connections.allowFrom "tcp/80" is invalid: the dom0 opens only its sshd to networks: expected Port.tcp(22) (ssh.port)');
    expect(() => web.connections.allowDefaultPortFromAnyIpv4()).toThrow(
      's/dom0/web: connections.allowDefaultPortFrom "s/dom0/web" is invalid: a guest has no default port: name the port (connections.allowFrom(peer, Port.tcp(443))), or use the connections of one of its WebVhosts',
    );
    expect(() => site.connections.allowToAnyIpv4()).toThrow('s/dom0/web/site: connections.allowToAnyIpv4 "s/dom0/web/site" is invalid: a site opens no connections');
    expect(() => dom0.connections.allowToAnyIpv4()).toThrow("s/dom0: connections.allowToAnyIpv4 \"s/dom0\" is invalid: the dom0's own connections are open already");
    expect(() => web.connections.allowFrom(Peer.ipv4("203.0.113.300/24"), Port.tcp(22))).toThrow(/^s\/dom0\/web: connections\.allowFrom\(peer\) "203\.0\.113\.300\/24" is invalid/);
    expect(() => web.connections.allowFrom("0.0.0.0/0" as unknown as Peer, Port.tcp(22))).toThrow('s/dom0/web: connections.allowFrom(peer) "0.0.0.0/0" is invalid: expected a Peer: Peer.ipv4("203.0.113.0/24") or Peer.anyIpv4()');
    expect(() => web.connections.allowFrom(Peer.anyIpv4(), 22 as unknown as Port)).toThrow("s/dom0/web: connections.allowFrom(port) 22 is invalid: expected a Port");
    // Nothing was added by the refused calls.
    expect(dom0.forwardRules).toEqual([]);
  });
});

describe("one port value everywhere: source ports are Ports too", () => {
  it("a number is a source port of every protocol of the rule; a Port one of its own protocol", () => {
    const { dom0, web } = build();
    new ForwardRule(dom0, "dns", { to: web, ports: [Port.udp(53), 53], sourcePorts: [Port.udpRange(1024, 65535), 5353] });
    const accepts = dom0._firewallModel().accepts.filter((a) => a.address === "192.0.2.10");
    expect(accepts.map((a) => [a.protocol, a.sourcePorts])).toEqual([
      ["tcp", [{ from: 5353, to: 5353 }]],
      ["udp", [{ from: 1024, to: 65535 }]],
    ]);
  });

  it("a protocol of ports with no source port of its own is refused", () => {
    const { dom0, web } = build();
    expect(() => new ForwardRule(dom0, "dns", { to: web, ports: [Port.udp(53), 22], sourcePorts: [Port.udpRange(1024, 65535)] })).toThrow(
      "s/dom0/dns: sourcePorts [{\"protocol\":\"udp\",\"from\":1024,\"to\":65535}] is invalid: names no tcp port, but ports has tcp ports; add a source port for them (a number, or Port.tcp(...)), or give tcp a rule of its own",
    );
    expect(() => new ForwardRule(dom0, "odd", { to: web, ports: [22], sourcePorts: [{ from: 1, to: 2 } as unknown as Port] })).toThrow(
      's/dom0/odd: sourcePorts[0] {"from":1,"to":2} is invalid: expected a port number or a Port',
    );
  });
});

describe("brands: isX() holds across two copies of the library, where instanceof does not", () => {
  it("a XenHost, RoutedDomU, WebVhost, ForwardRule, Port and Peer of another copy are recognised, and work together", () => {
    let other: typeof import("../lib") | undefined;
    jest.isolateModules(() => {
      other = require("../lib");
    });
    const { dom0, web, site } = build();
    const rule = new other!.ForwardRule(dom0, "http", { to: web, ports: [other!.Port.tcp(80)] });
    expect(rule instanceof ForwardRule).toBe(false);
    expect([XenHost.isXenHost(dom0), RoutedDomU.isRoutedDomU(web), WebVhost.isWebVhost(site), ForwardRule.isForwardRule(rule)]).toEqual([true, true, true, true]);
    expect([other!.XenHost.isXenHost(dom0), other!.Port.isPort(Port.tcp(1)), other!.Peer.isPeer(Peer.anyIpv4())]).toEqual([true, true, true]);
    expect([XenHost.isXenHost(web), RoutedDomU.isRoutedDomU(site), WebVhost.isWebVhost({}), ForwardRule.isForwardRule(null), Port.isPort({ protocol: "tcp", from: 1, to: 1 })]).toEqual([false, false, false, false, false]);
    // The other copy's rule lands in this copy's dom0 ruleset.
    expect(dom0.forwardRules).toEqual([rule]);
    expect(dom0Files(dom0)["/etc/iptables/rules.v4"]).toContain("-A FORWARD -d 192.0.2.10/32 -o web-0 -p tcp -m tcp --dport 80 -j ACCEPT\n");
  });
});
