import type { HostUplinkModel } from "../model";
import { generatedHeader } from "./header";

/** A per-interface key; names with a dot need the slash form of sysctl.d(5). */
function perInterface(device: string, key: string): string {
  return device.includes(".") ? `net/ipv4/conf/${device}/${key}` : `net.ipv4.conf.${device}.${key}`;
}

/** dom0 `/etc/sysctl.d/60-cdktf-xen.conf`: forwarding, strict reverse-path filter, proxy ARP on the uplink. */
export function renderDom0Sysctl(uplink: HostUplinkModel): string {
  return (
    generatedHeader() +
    [
      "net.ipv4.ip_forward = 1",
      "# Strict reverse-path filter: a vif may only send from the addresses routed to it.",
      "# New vifs take the default; the vif-post.d hook sets it on each vif as well.",
      "net.ipv4.conf.all.rp_filter = 1",
      "net.ipv4.conf.default.rp_filter = 1",
      "# Answer ARP on the uplink for the guests' addresses.",
      `${perInterface(uplink.device, "proxy_arp")} = 1`,
    ].join("\n") +
    "\n"
  );
}

/**
 * guest `/etc/sysctl.d/60-cdktf-xen.conf`: ARP hygiene for several interfaces
 * on one subnet; with `looseReversePath`, a loose reverse-path filter, for a
 * guest that answers on one interface what came in by another.
 */
export function renderGuestSysctl(opts: { readonly looseReversePath?: boolean } = {}): string {
  return (
    generatedHeader() +
    [
      "# Answer ARP only for addresses of the interface asked, and send ARP",
      "# requests with the address of the interface they leave by.",
      "net.ipv4.conf.all.arp_ignore = 1",
      "net.ipv4.conf.default.arp_ignore = 1",
      "net.ipv4.conf.all.arp_announce = 2",
      "net.ipv4.conf.default.arp_announce = 2",
      "# Let Apache Listen on an address before ifupdown has brought it up.",
      "net.ipv4.ip_nonlocal_bind = 1",
      ...(opts.looseReversePath
        ? [
            "# Loose reverse-path filter (reversePathFilter \"loose\"): without policy routing,",
            "# a request to one address comes in by its own interface and the reply may leave by another.",
            "net.ipv4.conf.all.rp_filter = 2",
            "net.ipv4.conf.default.rp_filter = 2",
          ]
        : []),
    ].join("\n") +
    "\n"
  );
}
