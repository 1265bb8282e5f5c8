/**
 * netplan's YAML (`/etc/netplan/*.yaml`, networkd renderer), read as the
 * `.network` files `netplan generate` writes from it
 * (`/run/systemd/network/10-netplan-<id>.network`), for the part a routed
 * guest needs: addresses, routes in any table, routing policy. The files are
 * merged in name order, a later one overriding what an earlier one sets, as
 * netplan does. What the model does not read is reported.
 */
import { parse } from "yaml";
import { filesMatching } from "./files-by-path";
import type { Unreadable } from "./outcome";

/** The netplan files among a host's files, in the order netplan merges them. */
export function netplanFilesOf(files: Readonly<Record<string, string>>): [string, string][] {
  return filesMatching(files, (p) => /^\/etc\/netplan\/[^/]+\.yaml$/.test(p));
}

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === "object" && v !== null && !Array.isArray(v);

/** Deep merge, as netplan merges its files: maps key by key, anything else replaced. */
function merge(into: Yaml, from: Yaml): Yaml {
  const out: Yaml = { ...into };
  for (const [k, v] of Object.entries(from)) out[k] = isMap(v) && isMap(out[k]) ? merge(out[k] as Yaml, v) : v;
  return out;
}

const INTERFACE_KEYS = new Set(["addresses", "routes", "routing-policy", "match", "set-name", "gateway4", "dhcp4", "dhcp6", "link-local", "accept-ra", "nameservers", "optional", "renderer"]);
const ROUTE_KEYS: Readonly<Record<string, string>> = { to: "Destination", via: "Gateway", from: "PreferredSource", scope: "Scope", table: "Table", metric: "Metric", "on-link": "GatewayOnLink" };
const RULE_KEYS: Readonly<Record<string, string>> = { from: "From", to: "To", table: "Table", priority: "Priority" };

/** The `.network` files netplan would write for the guest's YAML, and what the model cannot read in it. */
export function netplanAsNetworkd(files: readonly [string, string][]): { networkd: [string, string][]; unreadable: Unreadable[] } {
  const unreadable: Unreadable[] = [];
  let doc: Yaml = {};
  for (const [path, text] of files) {
    const file = path.slice(path.lastIndexOf("/") + 1);
    try {
      const y: unknown = parse(text);
      if (isMap(y)) doc = merge(doc, y);
    } catch (e) {
      unreadable.push({ file, line: 0, text: "", why: `not YAML netplan can read: ${(e as Error).message.split("\n")[0]}` });
    }
  }
  const network = isMap(doc.network) ? doc.network : {};
  const where = files.map(([p]) => p.slice(p.lastIndexOf("/") + 1)).join(", ");
  const bad = (what: string, why: string) => unreadable.push({ file: where, line: 0, text: what, why });
  if (network.renderer !== undefined && network.renderer !== "networkd") bad("renderer", `renderer ${String(network.renderer)} is not read by the model`);
  for (const k of Object.keys(network)) if (!["version", "renderer", "ethernets"].includes(k)) bad(`network.${k}`, `${k} is not read by the model`);
  const networkd: [string, string][] = [];
  const ethernets = isMap(network.ethernets) ? network.ethernets : {};
  for (const [id, value] of Object.entries(ethernets)) {
    const e = isMap(value) ? value : {};
    for (const k of Object.keys(e)) if (!INTERFACE_KEYS.has(k)) bad(`ethernets.${id}.${k}`, `${k} is not read by the model`);
    const match = isMap(e.match) ? e.match : undefined;
    const name = typeof e["set-name"] === "string" ? e["set-name"] : typeof match?.name === "string" ? match.name : match ? undefined : id;
    const lines = ["[Match]", ...(name ? [`Name=${name}`] : []), ...(typeof match?.macaddress === "string" ? [`MACAddress=${match.macaddress}`] : []), "", "[Network]"];
    if (e.dhcp4 === true) bad(`ethernets.${id}.dhcp4`, "a DHCP address is not known from the files");
    for (const a of Array.isArray(e.addresses) ? e.addresses : []) lines.push(`Address=${String(a)}`);
    if (typeof e.gateway4 === "string") lines.push("", "[Route]", `Gateway=${e.gateway4}`);
    for (const r of Array.isArray(e.routes) ? e.routes : []) {
      if (!isMap(r)) continue;
      lines.push("", "[Route]");
      for (const [k, v] of Object.entries(r)) {
        if (!(k in ROUTE_KEYS)) bad(`ethernets.${id}.routes.${k}`, `route key ${k} is not read by the model`);
        else if (!(k === "to" && v === "default")) lines.push(`${ROUTE_KEYS[k]}=${String(v)}`);
      }
    }
    for (const r of Array.isArray(e["routing-policy"]) ? e["routing-policy"] : []) {
      if (!isMap(r)) continue;
      lines.push("", "[RoutingPolicyRule]");
      for (const [k, v] of Object.entries(r)) {
        if (!(k in RULE_KEYS)) bad(`ethernets.${id}.routing-policy.${k}`, `rule key ${k} is not read by the model`);
        else lines.push(`${RULE_KEYS[k]}=${String(v)}`);
      }
    }
    networkd.push([`/run/systemd/network/10-netplan-${id}.network`, `${lines.join("\n")}\n`]);
  }
  return { networkd, unreadable };
}
