/** The model's IPv4 arithmetic: what it reads as an address, and what it refuses. */
import { cidrText, inCidr, ipNum, ipText, netmaskPrefix, parseCidr } from "../../lib/reachability/ip";

describe("ipNum and ipText", () => {
  it("reads dotted quads and writes them back", () => {
    expect(ipNum("0.0.0.0")).toBe(0);
    expect(ipNum("192.0.2.1")).toBe(0xc0000201);
    expect(ipNum("255.255.255.255")).toBe(0xffffffff);
    expect(ipNum("010.1.1.1")).toBe(ipNum("10.1.1.1"));
    expect(ipText(0xc0000201)).toBe("192.0.2.1");
    expect(ipText(0xffffffff)).toBe("255.255.255.255");
    expect(ipText(0)).toBe("0.0.0.0");
  });

  it.each(["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1..2.3", ".1.2.3", "1.2.3.", "1234.1.1.1", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/24", "a.b.c.d", "1.2.3.-4"])("refuses %j", (text) => {
    expect(ipNum(text)).toBeUndefined();
  });
});

describe("networks", () => {
  it("parses a CIDR, clearing host bits, and matches addresses in it", () => {
    const c = parseCidr("192.0.2.77/24")!;
    expect(cidrText(c)).toBe("192.0.2.0/24");
    expect(inCidr(c, ipNum("192.0.2.255")!)).toBe(true);
    expect(inCidr(c, ipNum("192.0.3.0")!)).toBe(false);
    expect(cidrText(parseCidr("0.0.0.0/0")!)).toBe("0.0.0.0/0");
    expect(cidrText(parseCidr("198.51.100.7")!)).toBe("198.51.100.7/32");
    expect(parseCidr("192.0.2.0/33")).toBeUndefined();
    expect(parseCidr("192.0.2.0/24/1")).toBeUndefined();
    expect(cidrText(parseCidr("192.0.2.0/8")!)).toBe("192.0.0.0/8");
    for (const bad of ["192.0.2.0/", "192.0.2.0/024", "192.0.2.0/2a", "192.0.2.0/-1", "192.0.2.0/ 24", "/24", "192.0.2/24", "192.0.2.0 /24"]) expect(parseCidr(bad)).toBeUndefined();
    expect(netmaskPrefix("255.255.255.0")).toBe(24);
    expect(netmaskPrefix("255.0.255.0")).toBeUndefined();
  });
});
