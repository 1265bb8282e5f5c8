import * as ipaddr from "ipaddr.js";
import { PropSite, XenPropError } from "./errors";

/** An IPv4 address on an interface, with the prefix of its subnet (e.g. 192.0.2.10/24). */
export interface Ipv4Interface {
  /** The host address, dotted quad. */
  readonly address: string;
  /** Prefix length, 0..32. */
  readonly prefix: number;
  /** The subnet in CIDR notation, e.g. `192.0.2.0/24`. */
  readonly network: string;
}

const DOTTED = "a dotted-quad IPv4 address such as 192.0.2.10";

/** Parses a dotted-quad IPv4 address (no octal, hex or shortened forms). */
export function parseIpv4(value: unknown, site: PropSite): string {
  if (typeof value !== "string" || !ipaddr.IPv4.isValidFourPartDecimal(value)) {
    throw new XenPropError(site, value, `expected ${DOTTED}`);
  }
  const addr = ipaddr.IPv4.parse(value);
  return addr.toString();
}

/**
 * Parses an address usable by a host: not unspecified, loopback, multicast or
 * broadcast. `shown` is the value as the user wrote it, for the message.
 */
export function parseHostIpv4(value: unknown, site: PropSite, shown: unknown = value): string {
  const address = parseIpv4(value, site);
  const parsed = ipaddr.IPv4.parse(address);
  // ipaddr.js files the documentation ranges (RFC 5737) under "reserved" too;
  // of that group only class E (240.0.0.0/4) cannot be a host's address.
  const range = parsed.match(ipaddr.IPv4.parseCIDR("240.0.0.0/4")) ? "class E" : parsed.range();
  if (["unspecified", "loopback", "multicast", "broadcast", "class E"].includes(range)) {
    throw new XenPropError(site, shown, `${range} addresses cannot be assigned to a host; expected a unicast address`);
  }
  return address;
}

function splitCidr(value: unknown, site: PropSite, example: string, shown: unknown = value): [string, number] {
  const m = typeof value === "string" ? /^([0-9.]+)\/([0-9]{1,2})$/.exec(value) : null;
  if (!m || !ipaddr.IPv4.isValidFourPartDecimal(m[1]) || Number(m[2]) > 32) {
    throw new XenPropError(site, shown, `expected an IPv4 address with a prefix length 0-32, such as ${example}`);
  }
  return [ipaddr.IPv4.parse(m[1]).toString(), Number(m[2])];
}

/** The network (first) address of `address/prefix`. */
function networkOf(address: string, prefix: number): string {
  return ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`).toString();
}

/**
 * Parses `address/prefix` for an interface. The address must be a unicast host
 * address of its subnet: not the network or broadcast address (except on /31 and /32).
 */
export function parseInterfaceCidr(value: unknown, site: PropSite): Ipv4Interface {
  const [address, prefix] = splitCidr(value, site, "192.0.2.10/24");
  parseHostIpv4(address, site, value);
  if (prefix === 0) {
    throw new XenPropError(site, value, "a prefix length of 0 cannot be an interface's subnet; expected 1-32");
  }
  if (prefix < 31) {
    const cidr = `${address}/${prefix}`;
    if (address === ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()) {
      throw new XenPropError(site, value, `${address} is the network address of ${networkOf(address, prefix)}/${prefix}; expected a host address inside it`);
    }
    if (address === ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString()) {
      throw new XenPropError(site, value, `${address} is the broadcast address of ${networkOf(address, prefix)}/${prefix}; expected a host address inside it`);
    }
  }
  return { address, prefix, network: `${networkOf(address, prefix)}/${prefix}` };
}

/** Parses a network in CIDR notation; a bare address means /32. Host bits must be zero. */
export function parseNetworkCidr(value: unknown, site: PropSite): string {
  const text = typeof value === "string" && !value.includes("/") ? `${value}/32` : value;
  const [address, prefix] = splitCidr(text, site, "203.0.113.0/24", value);
  const network = networkOf(address, prefix);
  if (network !== address) {
    throw new XenPropError(site, value, `host bits are set; expected the network address, e.g. ${network}/${prefix}`);
  }
  return `${network}/${prefix}`;
}

/** True when `address` lies inside `cidr`. */
export function cidrContains(cidr: string, address: string): boolean {
  return ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parseCIDR(cidr));
}

/** Numeric value of an address, for sorting. */
export function ipv4ToNumber(address: string): number {
  return ipaddr.IPv4.parse(address).toByteArray().reduce((n, b) => n * 256 + b, 0);
}

/** Compares two `a.b.c.d[/p]` strings numerically. */
export function compareIpv4(a: string, b: string): number {
  const [aa, ap = "32"] = a.split("/");
  const [ba, bp = "32"] = b.split("/");
  return ipv4ToNumber(aa) - ipv4ToNumber(ba) || Number(ap) - Number(bp);
}
