/** The seed scenario as a construct tree, for tests. */
import { App, TerraformStack, Testing } from "cdktf";
import { ForwardRule, RoutedDomU, WebVhost, XenHost } from "../../lib";

export function seedStack(app: App = Testing.app()) {
  const stack = new TerraformStack(app, "webserv");
  const dom0 = new XenHost(stack, "dom0", {
    ssh: { host: "203.0.113.10" },
    uplink: { device: "eth0", address: "192.168.0.1/24" },
    firewall: { managementCidrs: ["203.0.113.0/24"] },
  });
  const webserv = new RoutedDomU(dom0, "webserv", {
    memory: 512,
    disks: ["phy:/dev/vg0/webserv-disk,xvda,w"],
    vifs: [
      { mac: "de:ad:be:ef:00:00", address: "192.168.0.200/24" },
      { mac: "de:ad:be:ef:00:01", address: "192.168.0.201/24" },
      { mac: "de:ad:be:ef:00:02", address: "192.168.0.202/24" },
    ],
  });
  const vhosts = ["a", "b", "c"].map(
    (s, i) =>
      new WebVhost(webserv, `site-${s}`, {
        address: `192.168.0.20${i}`,
        serverName: `${s}.example.org`,
        serverAliases: [`www.${s}.example.org`],
        documentRoot: `/var/www/site-${s}`,
      }),
  );
  const web = new ForwardRule(dom0, "web", { to: webserv, ports: [80, 443] });
  return { app, stack, dom0, webserv, vhosts, web };
}
