import type { GuestModel, HostFile, VifModel } from "../model";
import { cidrContains } from "../validation/ipv4";
import { generatedHeader } from "./header";

/** Where the `.network` file of one guest interface goes: before the distribution's own (sorted by name, the first match wins). */
export function networkdPath(vif: VifModel): string {
  return `/etc/systemd/network/60-cdktf-xen-${vif.device}.network`;
}

/**
 * One `.network` file for systemd-networkd: the interface's addresses, the
 * default route (first interface), and with policy routing the interface's
 * table (its subnet and default route) and one `[RoutingPolicyRule]` per
 * address, at the priorities the ifupdown output uses.
 */
export function renderNetworkdNetwork(guest: GuestModel, vif: VifModel): string {
  const addresses = [vif.address, ...vif.additional];
  const out = ["[Match]", `Name=${vif.device}`, "", "[Network]", ...addresses.map((a) => `Address=${a.address}/${a.prefix}`)];
  const route = (lines: string[]) => out.push("", "[Route]", ...lines);
  if (vif.index === 0) {
    // The router is the dom0's main IP: on-link, also when it is outside the subnet (a /32).
    route([`Gateway=${guest.gateway}`, ...(cidrContains(vif.address.network, guest.gateway) ? [] : ["GatewayOnLink=yes"])]);
  }
  if (guest.policyRouting) {
    route([`Destination=${vif.address.network}`, `PreferredSource=${vif.address.address}`, "Scope=link", `Table=${vif.table}`]);
    route([`Gateway=${guest.gateway}`, "GatewayOnLink=yes", `Table=${vif.table}`]);
    for (const a of addresses) out.push("", "[RoutingPolicyRule]", `From=${a.address}`, `Table=${vif.table}`, `Priority=${vif.rulePriority}`);
  }
  return `${generatedHeader()}${out.join("\n")}\n`;
}

/** The guest's `.network` files, one per interface. */
export function networkdFiles(guest: GuestModel): HostFile[] {
  return guest.vifs.map((v) => ({ path: networkdPath(v), content: renderNetworkdNetwork(guest, v), mode: "0644" }));
}
