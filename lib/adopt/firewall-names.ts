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
import { clientIn, FAR_CLIENTS, FlowQuestion, FlowVerdict, Hop, Reachability } from "../reachability";
import { Cidr, inCidr, ipNum, ipText, parseCidr } from "../reachability/ip";

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
    // The hop's text: the path ("FORWARD eth0 -> g-1, new connection: "), the rule that may match and why, then
    // "; otherwise" what decides without it.
    if (hop?.outcome === "unknown") undecided?.(hop.text.split("; otherwise")[0].replace(/^[^:]*: /, "").trim());
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

/** One client in each named source network (its first free address), skipping sources with no free address (a guest's own /32). */
export function clientsInSources(sources: readonly string[], taken: ReadonlySet<number>): { readonly cidr: string; readonly client: string }[] {
  const out: { cidr: string; client: string }[] = [];
  for (const cidr of sources) {
    const client = clientIn(parseCidr(cidr)!, taken);
    if (client !== undefined) out.push({ cidr, client: ipText(client) });
  }
  return out;
}
