/** The seed scenario as a construct tree, for tests; `net` is its /24 (the first three numbers). */
import { App, TerraformStack, Testing } from "cdktf";
import { ForwardRule, RoutedDomU, WebVhost, XenHost } from "../../lib";
import { ModelInput, Reachability } from "../../lib/reachability";

export function seedStack(app: App = Testing.app(), net = "192.168.0") {
  const stack = new TerraformStack(app, "webserv");
  const dom0 = new XenHost(stack, "dom0", {
    ssh: { host: "203.0.113.10" },
    uplink: { device: "eth0", address: `${net}.1/24` },
    firewall: { managementCidrs: ["203.0.113.0/24"] },
  });
  const webserv = new RoutedDomU(dom0, "webserv", {
    memory: 512,
    disks: ["phy:/dev/vg0/webserv-disk,xvda,w"],
    vifs: [
      { mac: "de:ad:be:ef:00:00", address: `${net}.200/24` },
      { mac: "de:ad:be:ef:00:01", address: `${net}.201/24` },
      { mac: "de:ad:be:ef:00:02", address: `${net}.202/24` },
    ],
  });
  const vhosts = ["a", "b", "c"].map(
    (s, i) =>
      new WebVhost(webserv, `site-${s}`, {
        address: `${net}.20${i}`,
        serverName: `${s}.example.org`,
        serverAliases: [`www.${s}.example.org`],
        documentRoot: `/var/www/site-${s}`,
      }),
  );
  const web = new ForwardRule(dom0, "web", { to: webserv, ports: [80, 443] });
  return { app, stack, dom0, webserv, vhosts, web };
}

/** Files by path, each replaced by the given text, or removed when given undefined. */
export type FileChanges = Record<string, string | undefined>;

/** The seed's files as its constructs render them, with `change` applied to the dom0's or the guest's. */
export function seedFiles(change: { dom0?: FileChanges; guest?: FileChanges } = {}, net = "192.168.0") {
  const { dom0, webserv } = seedStack(Testing.app(), net);
  const files = (list: { path: string; content: string }[], over: FileChanges = {}) => {
    const out: Record<string, string> = Object.fromEntries(list.map((f) => [f.path, f.content]));
    for (const [p, c] of Object.entries(over)) {
      if (c === undefined) delete out[p];
      else out[p] = c;
    }
    return out;
  };
  return { dom0: files(dom0._hostFiles(), change.dom0), guest: files(webserv._hostFiles(), change.guest), model: webserv._guestModel() };
}

/** The reachability model of the seed's files, with `change` applied; `more` adds to the model's input (baselines, running state). */
export function seedReachability(change: Parameters<typeof seedFiles>[0] = {}, net = "192.168.0", more: Omit<Partial<ModelInput>, "dom0" | "guests"> = {}): Reachability {
  const f = seedFiles(change, net);
  return Reachability.fromFiles({ dom0: { id: "dom0", uplink: { device: "eth0", address: `${net}.1/24` }, files: f.dom0 }, guests: { webserv: f.guest }, ...more });
}

/**
 * The seed's files edited by hand so that the guest's gateway, `${net}.210`,
 * is an address the dom0 routes back over the guest's first vif (its `ip=`
 * lists it, the guest does not hold it): the dom0 does not answer ARP for it
 * by proxy on that vif, and does on the others.
 */
export function gatewayBehindFirstVif(net = "192.168.0"): Parameters<typeof seedFiles>[0] {
  const f = seedFiles({}, net);
  return {
    dom0: { "/etc/xen/webserv.cfg": f.dom0["/etc/xen/webserv.cfg"].replace(`ip=${net}.200,`, `ip=${net}.200 ${net}.210,`) },
    guest: { "/etc/network/interfaces": f.guest["/etc/network/interfaces"].replaceAll(`via ${net}.1 `, `via ${net}.210 `).replace(`gateway ${net}.1\n`, `gateway ${net}.210\n`) },
  };
}
