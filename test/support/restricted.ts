/** A stack whose forwarded ports are restricted by source network and source port, and hand-written forms of its firewall, for tests. */
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

/** Debian's sshd_config as openssh-server installs it (sshd on port 22), as the seed fixture's dom0 holds it. */
export const DEBIAN_SSHD_CONFIG = path.join(__dirname, "..", "fixtures", "seed-by-hand", "dom0", "etc", "ssh", "sshd_config");

/**
 * The restricted stack's preview in `dir`, its dom0's firewall then edited as
 * by hand (`edit` changes rules.v4 or firewall.nft, and may add to the ipsets
 * file), with the sshd_config a host copy holds (Debian's, `sshd` lines added
 * at its end); returns the folder doctor and import read.
 */
export function editedRestrictedCopy(dir: string, backend: FirewallBackend, edit: (firewall: CopyFile, ipsets: CopyFile) => void, sshd: readonly string[] = []): string {
  const app = new App({ outdir: dir });
  restrictedStack(app, backend);
  app.synth();
  const hosts = path.join(dir, "stacks", "restricted", "hosts");
  fs.mkdirSync(path.join(hosts, "dom0", "etc", "ssh"), { recursive: true });
  fs.writeFileSync(path.join(hosts, "dom0", "etc", "ssh", "sshd_config"), [fs.readFileSync(DEBIAN_SSHD_CONFIG, "utf8"), ...sshd.map((l) => `${l}\n`)].join(""));
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

/** `text` with the one occurrence of `from` replaced; throws when there is none or more than one (an edit meant for a forward rule must not reach the management rule). */
export function replaced(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`${JSON.stringify(from)} is not in the firewall exactly once`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** A hand-written form of a rendered firewall that names the network 203.0.113.0/24 otherwise in a forward rule. */
export interface HandEdit {
  readonly form: string;
  readonly backend: FirewallBackend;
  /** Changes rules.v4 or firewall.nft, and may add to the ipsets file. */
  readonly edit: (firewall: CopyFile, ipsets: CopyFile) => void;
  /** Networks the form names beside 203.0.113.0/24, with the same rule. */
  readonly alsoNamed: readonly string[];
  /** What the kernel's listing (iptables-save, nft list ruleset) shows of the form once loaded. */
  readonly listed: string;
  /** What removes from the kernel what the form added beside the firewall file (a set of its own). */
  readonly unload?: string;
}

/**
 * Hand-written forms of a rendered firewall (restrictedStack's, the lab's two-guest dom0's): doctor and
 * import must read them, and the lab loads them. An anonymous set of one element is a plain match to nft
 * (it lists `ip saddr 203.0.113.0/24`), so that one names a second network.
 */
export const HAND_EDITS: readonly HandEdit[] = [
  {
    form: "iptables: the network as the members of an ipset matched on src",
    backend: "iptables",
    edit: (f, sets) => {
      f.text = replaced(f.text, "-A FORWARD -s 203.0.113.0/24 ", "-A FORWARD -m set --match-set partners src ");
      sets.text += "create partners hash:net family inet\nadd partners 203.0.113.0/24\n";
    },
    alsoNamed: [],
    listed: "-m set --match-set partners src",
    unload: "ipset destroy partners",
  },
  {
    form: "iptables: the network as an address range (-m iprange)",
    backend: "iptables",
    edit: (f) => void (f.text = replaced(f.text, "-A FORWARD -s 203.0.113.0/24 ", "-A FORWARD -m iprange --src-range 203.0.113.0-203.0.113.255 ")),
    alsoNamed: [],
    listed: "-m iprange --src-range 203.0.113.0-203.0.113.255",
  },
  {
    form: "nftables: the network in an anonymous set",
    backend: "nftables",
    edit: (f) => void (f.text = replaced(f.text, "ip saddr 203.0.113.0/24 ip daddr", "ip saddr { 203.0.113.0/24, 198.51.100.64/26 } ip daddr")),
    alsoNamed: ["198.51.100.64/26"],
    listed: "ip saddr { 198.51.100.64/26, 203.0.113.0/24 }",
  },
  {
    form: "nftables: the network in a named set",
    backend: "nftables",
    edit: (f) => void (f.text = replaced(replaced(f.text, "ip saddr 203.0.113.0/24 ip daddr", "ip saddr @partners ip daddr"), "table inet cdktf_xen {\n", "table inet cdktf_xen {\n\tset partners {\n\t\ttype ipv4_addr; flags interval\n\t\telements = { 203.0.113.0/24 }\n\t}\n")),
    alsoNamed: [],
    listed: "ip saddr @partners",
  },
  {
    form: "nftables: the network as an address range",
    backend: "nftables",
    edit: (f) => void (f.text = replaced(f.text, "ip saddr 203.0.113.0/24 ip daddr", "ip saddr 203.0.113.0-203.0.113.255 ip daddr")),
    alsoNamed: [],
    listed: "ip saddr 203.0.113.0-203.0.113.255",
  },
];

/** A hand-written rule that opens every port of one guest address: no destination port, no protocol. */
export interface AllPortsEdit {
  readonly form: string;
  readonly backend: FirewallBackend;
  /** Adds the rule after the forward rules of rules.v4 or firewall.nft. */
  readonly edit: (firewall: CopyFile) => void;
  /** What the kernel's listing (iptables-save, nft list ruleset) shows of the rule once loaded. */
  readonly listed: string;
  /** Nothing to remove beside the firewall file. */
  readonly unload?: undefined;
}

/** The rule that opens every port of `address` on its vif `device`, written by hand on `backend`: import must carry over every port it opens, and the lab loads it. */
export function allPortsEdit(backend: FirewallBackend, address: string, device: string): AllPortsEdit {
  return backend === "nftables"
    ? {
        form: `nftables: every port of ${address} opened by a rule without a port`,
        backend,
        // The forward chain is the table's last: the rule goes at its end.
        edit: (f) => void (f.text = replaced(f.text, "\n\t}\n}", `\n\t\tip daddr ${address} oifname "${device}" accept\n\t}\n}`)),
        listed: `ip daddr ${address} oifname "${device}" accept`,
      }
    : {
        form: `iptables: every port of ${address} opened by a rule without a port`,
        backend,
        edit: (f) => void (f.text = replaced(f.text, "COMMIT", `-A FORWARD -d ${address}/32 -o ${device} -j ACCEPT\nCOMMIT`)),
        listed: `-A FORWARD -d ${address}/32 -o ${device} -j ACCEPT`,
      };
}
