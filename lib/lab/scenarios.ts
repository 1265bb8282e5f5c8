/**
 * The lab's own scenarios, on documentation addresses (RFC 5737). The app
 * reads which scenario and variant to build from its context.
 */
import { App, TerraformStack } from "../private/cdk";
import { ForwardRule, Port, RoutedDomU, WebVhost, XenHost, XenHostFirewall } from "..";
import { PROVE_CONTEXT_KEY } from "../private/prove";
import { LAB_TLS_CERT, LAB_TLS_KEY, labPage } from "./lab";

/** The context key that picks the scenario of the lab's own app. */
export const SCENARIO_KEY = "cdktf-xen-lab:scenario";
/** The context key that picks the variant of that scenario. */
export const VARIANT_KEY = "cdktf-xen-lab:variant";
/** The lab's own scenarios: the seed article's dom0, and two guests with a DNS port. */
export const SCENARIOS = ["seed", "two-guests"] as const;
/** One of the lab's own scenarios. */
export type Scenario = (typeof SCENARIOS)[number];
/**
 * `changed`: one vhost gains a ServerAlias. `broken`: one vhost's certificate
 * file is missing on the guest (seed). `nftables`: the dom0's firewall on the
 * nftables backend (two-guests). `hand-made`: the seed's guest network as
 * written by hand, without policy routing, and the proof at synth off: only
 * the check after deploy stands between it and the black hole (seed).
 * `one-vif`: the seed's three addresses on one vif, without policy routing (seed).
 * `networkd`: the seed's guest on systemd-networkd; `netplan`: on netplan (seed).
 */
export type Variant = "base" | "changed" | "broken" | "nftables" | "hand-made" | "one-vif" | "networkd" | "netplan";

function dom0Of(stack: TerraformStack, firewall: XenHostFirewall = {}, sshPort?: number): XenHost {
  return new XenHost(stack, "dom0", {
    ssh: { host: "203.0.113.10", ...(sshPort === undefined ? {} : { port: sshPort }) },
    uplink: { device: "eth0", address: "192.0.2.1/24" },
    firewall: { managementCidrs: ["203.0.113.0/24"], ...firewall },
  });
}

/** The seed: one guest, three addresses, one site each, TCP 80 and 443 forwarded. */
function seed(stack: TerraformStack, variant: Variant): void {
  const dom0 = dom0Of(stack);
  const webserv = new RoutedDomU(dom0, "webserv", {
    disks: ["phy:/dev/vg0/webserv,xvda,w"],
    vifs:
      variant === "one-vif"
        ? [{ mac: "de:ad:be:ef:00:00", address: "192.0.2.200/24", additionalAddresses: ["192.0.2.201/24", "192.0.2.202/24"] }]
        : [0, 1, 2].map((i) => ({ mac: `de:ad:be:ef:00:0${i}`, address: `192.0.2.20${i}/24` })),
    policyRouting: variant === "hand-made" ? false : undefined,
    guestNetwork: variant === "networkd" ? "systemd-networkd" : variant === "netplan" ? "netplan" : undefined,
  });
  ["a", "b", "c"].forEach((s, i) => {
    const broken = variant === "broken" && s === "b";
    new WebVhost(webserv, `site-${s}`, {
      address: `192.0.2.20${i}`,
      serverName: `${s}.example.org`,
      serverAliases: variant === "changed" && s === "b" ? ["www.b.example.org", "bee.example.org"] : [`www.${s}.example.org`],
      documentRoot: `/var/www/site-${s}`,
      tls: { certificateFile: broken ? "/etc/ssl/cdktf-xen-lab/missing.pem" : LAB_TLS_CERT, certificateKeyFile: LAB_TLS_KEY },
      check: { status: 200, contains: labPage(`site-${s}`).trim() },
    });
  });
  new ForwardRule(dom0, "web", { to: webserv, ports: [80, 443] });
}

/**
 * One dom0, two guests of four addresses each, a site on every address, and
 * forwarded ports over TCP and UDP, some only from a network or from source
 * ports; sshd on the dom0 and on one guest listens on a port other than 22. Its
 * firewall matches guests through ipsets (the seed's uses one rule per
 * address), or with the `nftables` variant through an nft set, so the lab
 * sends traffic through every form, and through a switch of backend.
 */
function twoGuests(stack: TerraformStack, variant: Variant): void {
  // sshd on ports other than 22: the dom0's on 2222, beta's on 2200 (reached through the dom0).
  const dom0 = dom0Of(stack, variant === "nftables" ? { backend: "nftables" } : { ipsetFrom: 0 }, 2222);
  for (const [g, name] of [[1, "alpha"], [2, "beta"]] as const) {
    const guest = new RoutedDomU(dom0, name, {
      disks: [`phy:/dev/vg0/${name},xvda,w`],
      ...(name === "beta" ? { ssh: { port: 2200 } } : {}),
      vifs: [0, 1, 2, 3].map((i) => ({ mac: `00:16:3e:00:0${g}:0${i}`, address: `192.0.2.${g}${i}/24` })),
    });
    for (const i of [0, 1, 2, 3]) {
      new WebVhost(guest, `${name}-${i}`, { address: `192.0.2.${g}${i}`, serverName: `${name}-${i}.example.org`, documentRoot: `/var/www/${name}-${i}`, check: { contains: labPage(`${name}-${i}`).trim() } });
    }
    new ForwardRule(dom0, `${name}-web`, { to: guest, ports: [80] });
  }
  new ForwardRule(dom0, "alpha-dns", { to: "192.0.2.10", ports: [53] });
  // UDP, and rules bound to source ports and to a source network: the lab probes each from inside and outside.
  new ForwardRule(dom0, "beta-dns", { to: "192.0.2.21", ports: [Port.udp(53)], sourcePorts: [Port.udpRange(1024, 65535)] });
  new ForwardRule(dom0, "alpha-admin", { to: "192.0.2.11", ports: [Port.tcp(8443)], from: ["203.0.113.0/24"], sourcePorts: [Port.tcpRange(1024, 65535)] });
}

/** Adds the stack `lab` of a scenario, in one of its variants, to `app`. */
export function buildScenario(app: App, scenario: Scenario, variant: Variant = "base"): TerraformStack {
  const stack = new TerraformStack(app, "lab");
  if (variant === "hand-made") stack.node.setContext(PROVE_CONTEXT_KEY, false);
  if (scenario === "seed") seed(stack, variant);
  else twoGuests(stack, variant);
  return stack;
}
