/** What a copy's firewall names, read for doctor's and import's questions: sources, source ports, the clients for them. */
import { allSourcePorts, clientOutside, clientsInSources, coversSourcePorts, portRangesText, sourcePortPieces, sourcePortsNamed, sourcePortsOpen } from "../../lib/adopt/firewall-names";
import { ipNum, parseCidr } from "../../lib/reachability/ip";

const RULES = [
  "-A FORWARD -s 203.0.113.0/24 -d 192.0.2.30/32 -o g-0 -p tcp -m tcp --sport 1024:65535 --dport 8443 -j ACCEPT",
  "-A FORWARD -s 0.0.0.0/0 -d 192.0.2.31/32 -o g-1 -p tcp -m tcp --dport 80 -j ACCEPT",
  "-A FORWARD -s 198.51.100.7 -p udp -m multiport --sports 53,500:501 -m udp --dport 53 -j ACCEPT",
  "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT",
  "\t\tip saddr 192.0.2.128/25 ip daddr . oifname @accept2 udp sport { 123, 1024-65535 } udp dport 123 accept",
].join("\n");

describe("what a firewall names", () => {
  it("source ports in every form, and the pieces between their edges", () => {
    const named = sourcePortsNamed(RULES);
    expect(portRangesText(named)).toBe("1024-65535, 53, 500-501, 123, 1024-65535");
    expect(portRangesText(sourcePortPieces(named))).toBe("1-52, 53, 54-122, 123, 124-499, 500-501, 502-1023, 1024-65535");
    expect(portRangesText(sourcePortPieces([]))).toBe("1-65535");
  });

  it("the pieces a firewall opens, asked once each and joined where they touch", () => {
    const asked: number[] = [];
    const open = sourcePortsOpen(sourcePortPieces([{ from: 53, to: 53 }, { from: 1024, to: 65535 }]), (p) => (asked.push(p), p === 53 || p >= 1024 || p < 10));
    expect(asked).toEqual([1, 53, 54, 1024]);
    expect(portRangesText(open)).toBe("1-53, 1024-65535");
    expect(allSourcePorts(open)).toBe(false);
    expect(allSourcePorts(sourcePortsOpen(sourcePortPieces([{ from: 53, to: 53 }]), () => true))).toBe(true);
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
    expect(clientsInSources(["203.0.113.0/24", "192.0.2.1/32", "198.51.100.7/32"], taken)).toEqual([
      { cidr: "203.0.113.0/24", client: "203.0.113.2" },
      { cidr: "198.51.100.7/32", client: "198.51.100.7" },
    ]);
  });
});
