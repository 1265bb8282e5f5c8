/**
 * A host's routing as it runs now, from what iproute2 prints: addresses
 * (`ip -4 -o addr show`), every table's routes (`ip -4 route show table
 * all`) and the policy rules (`ip -4 rule show`). Read in place of the
 * boot-time files when a copy of a host carries them. What the model does
 * not read (multipath, unreachable routes, rules on marks) is reported, so
 * that what depends on it is unknown.
 */
import { ANY, Cidr, ipNum, parseCidr } from "./ip";
import { IpArgs } from "./ip-args";
import type { Unreadable } from "./outcome";
import { Routing, TABLE_NAMES } from "./routing";

/** What iproute2 printed on a running host. */
export interface LiveRoutingText {
  /** `ip -4 -o addr show`. */
  readonly addr: string;
  /** `ip -4 route show table all`. */
  readonly route: string;
  /** `ip -4 rule show`. */
  readonly rule: string;
}

/** The names of the capture files, for messages. */
export const LIVE_FILES = { addr: "ip-addr", route: "ip-route", rule: "ip-rule" } as const;

function tableOf(name: string | undefined, tables: Readonly<Record<string, number>>): number | undefined {
  if (name === undefined) return TABLE_NAMES.main;
  if (/^\d+$/.test(name)) return Number(name);
  return tables[name] ?? TABLE_NAMES[name];
}

/** Route types that carry no packet to an interface: the kernel's own (local, broadcast) are read from the addresses. */
const KERNEL_TYPES = new Set(["local", "broadcast", "anycast", "multicast"]);
/** Route keywords whose value the model does not need. */
const IGNORED = new Set(["proto", "scope", "linkdown", "onlink", "pref", "expires", "mtu", "advmss", "initcwnd", "realm", "rtt", "rttvar", "hoplimit", "error", "cache"]);
/** The rules every kernel starts with: priority to table. */
const KERNEL_RULES: Readonly<Record<number, number>> = { 0: TABLE_NAMES.local, 32766: TABLE_NAMES.main, 32767: TABLE_NAMES.default };
const FLAGS = new Set(["linkdown", "onlink", "dead", "pervasive", "offload", "trap"]);

/** Reads what iproute2 printed into a routing; `tables` names the host's tables (its rt_tables files). */
export function readLiveRouting(text: LiveRoutingText, tables: Readonly<Record<string, number>>): { routing: Routing; unreadable: Unreadable[] } {
  const routing = new Routing();
  const unreadable: Unreadable[] = [];
  const bad = (file: string, line: number, raw: string, why: string): void => {
    unreadable.push({ file, line, text: raw, why });
  };

  text.addr.split("\n").forEach((raw, i) => {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(raw);
    if (!m) return;
    const dev = m[1].split("@")[0];
    if (dev === "lo") return;
    // The prefix routes the kernel made are in the route listing, with any the host changed since.
    routing.addAddress({ address: ipNum(m[2])!, prefix: Number(m[3]), dev }, `${LIVE_FILES.addr} line ${i + 1}`, false);
  });

  const routeLines = text.route.split("\n");
  routeLines.forEach((raw, i): void => {
    const words = raw.trim().split(/\s+/).filter(Boolean);
    if (!words.length) return;
    // A multipath route: its first line, then one `nexthop` line per path.
    if (words[0] === "nexthop") return;
    if (routeLines[i + 1]?.trim().startsWith("nexthop")) return bad(LIVE_FILES.route, i + 1, raw, "a multipath route is not read by the model");
    const origin = `${LIVE_FILES.route} line ${i + 1}`;
    let at = 0;
    let type = "unicast";
    if (["unicast", "local", "broadcast", "anycast", "multicast", "unreachable", "blackhole", "prohibit", "throw", "nat"].includes(words[0])) type = words[at++];
    if (KERNEL_TYPES.has(type)) return;
    if (type !== "unicast") return bad(LIVE_FILES.route, i + 1, raw, `a ${type} route is not read by the model`);
    const dest: Cidr | undefined = words[at] === "default" ? ANY : parseCidr(words[at] ?? "");
    if (!dest) return bad(LIVE_FILES.route, i + 1, raw, "destination not read");
    const kv = new IpArgs();
    for (let j = at + 1; j < words.length; j++) {
      const k = words[j];
      if (FLAGS.has(k)) continue;
      if (!["via", "dev", "table", "src", "metric"].includes(k) && !IGNORED.has(k)) return bad(LIVE_FILES.route, i + 1, raw, `${k} is not read by the model`);
      const why = kv.take(words, j++);
      if (why !== undefined) return bad(LIVE_FILES.route, i + 1, raw, why);
    }
    const table = tableOf(kv.get("table"), tables);
    if (table === undefined) return bad(LIVE_FILES.route, i + 1, raw, `table ${kv.get("table")} has no number in the rt_tables files`);
    const dev = kv.get("dev");
    if (!dev) return bad(LIVE_FILES.route, i + 1, raw, "a route without dev is not read by the model");
    const via = kv.has("via") ? ipNum(kv.get("via")!) : undefined;
    const src = kv.has("src") ? ipNum(kv.get("src")!) : undefined;
    if ((kv.has("via") && via === undefined) || (kv.has("src") && src === undefined)) return bad(LIVE_FILES.route, i + 1, raw, "address not read");
    routing.addRoute(table, { dest, dev, via, src, metric: Number(kv.get("metric") ?? 0), origin });
    return undefined;
  });

  // The rules replace the kernel's three defaults: the listing holds them, or the host deleted them.
  routing.clearRules();
  text.rule.split("\n").forEach((raw, i): void => {
    const m = /^(\d+):\s+(.*)$/.exec(raw.trim());
    if (!m) return;
    const words = m[2].split(/\s+/);
    const kv = new IpArgs();
    for (let j = 0; j < words.length; j++) {
      const k = words[j];
      if (["from", "to", "lookup", "iif", "oif"].includes(k)) {
        const why = kv.take(words, j++);
        if (why !== undefined) return bad(LIVE_FILES.rule, i + 1, raw, why);
      }
      // Who added the rule (systemd-networkd's are `proto static`) does not change what it does.
      else if (k === "proto") j++;
      else if (k === "[detached]") continue;
      else return bad(LIVE_FILES.rule, i + 1, raw, `${k} is not read by the model`);
    }
    const from = !kv.has("from") || kv.get("from") === "all" ? ANY : parseCidr(kv.get("from")!);
    const to = !kv.has("to") || kv.get("to") === "all" ? ANY : parseCidr(kv.get("to")!);
    const table = tableOf(kv.get("lookup"), tables);
    if (!from || !to) return bad(LIVE_FILES.rule, i + 1, raw, "address not read");
    if (table === undefined || !kv.has("lookup")) return bad(LIVE_FILES.rule, i + 1, raw, kv.has("lookup") ? `table ${kv.get("lookup")} has no number in the rt_tables files` : "a rule without lookup is not read by the model");
    const priority = Number(m[1]);
    // The kernel's own three rules read as they do from the files: "main table", not a rule of the host's.
    const kernel = from.prefix === 0 && to.prefix === 0 && kv.size === 2 && KERNEL_RULES[priority] === table;
    routing.addRule({ priority, from, to, iif: kv.get("iif"), oif: kv.get("oif"), table, origin: kernel ? "the kernel" : `"${m[2].trim()}", ${LIVE_FILES.rule} line ${i + 1}` });
    return undefined;
  });
  return { routing, unreadable };
}
