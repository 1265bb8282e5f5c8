import { createHash } from "crypto";
import type { FirewallModel } from "../model";
import { generatedHeader } from "./header";
import { AcceptGroup, groupAccepts } from "./nftables";

/** Every set of ours starts with this; the firewall script destroys the ones no rule uses. */
export const IPSET_PREFIX = "cdktf-xen-";

/** One `hash:net,iface` set: guest address (a /32) and its vif. */
export interface AddressSet {
  /** `cdktf-xen-` and a hash of the members: a set's name changes exactly when its members do. */
  readonly name: string;
  readonly members: readonly { readonly address: string; readonly vifname: string }[];
}

function addressSet(all: AddressSet["members"]): AddressSet {
  const seen = new Set<string>();
  const members = all.filter((m) => !seen.has(`${m.address},${m.vifname}`) && seen.add(`${m.address},${m.vifname}`));
  const hash = createHash("sha256");
  for (const m of members) hash.update(`${m.address},${m.vifname}\n`);
  return { name: IPSET_PREFIX + hash.digest("hex").slice(0, 16), members };
}

/**
 * The ipsets of the iptables backend: one per group of accepts that differ
 * only by guest (as nftables groups them), and one of the guests allowed
 * egress. Content-addressed names let a new ruleset and its sets go in beside
 * the live ones: the switch happens in the one iptables-restore transaction.
 */
export function addressSets(fw: FirewallModel): { accepts: { group: AcceptGroup; set: AddressSet }[]; egress?: AddressSet } {
  return {
    accepts: groupAccepts(fw.accepts).map((group) => ({ group, set: addressSet(group.members) })),
    ...(fw.egress.length ? { egress: addressSet(fw.egress) } : {}),
  };
}

/**
 * `/etc/iptables/ipsets` in `ipset restore` format, as ipset-persistent loads
 * it at boot (`ipset restore -exist`), before netfilter-persistent loads rules.v4.
 */
export function renderIpsets(fw: FirewallModel): string {
  const { accepts, egress } = addressSets(fw);
  const sets = [...accepts.map((a) => a.set), ...(egress ? [egress] : [])];
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const s of sets) {
    // Two groups with the same guests share one set.
    if (seen.has(s.name)) continue;
    seen.add(s.name);
    lines.push(`create ${s.name} hash:net,iface family inet hashsize 1024 maxelem 65536`, ...s.members.map((m) => `add ${s.name} ${m.address},${m.vifname}`));
  }
  return generatedHeader() + lines.join("\n") + (lines.length ? "\n" : "");
}
