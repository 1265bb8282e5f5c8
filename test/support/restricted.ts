/** A stack whose forwarded ports are restricted by source network and source port, for tests. */
import { App, TerraformStack, Testing } from "cdktf";
import { ForwardRule, Port, RoutedDomU, XenHost } from "../../lib";

/**
 * Ports open to a network that holds the usual client behind the router
 * (203.0.113.77), and only from some source ports: what doctor and import
 * must neither widen nor skip.
 */
export function restrictedStack(app: App = Testing.app()) {
  const stack = new TerraformStack(app, "restricted");
  const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, firewall: { managementCidrs: ["198.51.100.0/24"] } });
  const guest = new RoutedDomU(dom0, "g", { disks: ["phy:/dev/vg0/g,xvda,w"], vifs: [{ mac: "00:16:3e:00:00:30", address: "192.0.2.30/24" }, { mac: "00:16:3e:00:00:31", address: "192.0.2.31/24" }] });
  new ForwardRule(dom0, "admin", { to: "192.0.2.30", ports: [8443], from: ["203.0.113.0/24"], sourcePorts: [Port.tcpRange(1024, 65535)] });
  new ForwardRule(dom0, "dns", { to: guest, ports: [Port.udp(53)], sourcePorts: [Port.udp(53), Port.udpRange(1024, 65535)] });
  new ForwardRule(dom0, "web", { to: "192.0.2.31", ports: [80] });
  return { stack, dom0, guest };
}
