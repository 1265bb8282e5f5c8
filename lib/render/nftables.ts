import type { FirewallModel, ForwardAcceptModel } from "../model";
import type { PortRange } from "../connections/port";
import { generatedHeader } from "./header";

/** Accepts that differ only by guest (address and vif): one set, one rule. */
export interface AcceptGroup {
  readonly protocol: ForwardAcceptModel["protocol"];
  readonly source: string;
  readonly ports: readonly PortRange[];
  readonly sourcePorts: readonly PortRange[];
  /** `address . vifname` pairs, in the order of the accepts. */
  readonly members: readonly { readonly address: string; readonly vifname: string }[];
}

/** Groups the accepts by everything but the guest. */
export function groupAccepts(accepts: readonly ForwardAcceptModel[]): AcceptGroup[] {
  const groups = new Map<string, { protocol: AcceptGroup["protocol"]; source: string; ports: readonly PortRange[]; sourcePorts: readonly PortRange[]; members: { address: string; vifname: string }[] }>();
  for (const a of accepts) {
    const key = JSON.stringify([a.protocol, a.source, a.ports, a.sourcePorts]);
    const g = groups.get(key) ?? { protocol: a.protocol, source: a.source, ports: a.ports, sourcePorts: a.sourcePorts, members: [] };
    g.members.push({ address: a.address, vifname: a.vifname });
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** Ports as nft lists them: one value bare, several as an anonymous set. */
function portSet(ranges: readonly PortRange[]): string {
  const items = ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`));
  return items.length === 1 ? items[0] : `{ ${items.join(", ")} }`;
}

/** The nftables table of the nftables backend: family and name. */
export const NFT_TABLE = "inet cdktf_xen";

/**
 * The dom0's firewall as one nftables transaction (`nft -f`): its own table,
 * replaced whole. Guests are matched through sets of `address . vifname`, so a
 * new connection costs one set lookup per group, not one rule per address.
 */
export function renderNftRuleset(fw: FirewallModel): string {
  const groups = groupAccepts(fw.accepts);
  const out = [
    "#!/usr/sbin/nft -f",
    generatedHeader().trimEnd(),
    `# Replaces the table ${NFT_TABLE.split(" ")[1]} in one transaction; other tables are left alone.`,
    `table ${NFT_TABLE}`,
    `delete table ${NFT_TABLE}`,
    `table ${NFT_TABLE} {`,
  ];
  const set = (name: string, members: readonly { address: string; vifname: string }[]) => [
    `\tset ${name} {`,
    "\t\ttype ipv4_addr . ifname",
    ...(members.length ? [`\t\telements = { ${members.map((m) => `${m.address} . "${m.vifname}"`).join(",\n\t\t\t     ")} }`] : []),
    "\t}",
  ];
  groups.forEach((g, i) => out.push(...set(`accept${i}`, g.members)));
  if (fw.egress.length) out.push(...set("egress", fw.egress));
  out.push(
    "\tchain input {",
    `\t\ttype filter hook input priority filter; policy ${fw.inputPolicy.toLowerCase()};`,
    '\t\tiifname "lo" accept',
    "\t\tct state established,related accept",
    "\t\tct state invalid drop",
    "\t\tip protocol icmp accept",
    // The table is inet: IPv6 meets the same policy. It gets ICMPv6 (neighbour discovery), and no sshd: management networks are IPv4.
    "\t\tmeta l4proto ipv6-icmp accept",
    ...fw.managementCidrs.map((c) => `\t\t${c === "0.0.0.0/0" ? "meta nfproto ipv4 " : `ip saddr ${c} `}tcp dport ${fw.sshPort} accept`),
    "\t}",
    "\tchain forward {",
    `\t\ttype filter hook forward priority filter; policy ${fw.forwardPolicy.toLowerCase()};`,
    "\t\tct state established,related accept",
    "\t\tct state invalid drop",
    ...groups.map((g, i) => {
      const src = g.source === "0.0.0.0/0" ? "" : `ip saddr ${g.source} `;
      const sport = g.sourcePorts.length ? `${g.protocol} sport ${portSet(g.sourcePorts)} ` : "";
      return `\t\t${src}ip daddr . oifname @accept${i} ${sport}${g.protocol} dport ${portSet(g.ports)} accept`;
    }),
    ...(fw.egress.length ? ["\t\tip saddr . iifname @egress accept"] : []),
    "\t}",
    "}",
    "",
  );
  return out.join("\n");
}
