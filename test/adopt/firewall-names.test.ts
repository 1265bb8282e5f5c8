/** What doctor and import ask of a copy's firewall: pieces of the ports it names, the clients for its sources. */
import { allSourcePorts, clientOutside, coversSourcePorts, portRangesText, portPieces, sourcePieces, sourcePortsOpen } from "../../lib/adopt/firewall-names";
import { ipNum, parseCidr } from "../../lib/reachability/ip";

describe("what a firewall names", () => {
  it("the pieces between the edges of the ports named: ranges, single ports, overlaps, the ends of the port space", () => {
    const named = [{ from: 1024, to: 65535 }, { from: 53, to: 53 }, { from: 500, to: 501 }, { from: 123, to: 123 }, { from: 1024, to: 65535 }];
    expect(portRangesText(portPieces(named))).toBe("1-52, 53, 54-122, 123, 124-499, 500-501, 502-1023, 1024-65535");
    expect(portRangesText(portPieces([{ from: 1, to: 80 }, { from: 0, to: 22 }, { from: 65535, to: 65535 }]))).toBe("1-22, 23-80, 81-65534, 65535");
    expect(portRangesText(portPieces([]))).toBe("1-65535");
  });

  it("the pieces a firewall opens, asked once each and joined where they touch", () => {
    const asked: number[] = [];
    const open = sourcePortsOpen(portPieces([{ from: 53, to: 53 }, { from: 1024, to: 65535 }]), (p) => (asked.push(p), p === 53 || p >= 1024 || p < 10));
    expect(asked).toEqual([1, 53, 54, 1024]);
    expect(portRangesText(open)).toBe("1-53, 1024-65535");
    expect(allSourcePorts(open)).toBe(false);
    expect(allSourcePorts(sourcePortsOpen(portPieces([{ from: 53, to: 53 }]), () => true))).toBe(true);
  });

  it("whether one source's open source ports hold another's", () => {
    const all = [{ from: 1, to: 65535 }];
    const high = [{ from: 1024, to: 65535 }];
    const dnsAndHigh = [{ from: 53, to: 53 }, { from: 1024, to: 65535 }];
    expect(coversSourcePorts(all, dnsAndHigh)).toBe(true);
    expect(coversSourcePorts(dnsAndHigh, high)).toBe(true);
    expect(coversSourcePorts(high, dnsAndHigh)).toBe(false);
    expect(coversSourcePorts([], high)).toBe(false);
    expect(coversSourcePorts(high, [])).toBe(true);
  });

  it("a client for anywhere outside the uplink and every named source; one in each source, not a host's address", () => {
    const uplink = parseCidr("192.0.2.0/24")!;
    const taken = new Set([ipNum("192.0.2.1")!, ipNum("203.0.113.1")!]);
    expect(clientOutside(uplink, taken, [])).toBe(ipNum("203.0.113.77"));
    expect(clientOutside(uplink, taken, ["203.0.113.0/24"])).toBe(ipNum("198.18.0.1"));
    expect(clientOutside(uplink, taken, ["0.0.0.0/1", "128.0.0.0/1"])).toBeUndefined();
    const pieces = (named: string[]) => sourcePieces(named, taken).map((p) => `${p.cidr} ${p.client}`);
    expect(pieces(["203.0.113.0/24", "192.0.2.1/32", "198.51.100.7/32"])).toEqual(["198.51.100.7/32 198.51.100.7", "203.0.113.0/24 203.0.113.2"]);
  });

  it("the source networks cut at each other's edges: a network that holds another comes in pieces, each with its own client", () => {
    const taken = new Set([ipNum("203.0.113.129")!]);
    const pieces = (named: string[]) => sourcePieces(named, taken).map((p) => `${p.cidr} ${p.client}`);
    // A /24 with a /25 named inside it (dropped first, say): the client of the /24 alone would answer for its lower half only.
    expect(pieces(["203.0.113.0/24", "203.0.113.128/25"])).toEqual(["203.0.113.0/25 203.0.113.1", "203.0.113.128/25 203.0.113.130"]);
    // A /26 in the middle: the pieces on either side are not networks of their own.
    expect(pieces(["10.0.0.0/24", "10.0.0.64/26"])).toEqual(["10.0.0.0/26 10.0.0.1", "10.0.0.64/26 10.0.0.65", "10.0.0.128/25 10.0.0.129"]);
    expect(pieces(["10.0.0.0/24", "10.0.0.32/27"])).toEqual(["10.0.0.0/27 10.0.0.1", "10.0.0.32/27 10.0.0.33", "10.0.0.64/26, 10.0.0.128/25 10.0.0.65"]);
    // Networks apart: the gap between them is anywhere, not a piece.
    expect(pieces(["10.0.0.0/25", "10.0.1.0/25"])).toEqual(["10.0.0.0/25 10.0.0.1", "10.0.1.0/25 10.0.1.1"]);
    expect(pieces([])).toEqual([]);
  });
});
