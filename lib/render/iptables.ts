import type { FirewallModel, ForwardAcceptModel } from "../model";
import type { PortRange } from "../connections/port";
import { compareIpv4 } from "../validation/ipv4";
import { generatedHeader } from "./header";
import { addressSets } from "./ipset";

/** iptables' multiport match takes at most 15 ports; a range counts as two. */
const MULTIPORT_SLOTS = 15;

function portText(r: PortRange): string {
  return r.from === r.to ? `${r.from}` : `${r.from}:${r.to}`;
}

/** Splits ranges into groups that fit one multiport match each. */
export function multiportChunks(ranges: readonly PortRange[]): PortRange[][] {
  const chunks: PortRange[][] = [];
  let current: PortRange[] = [];
  let used = 0;
  for (const r of ranges) {
    const cost = r.from === r.to ? 1 : 2;
    if (used + cost > MULTIPORT_SLOTS) {
      chunks.push(current);
      current = [];
      used = 0;
    }
    current.push(r);
    used += cost;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

function portMatch(protocol: string, flag: "dports" | "sports", ranges: readonly PortRange[]): string {
  if (ranges.length === 1) return ` -m ${protocol} --${flag === "dports" ? "dport" : "sport"} ${portText(ranges[0])}`;
  return ` -m multiport --${flag} ${ranges.map(portText).join(",")}`;
}

/** What an accept matches besides the guest: protocol, source and ports. */
type AcceptMatch = Pick<ForwardAcceptModel, "protocol" | "source" | "ports" | "sourcePorts">;

/**
 * FORWARD ACCEPTs for one match, one per multiport chunk of ports. The guest
 * is matched by `guest` (after -s) or `guestAfterProtocol` (after -p), where
 * iptables-save prints it.
 */
function forwardAccepts(a: AcceptMatch, guest: string, guestAfterProtocol = ""): string[] {
  const out: string[] = [];
  const src = a.source === "0.0.0.0/0" ? "" : ` -s ${a.source}`;
  const sportChunks = a.sourcePorts.length ? multiportChunks(a.sourcePorts) : [[]];
  for (const dports of multiportChunks(a.ports)) {
    for (const sports of sportChunks) {
      // One source and one destination range share one match: iptables-save prints `-m tcp --sport A --dport B`.
      const ports =
        sports.length === 1 && dports.length === 1
          ? ` -m ${a.protocol} --sport ${portText(sports[0])} --dport ${portText(dports[0])}`
          : `${sports.length ? portMatch(a.protocol, "sports", sports) : ""}${portMatch(a.protocol, "dports", dports)}`;
      out.push(`-A FORWARD${src}${guest} -p ${a.protocol}${guestAfterProtocol}${ports} -j ACCEPT`);
    }
  }
  return out;
}

/** Canonical order of accepts: by address, interface, protocol, source. */
export function compareAccepts(a: ForwardAcceptModel, b: ForwardAcceptModel): number {
  return (
    compareIpv4(a.address, b.address) ||
    a.vifname.localeCompare(b.vifname) ||
    a.protocol.localeCompare(b.protocol) ||
    compareIpv4(a.source, b.source) ||
    JSON.stringify(a.sourcePorts).localeCompare(JSON.stringify(b.sourcePorts))
  );
}

/** Accepts matched through ipsets: one rule per group (and port chunk), not per address. */
function setRules(fw: FirewallModel): string[] {
  const { accepts, egress } = addressSets(fw);
  return [
    ...accepts.flatMap(({ group, set }) => forwardAccepts(group, "", ` -m set --match-set ${set.name} dst,dst`)),
    ...(egress ? [`-A FORWARD -m set --match-set ${egress.name} src,src -j ACCEPT`] : []),
  ];
}

/** The start of both filter tables (IPv4 and IPv6): policies, loopback, conntrack. */
function filterHead(fw: FirewallModel): string[] {
  return [
    "*filter",
    `:INPUT ${fw.inputPolicy} [0:0]`,
    `:FORWARD ${fw.forwardPolicy} [0:0]`,
    ":OUTPUT ACCEPT [0:0]",
    "-A INPUT -i lo -j ACCEPT",
    "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A INPUT -m conntrack --ctstate INVALID -j DROP",
  ];
}

/**
 * The dom0's filter table in iptables-restore format, loaded in one
 * transaction, in the canonical form iptables-save prints (so a saved live
 * ruleset diffs cleanly against it). Conntrack first; then the accepts,
 * bound to each guest's vif (`-o`) and address (`-d`); everything else meets
 * the policy. Without `sets`, one rule per guest address; with `sets`, guests
 * are matched through the ipsets of {@link renderIpsets} (`dst,dst`: address
 * and outgoing vif), so a new connection costs one lookup per rule however
 * many addresses there are.
 */
export function renderIptablesRules(fw: FirewallModel, opts: { readonly sets?: boolean } = {}): string {
  const lines = [
    ...filterHead(fw),
    "-A INPUT -p icmp -j ACCEPT",
    ...fw.managementCidrs.map(
      (c) => `-A INPUT${c === "0.0.0.0/0" ? "" : ` -s ${c}`} -p tcp -m tcp --dport ${fw.sshPort} -j ACCEPT`,
    ),
    "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A FORWARD -m conntrack --ctstate INVALID -j DROP",
    ...(opts.sets
      ? setRules(fw)
      : [
          ...[...fw.accepts].sort(compareAccepts).flatMap((a) => forwardAccepts(a, ` -d ${a.address}/32 -o ${a.vifname}`)),
          ...fw.egress.map((e) => `-A FORWARD -s ${e.address}/32 -i ${e.vifname} -j ACCEPT`),
        ]),
    "COMMIT",
  ];
  return generatedHeader() + lines.join("\n") + "\n";
}

/**
 * The dom0's IPv6 filter table: the same policies, nothing opened. Guests are
 * routed over IPv4 only and management networks are IPv4, so IPv6 gets
 * loopback, replies to what the dom0 itself started, and ICMPv6 (neighbour
 * discovery and path MTU); without it, a dom0 with a SLAAC address would
 * accept SSH over IPv6 from anywhere, whatever `managementCidrs` say.
 */
export function renderIp6tablesRules(fw: FirewallModel): string {
  const lines = [
    ...filterHead(fw),
    "-A INPUT -p ipv6-icmp -j ACCEPT",
    "COMMIT",
  ];
  return generatedHeader() + lines.join("\n") + "\n";
}
