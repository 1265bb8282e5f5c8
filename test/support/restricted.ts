/** A stack whose forwarded ports are restricted by source network and source port, for tests. */
import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack, Testing } from "cdktf";
import { FirewallBackend, ForwardRule, Port, RoutedDomU, XenHost } from "../../lib";

/**
 * Ports open to a network that holds the usual client behind the router
 * (203.0.113.77), and only from some source ports: what doctor and import
 * must neither widen nor skip.
 */
export function restrictedStack(app: App = Testing.app(), backend: FirewallBackend = "iptables") {
  const stack = new TerraformStack(app, "restricted");
  const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, firewall: { managementCidrs: ["198.51.100.0/24"], backend } });
  const guest = new RoutedDomU(dom0, "g", { disks: ["phy:/dev/vg0/g,xvda,w"], vifs: [{ mac: "00:16:3e:00:00:30", address: "192.0.2.30/24" }, { mac: "00:16:3e:00:00:31", address: "192.0.2.31/24" }] });
  new ForwardRule(dom0, "admin", { to: "192.0.2.30", ports: [8443], from: ["203.0.113.0/24"], sourcePorts: [Port.tcpRange(1024, 65535)] });
  new ForwardRule(dom0, "dns", { to: guest, ports: [Port.udp(53)], sourcePorts: [Port.udp(53), Port.udpRange(1024, 65535)] });
  new ForwardRule(dom0, "web", { to: "192.0.2.31", ports: [80] });
  return { stack, dom0, guest };
}

/** A dom0 file of a copy: its path in the copy, and its text. */
export interface CopyFile {
  readonly path: string;
  text: string;
}

/**
 * The restricted stack's preview in `dir`, its dom0's firewall then edited as
 * by hand (`edit` changes rules.v4 or firewall.nft, and may add to the ipsets
 * file); returns the folder doctor and import read.
 */
export function editedRestrictedCopy(dir: string, backend: FirewallBackend, edit: (firewall: CopyFile, ipsets: CopyFile) => void): string {
  const app = new App({ outdir: dir });
  restrictedStack(app, backend);
  app.synth();
  const hosts = path.join(dir, "stacks", "restricted", "hosts");
  const file = (p: string): CopyFile => ({ path: path.join(hosts, "dom0", p), text: fs.existsSync(path.join(hosts, "dom0", p)) ? fs.readFileSync(path.join(hosts, "dom0", p), "utf8") : "" });
  const firewall = file(backend === "nftables" ? "etc/cdktf-xen/firewall.nft" : "etc/iptables/rules.v4");
  const ipsets = file("etc/iptables/ipsets");
  const before = firewall.text;
  edit(firewall, ipsets);
  if (firewall.text === before) throw new Error(`the edit left ${firewall.path} as it was`);
  fs.writeFileSync(firewall.path, firewall.text);
  if (ipsets.text) fs.writeFileSync(ipsets.path, ipsets.text);
  return hosts;
}

/** Hand-written forms of restrictedStack's firewall that name the network 203.0.113.0/24 otherwise. */
export const HAND_EDITS: [string, "iptables" | "nftables", (firewall: CopyFile, ipsets: CopyFile) => void][] = [
  [
    "iptables: the network as the members of an ipset matched on src",
    "iptables",
    (f, sets) => {
      f.text = f.text.replace("-s 203.0.113.0/24", "-m set --match-set partners src");
      sets.text += "create partners hash:net family inet\nadd partners 203.0.113.0/24\n";
    },
  ],
  ["nftables: the network in an anonymous set", "nftables", (f) => void (f.text = f.text.replace("ip saddr 203.0.113.0/24", "ip saddr { 203.0.113.0/24 }"))],
  [
    "nftables: the network in a named set",
    "nftables",
    (f) => void (f.text = f.text.replace("ip saddr 203.0.113.0/24", "ip saddr @partners").replace(/(table inet \S+ \{\n)/, "$1\tset partners {\n\t\ttype ipv4_addr; flags interval\n\t\telements = { 203.0.113.0/24 }\n\t}\n")),
  ],
];
