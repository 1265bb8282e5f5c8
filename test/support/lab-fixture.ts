/** A small scenario on documentation addresses (RFC 5737), for tests that run real hosts. */
import { App, TerraformStack, Testing } from "cdktf";
import { ForwardRule, RoutedDomU, WebVhost, WebVhostTls, XenHost, XenHostFirewall } from "../../lib";
import type { StepModel } from "../../lib/deploy/step";

/** `tls`: TLS of the sites that have it, by site name. */
export function labStack(opts: { firewall?: XenHostFirewall; sites?: string[]; tls?: Record<string, WebVhostTls>; extraRule?: boolean; app?: App } = {}) {
  const stack = new TerraformStack(opts.app ?? Testing.app(), "lab");
  const dom0 = new XenHost(stack, "dom0", {
    ssh: { host: "198.51.100.2" },
    uplink: { device: "eth0", address: "192.0.2.1/24" },
    firewall: { managementCidrs: ["198.51.100.0/30"], ...opts.firewall },
  });
  const web = new RoutedDomU(dom0, "web", {
    disks: ["phy:/dev/vg0/web,xvda,w"],
    vifs: [0, 1, 2].map((i) => ({ mac: `00:16:3e:00:00:1${i}`, address: `192.0.2.1${i}/24` })),
  });
  const sites = opts.sites ?? ["site-a", "site-b"];
  const vhosts = sites.map(
    (name, i) =>
      new WebVhost(web, name, { address: `192.0.2.1${i}`, serverName: `${name}.example.org`, documentRoot: `/var/www/${name}`, tls: opts.tls?.[name] }),
  );
  new ForwardRule(dom0, "http", { to: web, ports: [80] });
  if (opts.extraRule) new ForwardRule(dom0, "dns", { to: "192.0.2.12", ports: [53] });
  return { stack, dom0, web, vhosts };
}

/** The step of `concern` among a host's deploy steps. */
export function stepOf(host: { _deploySteps(): StepModel[] }, concern: string): StepModel {
  const s = host._deploySteps().find((x) => x.concern === concern);
  if (!s) throw new Error(`no step ${concern}: ${host._deploySteps().map((x) => x.concern).join(", ")}`);
  return s;
}
