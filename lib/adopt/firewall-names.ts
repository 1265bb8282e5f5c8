/**
 * What a copy's firewall names, for the questions doctor and import ask of
 * the model: pieces of the ports between the edges of those its rules match,
 * and the clients that stand for anywhere and for each source network (the
 * model reads the networks and ports: Reachability.sourceNetworks,
 * portsNamed). A rule's verdict depends on a packet's port only through the
 * ranges the rules name, so one port per piece between their edges answers
 * for the whole piece.
 */
import type { PortRange } from "../connections/port";
import { FAR_CLIENTS, FlowQuestion, FlowVerdict, Hop, Reachability } from "../reachability";
import { Cidr, cidrText, inCidr, ipNum, ipText, parseCidr, rangeCidrs } from "../reachability/ip";

/** Whether the dom0's firewall let the flow's request through (whatever came after). */
export function firewallOpens(v: FlowVerdict, dom0: string): boolean {
  return firewallHop(v, dom0)?.outcome === "pass";
}

/** The dom0 firewall's hop of a flow's request. */
function firewallHop(v: FlowVerdict, dom0: string): Hop | undefined {
  return v.hops.find((h) => h.host === dom0 && h.stage === "firewall");
}

/**
 * Ports 1-65535 cut at the edges of `named` (the destination or source
 * ports the rules name: Reachability.portsNamed): within one piece every
 * rule matches all of it or none of it.
 */
export function portPieces(named: readonly PortRange[]): PortRange[] {
  const edges = [...new Set([1, 65536, ...named.flatMap((r) => [r.from, r.to + 1]).filter((e) => e > 1 && e < 65536)])].sort((a, b) => a - b);
  return edges.slice(0, -1).map((from, i) => ({ from, to: edges[i + 1] - 1 }));
}

/** The pieces `opens` holds for (asked at each piece's first port), adjacent ones joined. */
export function sourcePortsOpen(pieces: readonly PortRange[], opens: (sourcePort: number) => boolean): PortRange[] {
  const out: PortRange[] = [];
  for (const p of pieces) {
    if (!opens(p.from)) continue;
    const last = out[out.length - 1];
    if (last && last.to + 1 === p.from) out[out.length - 1] = { from: last.from, to: p.to };
    else out.push(p);
  }
  return out;
}

/**
 * The source ports (of `pieces`) from which the dom0's firewall lets `flow`
 * through, adjacent ones joined. Where the firewall's verdict is unknown (a
 * rule the model cannot read may match), `undecided` gets that rule and why,
 * and the piece counts as closed.
 */
export function sourcePortsOpenTo(model: Reachability, dom0: string, pieces: readonly PortRange[], flow: Omit<FlowQuestion, "sourcePort">, undecided?: (why: string) => void): PortRange[] {
  return sourcePortsOpen(pieces, (sourcePort) => {
    const hop = firewallHop(model.flow({ ...flow, sourcePort }), dom0);
    // An unknown firewall hop always names what leaves it undecided.
    if (hop?.outcome === "unknown") undecided?.(hop.undecidedBy!);
    return hop?.outcome === "pass";
  });
}

/** Whether `outer` holds every port of `inner` (both as sourcePortsOpen gives them: pieces joined where they touch). */
export function coversSourcePorts(outer: readonly PortRange[], inner: readonly PortRange[]): boolean {
  return inner.every((r) => outer.some((o) => o.from <= r.from && r.to <= o.to));
}

/** Every source port. */
export function allSourcePorts(ranges: readonly PortRange[]): boolean {
  return ranges.length === 1 && ranges[0].from === 1 && ranges[0].to === 65535;
}

/** `1024-65535`, `53, 1024-65535`. */
export function portRangesText(ranges: readonly PortRange[]): string {
  return ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(", ");
}

/** Texts of ports joined as a sentence: `tcp/1-21, 23-65535 and udp/1-65535`. */
export function joinedPorts(list: readonly string[]): string {
  return list.length > 1 ? `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}` : list[0];
}

/** At most six of `list`, and how many more: `a, b, c, d, e, f and 3 more`. */
export function firstSix(list: readonly string[]): string {
  return `${list.slice(0, 6).join(", ")}${list.length > 6 ? ` and ${list.length - 6} more` : ""}`;
}

/**
 * A client behind the uplink's router that stands for "anywhere": outside
 * the uplink's subnet and every source network the firewall names, and no
 * host's address. The documentation addresses first, then the benchmarking
 * network (RFC 2544) and the shared address space (RFC 6598).
 */
export function clientOutside(uplink: Cidr, taken: ReadonlySet<number>, sources: readonly string[]): number | undefined {
  const named = sources.map((s) => parseCidr(s)!);
  const free = (n: number) => !inCidr(uplink, n) && !taken.has(n) && !named.some((c) => inCidr(c, n));
  const first = FAR_CLIENTS.map((a) => ipNum(a)!).find(free);
  if (first !== undefined) return first;
  for (const net of ["198.18.0.0/15", "100.64.0.0/10"].map((c) => parseCidr(c)!)) {
    for (let i = 1; i < 4096; i++) if (free(net.net + i)) return net.net + i;
  }
  return undefined;
}

/** The source "anywhere". */
export const ANYWHERE = "0.0.0.0/0";

/** Where a client comes from: anywhere, or a piece of the source networks a firewall names (its first and last address). */
export interface AskedSource {
  /** `0.0.0.0/0`, or the piece's networks joined: `203.0.113.0/25`. */
  readonly cidr: string;
  readonly cidrs: readonly string[];
  /** The client that stands for it. */
  readonly client: string;
  readonly first?: number;
  readonly last?: number;
}

/**
 * The sources a firewall is asked from: anywhere, from a client behind the
 * uplink's router outside every network it names (clientOutside; none when
 * there is no such address), then one per piece of those networks
 * (sourcePieces).
 */
export function sourcesToAsk(uplink: Cidr, taken: ReadonlySet<number>, named: readonly string[]): AskedSource[] {
  const anywhere = clientOutside(uplink, taken, named);
  return [...(anywhere === undefined ? [] : [{ cidr: ANYWHERE, cidrs: [ANYWHERE], client: ipText(anywhere) }]), ...sourcePieces(named, taken)];
}

/** A piece of the source networks a firewall names, and the client that stands for it. */
export interface SourcePiece {
  /** Its first and last address. */
  readonly first: number;
  readonly last: number;
  /** The piece as the fewest networks: `["203.0.113.0/25"]`. */
  readonly cidrs: string[];
  /** Those networks joined, as reports and notes name the piece: `203.0.113.0/25`. */
  readonly cidr: string;
  /** Its first address no host holds (after the network's own address, in a piece of more than two). */
  readonly client: string;
}

/**
 * The addresses of the source networks `sources` (those the firewall
 * names: Reachability.sourceNetworks), cut at the edges of every one of them,
 * in address order: within one piece every rule that compares a packet's
 * source with a network it names matches all of the piece or none of it, so
 * one client answers for the piece. A network that holds another (a /24
 * and a /25 dropped first) comes in two pieces, never as one that a client in
 * its first half would answer for. A piece whose every address is a host's
 * (a guest's own /32) is left out.
 */
export function sourcePieces(sources: readonly string[], taken: ReadonlySet<number>): SourcePiece[] {
  const nets = sources.map((c) => parseCidr(c)!);
  const edges = [...new Set(nets.flatMap((n) => [n.net, n.net + 2 ** (32 - n.prefix)]))].sort((a, b) => a - b);
  const out: SourcePiece[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const first = edges[i];
    const last = edges[i + 1] - 1;
    // A gap between named networks is "anywhere".
    if (!nets.some((n) => inCidr(n, first))) continue;
    let client: number | undefined;
    const start = last - first >= 2 ? first + 1 : first;
    for (let n = start; n <= last && n < start + 256; n++) {
      if (taken.has(n)) continue;
      client = n;
      break;
    }
    if (client === undefined) continue;
    const cidrs = rangeCidrs(first, last).map(cidrText);
    out.push({ first, last, cidrs, cidr: cidrs.join(", "), client: ipText(client) });
  }
  return out;
}
