import type { GuestModel } from "../model";
import { cidrContains } from "../validation/ipv4";
import { generatedHeader } from "./header";

/** The guest's netplan file: netplan reads every `/etc/netplan/*.yaml` in name order; it must be 0600. */
export const NETPLAN_PATH = "/etc/netplan/60-cdktf-xen.yaml";

/**
 * netplan's YAML for the guest (networkd renderer): each interface by its
 * name, with its addresses, the default route on the first, and with policy
 * routing the same tables, routes and rules as the ifupdown and networkd
 * output. The names come from the guest's `.link` files (or udev rules), as
 * with systemd-networkd: netplan 0.106 renders `match: macaddress` as networkd's
 * `PermanentMACAddress=`, which a NIC without a permanent address never
 * matches. Every value was checked at synth; none needs quoting.
 */
export function renderNetplan(guest: GuestModel): string {
  const lines = ["network:", "  version: 2", "  renderer: networkd", "  ethernets:"];
  for (const vif of guest.vifs) {
    const addresses = [vif.address, ...vif.additional];
    lines.push(`    ${vif.device}:`, "      addresses:", ...addresses.map((a) => `        - ${a.address}/${a.prefix}`));
    const routes: string[][] = [];
    if (vif.index === 0) routes.push(["to: default", `via: ${guest.gateway}`, ...(cidrContains(vif.address.network, guest.gateway) ? [] : ["on-link: true"])]);
    if (guest.policyRouting) {
      routes.push([`to: ${vif.address.network}`, `from: ${vif.address.address}`, "scope: link", `table: ${vif.table}`]);
      routes.push(["to: default", `via: ${guest.gateway}`, "on-link: true", `table: ${vif.table}`]);
    }
    if (routes.length) lines.push("      routes:", ...routes.flatMap(([first, ...rest]) => [`        - ${first}`, ...rest.map((r) => `          ${r}`)]));
    if (guest.policyRouting) {
      lines.push("      routing-policy:", ...addresses.flatMap((a) => [`        - from: ${a.address}`, `          table: ${vif.table}`, `          priority: ${vif.rulePriority}`]));
    }
  }
  return `${generatedHeader()}${lines.join("\n")}\n`;
}
