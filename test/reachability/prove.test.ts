/**
 * The proof at synth, and the testing kit users import: what a real synth
 * refuses, and what the matchers print.
 */
import { App, TerraformStack, Testing } from "cdktf";
import { ForwardRule, Port, RoutedDomU, WebVhost, XenHost } from "../../lib";
import { obligations, PROVE_CONTEXT_KEY, SeenFlows } from "../../lib/private/prove";
import { setupJest, Stage, XenTemplate } from "../../lib/testing";
import { seedStack } from "../support/seed";

setupJest();

/** The seed without policy routing, optionally with a loose reverse-path filter. */
function optOut(reversePathFilter?: "strict" | "loose", app: App = Testing.app()) {
  const s = seedStack(app);
  const guest = new RoutedDomU(s.dom0, "other", {
    disks: [],
    vifs: [
      { mac: "00:16:3e:00:00:10", address: "192.168.0.210/24" },
      { mac: "00:16:3e:00:00:11", address: "192.168.0.211/24" },
    ],
    policyRouting: false,
    reversePathFilter,
  });
  new ForwardRule(s.dom0, "other-web", { to: guest, ports: [80] });
  return { ...s, guest };
}

function synthErrors(app: App): string {
  try {
    app.synth();
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

describe("the proof at synth", () => {
  it("a multi-vif guest without policy routing fails synth: its construct path and the first failing hop", () => {
    const message = synthErrors(optOut().app);
    expect(message).toContain(
      "webserv/dom0/other-web: tcp port 80 of 192.168.0.211 must answer, and its reply come back; the model of the files says: tcp 192.168.0.254 -> 192.168.0.211:80: reply dropped at dom0 (rp_filter): reply from 192.168.0.211 leaves the guest by eth0 (main table, the first of 2 routes to 192.168.0.0/24: 192.168.0.0/24 dev eth0 src 192.168.0.210 (interfaces line 7, the prefix route of eth0)); reaches the dom0 on other-0; in on other-0, strict rp_filter drops it: 192.168.0.211 is routed via other-1",
    );
    // The first address answers: only .211 is named.
    expect(message).not.toContain("port 80 of 192.168.0.210");
  });

  it("the same guest with reversePathFilter loose passes, and the model says why", () => {
    const s = optOut("loose");
    expect(synthErrors(s.app)).toBe("");
    expect(s.guest._hostFiles().find((f) => f.path === "/etc/sysctl.d/60-cdktf-xen.conf")?.content).toContain("net.ipv4.conf.all.rp_filter = 2\n");
    expect(s.dom0._hostFiles().find((f) => f.path === "/etc/xen/scripts/vif-post.d/cdktf-xen.hook")?.content).toContain("\nCDKTF_XEN_LOOSE_VIFS='other-0 other-1'\n");
    const v = XenTemplate.fromStack(s.stack).flow({ from: "203.0.113.9", to: "192.168.0.211", port: 80 });
    expect(v.ok).toBe(true);
    expect(v.hops.filter((h) => h.stage === "rp_filter").map((h) => h.text)[2]).toBe(
      "reaches the dom0 on other-0; in on other-0, loose rp_filter lets it pass: 192.168.0.211 is routed via other-1 (main table: 192.168.0.211 dev other-1 src 192.168.0.1 (vif-route, other.cfg vif 1))",
    );
  });

  it("a vhost no ForwardRule opens fails synth, saying so", () => {
    const s = seedStack();
    new WebVhost(s.webserv, "site-d", { address: "192.168.0.200", ports: [8080], serverName: "d.example.org", documentRoot: "/var/www/d" });
    expect(synthErrors(s.app)).toContain(
      "webserv/dom0/webserv/site-d: vhost site-d on 192.168.0.200:8080 (no ForwardRule opens it) must answer, and its reply come back; the model of the files says: tcp 192.168.0.254 -> 192.168.0.200:8080: request dropped at dom0 (firewall): FORWARD eth0 -> webserv-0, new connection: rules.v4: no rule of FORWARD matches, policy DROP",
    );
  });

  it("asks every vhost socket and forwarded port from the rule's own sources, and one closed port per guest", () => {
    const s = seedStack();
    new ForwardRule(s.dom0, "dns", { to: "192.168.0.201", ports: [Port.udp(53), 22], from: ["198.51.100.0/24"], sourcePorts: [5353] });
    const asked = obligations(s.dom0).map((o) => `${o.path} ${o.expect} ${o.question.protocol ?? "tcp"} ${o.question.from} -> ${o.question.to}:${o.question.port}${o.question.sourcePort ? ` from port ${o.question.sourcePort}` : ""}${o.question.apache ? " apache" : ""}`);
    expect(asked.filter((a) => a.includes("dns") || a.includes("closed"))).toEqual([
      "webserv/dom0/dns open tcp 198.51.100.1 -> 192.168.0.201:22 from port 5353",
      "webserv/dom0/dns open udp 198.51.100.1 -> 192.168.0.201:53 from port 5353",
      "webserv/dom0/webserv closed tcp 192.168.0.254 -> 192.168.0.200:22",
      "webserv/dom0/webserv closed tcp 203.0.113.77 -> 192.168.0.200:22",
    ]);
    expect(asked.filter((a) => a.startsWith("webserv/dom0/webserv/site-b"))).toEqual([
      "webserv/dom0/webserv/site-b open tcp 192.168.0.254 -> 192.168.0.201:80 apache",
      "webserv/dom0/webserv/site-b open tcp 203.0.113.77 -> 192.168.0.201:80 apache",
    ]);
    expect(synthErrors(s.app)).toBe("");
  });

  it("a verdict worked out once answers only the same flow: addresses, protocol, ports and Apache's part each tell flows apart", () => {
    const seen = new SeenFlows();
    const asked = { from: "198.51.100.7", to: "192.168.0.200", port: 80 };
    seen.set(asked, true, { ok: true, forward: "delivered" });
    expect(seen.get({ ...asked }, true)).toEqual({ ok: true, forward: "delivered" });
    for (const other of [
      { ...asked, from: "198.51.100.8" },
      { ...asked, to: "192.168.0.201" },
      { ...asked, port: 443 },
      { ...asked, protocol: "udp" as const },
      { ...asked, sourcePort: 40000 },
      { ...asked, port: 81, sourcePort: 65535 },
    ]) {
      expect(seen.get(other, true)).toBeUndefined();
    }
    expect(seen.get(asked, false)).toBeUndefined();
  });

  it("runs wherever cdktf runs validations: app.synth(), Testing.fullSynth and Testing.synth(stack, true); Testing.synth(stack) skips them, as cdktf does", () => {
    const failure = "webserv/dom0/other-web: tcp port 80 of 192.168.0.211 must answer, and its reply come back";
    expect(synthErrors(optOut().app)).toContain(failure);
    expect(() => Testing.fullSynth(optOut().stack)).toThrow(failure);
    expect(() => Testing.synth(optOut().stack, true)).toThrow(failure);
    expect(Object.keys(JSON.parse(Testing.synth(optOut().stack)).resource)).toEqual(["null_resource"]);
  });

  it("a rule or vhost whose source holds only the dom0's and guests' addresses is not proven, and synth warns on it: never a silent pass", () => {
    const s = seedStack();
    const g2g = new ForwardRule(s.dom0, "g2g", { to: "192.168.0.200", ports: [3306], from: ["192.168.0.201/32"] });
    const inner = new WebVhost(s.webserv, "inner", { address: "192.168.0.202", ports: [8080], serverName: "inner.example.org", documentRoot: "/var/www/inner" });
    new ForwardRule(s.dom0, "inner-web", { to: "192.168.0.202", ports: [8080], from: ["192.168.0.1/32"] });
    expect(obligations(s.dom0).filter((o) => o.path === g2g.node.path || o.path === inner.node.path)).toEqual([]);
    expect(synthErrors(s.app)).toBe("");
    const warnings = (c: { node: { metadata: { type: string; data: unknown }[] } }) => c.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => m.data);
    expect(warnings(g2g)).toEqual([
      "tcp port 3306 of 192.168.0.200 is not proven at synth: every address in 192.168.0.201/32 (among its first 256) is the dom0's or a guest's, and the model asks only from clients outside the dom0",
    ]);
    expect(warnings(inner)).toEqual([
      "vhost inner on 192.168.0.202:8080 is not proven at synth: every address in 192.168.0.1/32 (among its first 256) is the dom0's or a guest's, and the model asks only from clients outside the dom0",
    ]);
    const t = XenTemplate.fromStack(s.stack);
    expect(() => t.serve(inner)).toThrow(
      "webserv/dom0/webserv/inner: vhost inner on 192.168.0.202:8080 is not proven at synth: every address in 192.168.0.1/32 (among its first 256) is the dom0's or a guest's, and the model asks only from clients outside the dom0; pass { from } to ask from a client of your own",
    );
    expect(t.serve(inner, { from: "203.0.113.9" }).map((v) => v.failure?.stage)).toEqual(["firewall"]);
  });

  it(`the context key ${PROVE_CONTEXT_KEY} false skips the proof, with a warning`, () => {
    const s = optOut(undefined, Testing.app({ context: { [PROVE_CONTEXT_KEY]: false } }));
    expect(synthErrors(s.app)).toBe("");
    expect(s.dom0.node.metadata.map((m) => m.data)).toContain(
      `the context key ${PROVE_CONTEXT_KEY} is false: nothing proves that this dom0's vhosts and forwarded ports answer, and that their replies come back`,
    );
  });
});

describe("the testing kit", () => {
  it("hostFile returns what a host receives, and names what it has when the path is not among them", () => {
    const s = seedStack();
    const t = XenTemplate.fromStack(s.stack);
    expect(t.hostFile(s.webserv, "/etc/iftab")).toBe(s.webserv._hostFiles().find((f) => f.path === "/etc/iftab")!.content);
    expect(() => t.hostFile(s.dom0, "/etc/nope")).toThrow("webserv/dom0 receives no /etc/nope; it receives /etc/sysctl.d/60-cdktf-xen.conf, /etc/xen/scripts/vif-post.d/cdktf-xen.hook, ");
  });

  it("a failing matcher prints the trace, hop by hop", () => {
    const s = optOut();
    const t = XenTemplate.fromStack(s.stack);
    expect(() => expect(t).toReach({ from: "203.0.113.9", to: "192.168.0.211", port: 80 })).toThrow(
      /expected the flow to get through and its reply to come back:\ntcp 203\.0\.113\.9 -> 192\.168\.0\.211:80: reply dropped at dom0 \(rp_filter\)[^\n]*\n {4}\[pass\] dom0 arp: [^\n]*\n(.*\n)* {4}\[drop\] dom0 rp_filter: reaches the dom0 on other-0; in on other-0, strict rp_filter drops it/,
    );
    expect(t).not.toReach({ from: "203.0.113.9", to: "192.168.0.211", port: 80 });
    expect(t).toBeDroppedAt({ from: "203.0.113.9", to: "192.168.0.211", port: 80 }, "rp_filter", "dom0");
    expect(() => expect(t).toBeDroppedAt({ from: "203.0.113.9", to: "192.168.0.211", port: 80 }, "firewall")).toThrow("expected the flow to be dropped at firewall:");
    expect(() => expect(t).toServe(s.vhosts[0], { from: "203.0.113.9" })).not.toThrow();
    expect(() => expect(t).not.toServe(s.vhosts[0])).toThrow("expected webserv/dom0/webserv/site-a not to be served, but every socket answers:");
  });

  it("toServe asks from the clients the proof asks from: never a guest's address, in the source a rule opens the vhost to", () => {
    // The uplink's subnet holds the guests' addresses and the first documentation address a far client would take.
    const s = seedStack(Testing.app(), "203.0.113");
    const g = new RoutedDomU(s.dom0, "g77", { disks: [], vifs: [{ mac: "de:ad:be:ef:01:00", address: "203.0.113.77/24" }] });
    const only = new WebVhost(g, "only", { address: "203.0.113.77", serverName: "only.example.org", documentRoot: "/var/www/only" });
    new ForwardRule(s.dom0, "only-web", { to: g, ports: [80], from: ["198.51.100.0/24"] });
    const t = XenTemplate.fromStack(s.stack);
    const asked = (vhost: WebVhost) => t.serve(vhost).map((v) => v.summary.slice(0, v.summary.indexOf(":", v.summary.indexOf(":") + 1)));
    expect(asked(s.vhosts[0])).toEqual(["tcp 203.0.113.254 -> 203.0.113.200:80", "tcp 192.0.2.177 -> 203.0.113.200:80"]);
    expect(asked(only)).toEqual(["tcp 198.51.100.1 -> 203.0.113.77:80"]);
    for (const vhost of [...s.vhosts, only]) {
      expect(t).toServe(vhost);
      // The same questions as the proof at synth.
      expect(t.serve(vhost).map((v) => v.summary)).toEqual(
        obligations(s.dom0)
          .filter((o) => o.path === vhost.node.path)
          .map((o) => t.flow(o.question).summary),
      );
    }
    expect(() => expect(t).toServe(only, { from: "192.0.2.177" })).toThrow(/expected webserv\/dom0\/g77\/only to be served, and its replies to come back:\ntcp 192\.0\.2\.177 -> 203\.0\.113\.77:80: request dropped at dom0 \(firewall\)/);
    expect(synthErrors(s.app)).toBe("");
  });

  it("answers about the stack as it is when asked: a construct added after a question is in the next answer", () => {
    const s = seedStack();
    const t = XenTemplate.fromStack(s.stack);
    const alt = { from: "203.0.113.9", to: "192.168.0.200", port: 8080, apache: true };
    expect(t).toBeDroppedAt(alt, "firewall", "dom0");
    const model = t.model(s.dom0);
    expect(t.model(s.dom0)).toBe(model);
    const d = new WebVhost(s.webserv, "site-d", { address: "192.168.0.200", ports: [8080], serverName: "d.example.org", documentRoot: "/var/www/d" });
    new ForwardRule(s.dom0, "alt", { to: "192.168.0.200", ports: [8080] });
    expect(t.hostFile(s.dom0, "/etc/iptables/rules.v4")).toContain("--dports 80,443,8080 -j ACCEPT");
    expect(t).toReach(alt);
    expect(t).toServe(d);
    expect(t.model(s.dom0)).not.toBe(model);
    // A dom0 added later is among the template's too.
    const t2 = XenTemplate.fromStack(s.stack);
    const dom1 = new XenHost(s.stack, "dom1", { ssh: { host: "203.0.113.11" }, uplink: { device: "eth0", address: "198.51.100.1/24" } });
    const g = new RoutedDomU(dom1, "g", { disks: [], vifs: [{ mac: "de:ad:be:ef:02:00", address: "198.51.100.20/24" }] });
    new ForwardRule(dom1, "g-web", { to: g, ports: [80] });
    expect(t2.dom0s.map((d) => d.node.path)).toEqual(["webserv/dom0", "webserv/dom1"]);
    expect(t2).toReach({ from: "203.0.113.9", to: "198.51.100.20", port: 80 });
  });

  it("toBeDroppedAt refuses a stage or host the trace never names, rather than let .not pass whatever happens", () => {
    const s = seedStack();
    const t = XenTemplate.fromStack(s.stack);
    const ssh = { from: "203.0.113.9", to: "192.168.0.200", port: 22 };
    const tls = { from: "203.0.113.9", to: "192.168.0.200", port: 443, apache: true };
    expect(t).toBeDroppedAt(ssh, "firewall", "dom0");
    expect(t).toBeDroppedAt(tls, "listen", "webserv");
    expect(t).not.toBeDroppedAt(tls, "listen", "dom0");
    expect(() => expect(t).not.toBeDroppedAt(ssh, "rpfilter" as Stage)).toThrow('toBeDroppedAt: stage "rpfilter": expected one of arp, rp_filter, route, firewall, forwarding, deliver, listen');
    expect(() => expect(t).not.toBeDroppedAt(ssh, "firewall", "dom-0")).toThrow('toBeDroppedAt: host "dom-0": expected the dom0 or a guest of webserv/dom0 as the trace names them: dom0, webserv');
  });

  it("toDom0 and toReachDom0: the dom0's own input path on both backends, on its ssh.port; a verdict the files leave unknown throws, rather than let either pass", () => {
    const s = seedStack();
    const t = XenTemplate.fromStack(s.stack);
    expect(t.toDom0(s.dom0, { from: "203.0.113.9", port: 22 })).toEqual({ outcome: "pass", text: expect.stringMatching(/^rules\.v4 line \d+ "-A INPUT -s 203\.0\.113\.0\/24 -p tcp -m tcp --dport 22 -j ACCEPT": ACCEPT$/) });
    expect(t).toReachDom0(s.dom0, { from: "203.0.113.9", port: 22 });
    expect(t).not.toReachDom0(s.dom0, { from: "198.51.100.9", port: 22 });
    expect(t).not.toReachDom0(s.dom0, { from: "203.0.113.9", port: 53, protocol: "udp" });
    expect(() => expect(t).toReachDom0(s.dom0, { from: "198.51.100.9", port: 22 })).toThrow(/^expected tcp 198\.51\.100\.9 -> webserv\/dom0:22 to get through the dom0's input firewall, but: rules\.v4: no rule of INPUT matches, policy DROP$/);

    const stack = new TerraformStack(Testing.app(), "nft");
    const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2", port: 2222 }, uplink: { address: "192.0.2.1/24" }, firewall: { managementCidrs: ["198.51.100.0/24"], backend: "nftables" } });
    const n = XenTemplate.fromStack(stack);
    expect(n).toReachDom0(dom0, { from: "198.51.100.9", port: 2222 });
    expect(n).not.toReachDom0(dom0, { from: "198.51.100.9", port: 22 });
    expect(n).not.toReachDom0(dom0, { from: "203.0.113.9", port: 2222 });

    expect(() => n.toDom0(dom0, { from: "198.51.100.9", port: 0 })).toThrow("toDom0 nft/dom0: port 0: expected an integer from 1 to 65535");
    expect(() => n.toDom0(dom0, { from: "198.51.100.9", port: 22, protocol: "icmp" as "tcp" })).toThrow('toDom0 nft/dom0: protocol "icmp": expected "tcp" or "udp"');
    const unknown = jest.spyOn(n, "toDom0").mockReturnValue({ outcome: "unknown", text: "a rule the model cannot read may match" });
    expect(() => expect(n).toReachDom0(dom0, { from: "198.51.100.9", port: 2222 })).toThrow("toReachDom0: tcp 198.51.100.9 -> nft/dom0:2222: the model cannot decide: a rule the model cannot read may match");
    expect(() => expect(n).not.toReachDom0(dom0, { from: "198.51.100.9", port: 2222 })).toThrow("the model cannot decide");
    unknown.mockRestore();
  });

  it("toServe wants Apache to listen: a vhost's TLS port that ports.conf does not name fails", () => {
    const s = seedStack();
    const v = XenTemplate.fromStack(s.stack).flow({ from: "203.0.113.9", to: "192.168.0.200", port: 443, apache: true });
    expect(v.summary).toBe("tcp 203.0.113.9 -> 192.168.0.200:443: request dropped at webserv (listen): Apache does not listen on 192.168.0.200:443 (no Listen in its configuration matches it)");
  });
});
