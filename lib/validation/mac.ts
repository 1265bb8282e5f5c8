import { PropSite, XenPropError } from "./errors";

/** What a MAC address says about itself. */
export interface MacInfo {
  /** Lower-case, colon-separated. */
  readonly mac: string;
  /** True when the address is neither in Xen's OUI 00:16:3e nor locally administered. */
  readonly suspicious: boolean;
}

/** Parses a unicast MAC address `xx:xx:xx:xx:xx:xx`. */
export function parseMac(value: unknown, site: PropSite): MacInfo {
  if (typeof value !== "string" || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(value)) {
    throw new XenPropError(site, value, "expected a MAC address of six colon-separated hex octets, such as 00:16:3e:00:00:01");
  }
  const mac = value.toLowerCase();
  const first = parseInt(mac.slice(0, 2), 16);
  if (first & 1) {
    throw new XenPropError(site, value, "this is a multicast MAC (lowest bit of the first octet set); a vif needs a unicast MAC, e.g. 00:16:3e:xx:xx:xx");
  }
  if (mac === "00:00:00:00:00:00") {
    throw new XenPropError(site, value, "the all-zero MAC is not a valid interface address");
  }
  const locallyAdministered = (first & 2) === 2;
  return { mac, suspicious: !locallyAdministered && !mac.startsWith("00:16:3e:") };
}
