import type { GuestModel, VifModel } from "../model";
import { cidrContains } from "../validation/ipv4";
import { generatedHeader } from "./header";

/**
 * Source policy routing of one interface: its own table holds the subnet and
 * the default route through this interface, and `ip rule from <address>` sends
 * every reply from the address through it. Rules are keyed by a fixed
 * priority and removed before they are added (ip rule add is not idempotent),
 * so `up` is safe to run any number of times; `down` undoes it.
 */
export function policyRoutingCommands(vif: VifModel, gateway: string): { up: string[]; down: string[] } {
  const { device, table, rulePriority: prio } = vif;
  const { address, network } = vif.address;
  const deleteRule = `while ip rule del priority ${prio} 2>/dev/null; do :; done`;
  return {
    up: [
      `ip route replace ${network} dev ${device} src ${address} table ${table}`,
      `ip route replace default via ${gateway} dev ${device} onlink table ${table}`,
      deleteRule,
      // Every address of the interface replies through its table, at the interface's one priority.
      ...[vif.address, ...vif.additional].map((a) => `ip rule add from ${a.address} lookup ${table} priority ${prio}`),
    ],
    down: [deleteRule, `ip route flush table ${table} 2>/dev/null || true`],
  };
}

function policyRouting(vif: VifModel, gateway: string): string[] {
  const { up, down } = policyRoutingCommands(vif, gateway);
  const out: string[] = [];
  for (const c of up) out.push(`post-up ${c}`);
  for (const c of down) out.push(`pre-down ${c}`);
  return out;
}

/** `/etc/network/interfaces` for ifupdown: static addresses, one default gateway, policy routing. */
export function renderInterfaces(guest: GuestModel): string {
  const stanzas = ["auto lo\niface lo inet loopback\n"];
  // One function per vif: V8 then compiles small pieces, and again only the piece that meets a new shape.
  for (const vif of guest.vifs) vifStanzas(guest, vif, stanzas);
  return generatedHeader() + stanzas.join("\n");
}

/** The stanzas of one vif: its first address, gateway and policy routing; one more per further address. */
function vifStanzas(guest: GuestModel, vif: VifModel, stanzas: string[]): void {
  let stanza = `auto ${vif.device}\niface ${vif.device} inet static\n    address ${vif.address.address}/${vif.address.prefix}`;
  if (vif.index === 0) {
    // The gateway; when the router is outside the subnet (e.g. a /32), a default route to it on-link.
    stanza += cidrContains(vif.address.network, guest.gateway) ? `\n    gateway ${guest.gateway}` : `\n    post-up ip route replace default via ${guest.gateway} dev ${vif.device} onlink`;
  }
  if (guest.policyRouting) for (const line of policyRouting(vif, guest.gateway)) stanza += `\n    ${line}`;
  stanzas.push(stanza + "\n");
  // Further addresses of the vif: one more stanza each, which ifup applies after the first (interfaces(5)).
  for (const a of vif.additional) stanzas.push(`iface ${vif.device} inet static\n    address ${a.address}/${a.prefix}\n`);
}

/** `/etc/iproute2/rt_tables.d/cdktf-xen.conf`: names for the per-interface tables. */
export function renderRtTables(guest: GuestModel): string {
  return generatedHeader() + guest.vifs.map((v) => `${v.table}\txen-${v.device}\n`).join("");
}
