/**
 * Who a copy's firewall lets reach the dom0 itself by its uplink, read
 * through the model (its input path: iptables INPUT and the chains it jumps
 * to, nftables' input hook): sshd on the ports it listens on, and every
 * other port. import turns it into ssh.port, firewall.managementCidrs and
 * notes; doctor reports it.
 */
import type { Reachability } from "../reachability";
import { Cidr, cidrText, rangeCidrs } from "../reachability/ip";
import { ANYWHERE, AskedSource, portPieces, portRangesText, sourcesToAsk } from "./firewall-names";
import { SSHD_DEFAULT_PORT } from "./sshd-config";

export interface Dom0Access {
  /**
   * The port of sshd a stack takes (XenHost's ssh.port, the one port its
   * firewall opens to sshd): among the ports sshd listens on, the first that
   * only some networks reach, else the first anywhere reaches, else the first.
   */
  readonly sshPort: number;
  /** Who reaches sshd on it: any address, or these networks (joined into the fewest), or none. */
  readonly sshFrom: "anywhere" | readonly string[];
  /** Whether the verdict for sshd is unknown from some source. */
  readonly sshUndecided: boolean;
  /** Every other TCP and UDP port that gets through, by source (`from anywhere`, `from 203.0.113.0/24`): `tcp/1-21`. */
  readonly open: readonly { readonly from: string; readonly ports: readonly string[] }[];
  /** What the model cannot decide, by the rule that may match and why: `tcp/8080 from anywhere`. */
  readonly unknown: ReadonlyMap<string, readonly string[]>;
}

/**
 * Asks the model of a copy about its dom0's input path, from a client
 * standing for anywhere (outside `up` and every network the input path
 * names, and no address in `taken`) and one in each piece of those networks
 * (cut at each other's edges): sshd on each of `sshdPorts`, every other port
 * a piece at a time (the port space cut at the edges of the ports the input
 * path names). The library's firewall names networks, not interfaces: sshd
 * let in by another interface alone (`-i mgmt0`) is not asked.
 */
export function dom0Access(model: Reachability, up: Cidr, taken: ReadonlySet<number>, sshdPorts: readonly number[]): Dom0Access {
  const named = model._inputSourceNetworks();
  const sources = sourcesToAsk(up, taken, named);
  const reaches = (port: number) => sources.map((s) => ({ source: s, verdict: model._toDom0({ protocol: "tcp", from: s.client, port }) }));
  const asked = sshdPorts.map((port) => ({ port, reach: reaches(port) }));
  const passes = (a: (typeof asked)[number], fromAnywhere: boolean) => a.reach.some((r) => r.verdict.outcome === "pass" && (r.source.cidr === ANYWHERE) === fromAnywhere);
  const { port: sshPort, reach } =
    asked.find((a) => passes(a, false) && !passes(a, true)) ?? asked.find((a) => passes(a, true)) ?? asked[0] ?? { port: SSHD_DEFAULT_PORT, reach: reaches(SSHD_DEFAULT_PORT) };
  const pieces = portPieces(model._inputPortsNamed().destination);
  const sshFrom: AskedSource[] = [];
  let sshUndecided = false;
  const unknown = new Map<string, string[]>();
  const undecided = (what: string, why: string) => unknown.set(why, [...(unknown.get(why) ?? []), what]);
  const open: { from: string; ports: string[] }[] = [];
  // Ports open from anywhere are not named again for a source network.
  const openAnywhere = new Set<string>();
  for (const { source, verdict: ssh } of reach) {
    const { cidr, client } = source;
    const from = cidr === ANYWHERE ? "from anywhere" : `from ${cidr}`;
    if (ssh.outcome === "pass") sshFrom.push(source);
    else if (ssh.outcome === "unknown") {
      sshUndecided = true;
      undecided(`tcp/${sshPort} ${from}`, ssh.undecidedBy);
    }
    // Every other port, a piece at a time.
    const ports: string[] = [];
    for (const protocol of ["tcp", "udp"] as const) {
      for (const piece of pieces) {
        const others = protocol === "tcp" && piece.from <= sshPort && sshPort <= piece.to ? [{ from: piece.from, to: sshPort - 1 }, { from: sshPort + 1, to: piece.to }].filter((r) => r.from <= r.to) : [piece];
        if (!others.length) continue;
        const v = model._toDom0({ protocol, from: client, port: others[0].from });
        const text = `${protocol}/${portRangesText(others)}`;
        if (v.outcome === "pass") {
          if (cidr === ANYWHERE) openAnywhere.add(text);
          else if (openAnywhere.has(text)) continue;
          ports.push(text);
        } else if (v.outcome === "unknown") undecided(`${text} ${from}`, v.undecidedBy);
      }
    }
    if (ports.length) open.push({ from, ports });
  }
  if (sshFrom.some((s) => s.cidr === ANYWHERE)) return { sshPort, sshFrom: "anywhere", sshUndecided, open, unknown };
  // Pieces next to each other are joined into the fewest networks.
  const runs: { first: number; last: number }[] = [];
  for (const { first, last } of sshFrom) {
    const prev = runs[runs.length - 1];
    if (prev && prev.last + 1 === first) prev.last = last!;
    else runs.push({ first: first!, last: last! });
  }
  return { sshPort, sshFrom: runs.flatMap((r) => rangeCidrs(r.first, r.last).map(cidrText)), sshUndecided, open, unknown };
}
