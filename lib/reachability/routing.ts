/**
 * A host's routing as the kernel keeps it: tables of routes (longest prefix,
 * then lowest metric, then the route added first), policy rules evaluated
 * by priority, local addresses per interface.
 */
import { ANY, Cidr, cidrText, inCidr, ipText } from "./ip";

export interface Route {
  readonly dest: Cidr;
  readonly dev: string;
  readonly via?: number;
  readonly src?: number;
  readonly metric: number;
  /** Where the route comes from, for the trace. */
  readonly origin: string;
}

export interface Rule {
  readonly priority: number;
  readonly from: Cidr;
  readonly to: Cidr;
  readonly iif?: string;
  readonly oif?: string;
  readonly table: number;
  readonly origin: string;
}

export interface Address {
  readonly address: number;
  readonly prefix: number;
  readonly dev: string;
}

/** The subnet of an address. */
function networkOfAddress(a: Address): Cidr {
  return { net: (a.address & (a.prefix === 0 ? 0 : (0xffffffff << (32 - a.prefix)) >>> 0)) >>> 0, prefix: a.prefix };
}

export const MAIN = 254;
export const LOCAL = 255;
export const DEFAULT_TABLE = 253;
/** Names iproute2 knows without rt_tables. */
export const TABLE_NAMES: Readonly<Record<string, number>> = { main: MAIN, local: LOCAL, default: DEFAULT_TABLE };

function tableText(t: number): string {
  return t === MAIN ? "main table" : t === LOCAL ? "local table" : t === DEFAULT_TABLE ? "default table" : `table ${t}`;
}

/** The route a lookup found, and how: its sentence is made when read. */
export class RouteChoice {
  constructor(
    readonly route: Route,
    readonly table: number,
    private readonly rule?: Rule,
    /** The routes of the table with the same destination, for "the first of N". */
    private readonly same: readonly Route[] = [],
  ) {}

  /** The other interfaces with a route as good as the one chosen: which comes first decides. */
  get rivals(): string[] {
    const { route } = this;
    return [...new Set(this.same.filter((r) => r.dest.net === route.dest.net && r.dest.prefix === route.dest.prefix && r.metric === route.metric && r.dev !== route.dev).map((r) => r.dev))];
  }

  /** e.g. `rule 1001 ("from 192.0.2.201 lookup 101", ...), table 101: 192.0.2.0/24 dev eth1 (...)`. */
  get how(): string {
    const { route, rule } = this;
    if (!rule) return `${ipText(route.dest.net)} is local (${route.origin})`;
    const byRule = rule.origin === "the kernel" ? tableText(rule.table) : `rule ${rule.priority} (${rule.origin}), ${tableText(rule.table)}`;
    const siblings = this.same.filter((r) => r.dest.net === route.dest.net && r.dest.prefix === route.dest.prefix && r.metric === route.metric);
    const first = siblings.length > 1 ? `, the first of ${siblings.length} routes to ${cidrText(route.dest)}` : "";
    return `${byRule}${first}: ${routeText(route)}`;
  }
}

export class Routing {
  readonly addresses: Address[] = [];
  /**
   * Why routes to one destination may have been added in any order (systemd-networkd configures
   * links in parallel), or undefined when the files give their order (ifupdown brings interfaces up in turn).
   */
  unorderedBecause?: string;
  /** The addresses by number (a dom0 holds its main IP on every vif). */
  private readonly byAddress = new Map<number, Address[]>();
  private readonly tables = new Map<number, Route[]>();
  /** /32 routes of the main table by address: a dom0 has one per guest address. */
  private readonly hostRoutes = new Map<number, Route[]>();
  /** The policy rules by priority, the kernel's three defaults among them. */
  private readonly ruleList: Rule[] = [
    { priority: 0, from: ANY, to: ANY, table: LOCAL, origin: "the kernel" },
    { priority: 32766, from: ANY, to: ANY, table: MAIN, origin: "the kernel" },
    { priority: 32767, from: ANY, to: ANY, table: DEFAULT_TABLE, origin: "the kernel" },
  ];

  /** The policy rules by priority (lowest first). */
  get rules(): readonly Rule[] {
    return this.ruleList;
  }

  /**
   * Adds an address and, as the kernel does, its prefix route (none for a /32)
   * after those already there; `prefixRoute` false when the routes are read
   * from a running host, which lists that route itself.
   */
  addAddress(a: Address, origin: string, prefixRoute = true): void {
    this.changed();
    // A further address in the subnet of one the interface holds is a secondary: the kernel adds no prefix route for it.
    const secondary = this.addresses.some((x) => x.dev === a.dev && x.prefix === a.prefix && inCidr(networkOfAddress(x), a.address));
    this.addresses.push(a);
    const same = this.byAddress.get(a.address);
    if (same) same.push(a);
    else this.byAddress.set(a.address, [a]);
    if (prefixRoute && !secondary && a.prefix < 32) {
      const net = { net: (a.address & (a.prefix === 0 ? 0 : (0xffffffff << (32 - a.prefix)) >>> 0)) >>> 0, prefix: a.prefix };
      this.addRoute(MAIN, { dest: net, dev: a.dev, src: a.address, metric: 0, origin });
    }
  }

  addRoute(table: number, given: Route): void {
    this.changed();
    // Every route with the same fields in the same order: lookups read them often.
    const r: Route = { dest: given.dest, dev: given.dev, via: given.via, src: given.src, metric: given.metric, origin: given.origin };
    if (table === MAIN && r.dest.prefix === 32) {
      const list = this.hostRoutes.get(r.dest.net) ?? [];
      list.push(r);
      this.hostRoutes.set(r.dest.net, list);
      return;
    }
    const list = this.tables.get(table) ?? [];
    list.push(r);
    this.tables.set(table, list);
  }

  /** Whether the table holds a route to `dest` with `metric`: the kernel refuses to add another (`ip route add` fails), whatever its interface. */
  hasRoute(table: number, dest: Cidr, metric: number): boolean {
    const list = table === MAIN && dest.prefix === 32 ? this.hostRoutes.get(dest.net) : this.tables.get(table);
    return (list ?? []).some((r) => r.dest.net === dest.net && r.dest.prefix === dest.prefix && r.metric === metric);
  }

  /** `ip route replace`: the route with the same destination and metric in the table is replaced, else added. */
  replaceRoute(table: number, r: Route): void {
    this.deleteRoute(table, r.dest, r.metric);
    this.addRoute(table, r);
  }

  deleteRoute(table: number, dest: Cidr, metric?: number): void {
    this.changed();
    const keep = (x: Route) => !(x.dest.net === dest.net && x.dest.prefix === dest.prefix && (metric === undefined || x.metric === metric));
    if (table === MAIN && dest.prefix === 32) {
      const list = (this.hostRoutes.get(dest.net) ?? []).filter(keep);
      if (list.length) this.hostRoutes.set(dest.net, list);
      else this.hostRoutes.delete(dest.net);
      return;
    }
    this.tables.set(table, (this.tables.get(table) ?? []).filter(keep));
  }

  flushTable(table: number): void {
    this.changed();
    this.tables.delete(table);
    if (table === MAIN) this.hostRoutes.clear();
  }

  addRule(r: Rule): void {
    this.changed();
    // Rules of equal priority keep the order they were added in.
    const at = this.ruleList.findIndex((x) => x.priority > r.priority);
    this.ruleList.splice(at < 0 ? this.ruleList.length : at, 0, r);
  }

  /** Removes every rule, the kernel's defaults too: a running host's listing holds all it keeps. */
  clearRules(): void {
    this.changed();
    this.ruleList.length = 0;
  }

  deleteRulesAt(priority: number): void {
    this.changed();
    for (let i = this.ruleList.length - 1; i >= 0; i--) if (this.ruleList[i].priority === priority && this.ruleList[i].origin !== "the kernel") this.ruleList.splice(i, 1);
  }

  /** Whether the main table has a default route. */
  hasDefaultRoute(): boolean {
    return (this.tables.get(MAIN) ?? []).some((r) => r.dest.prefix === 0);
  }

  /** Whether `dev` holds any address (is brought up with one). */
  hasAddressOn(dev: string): boolean {
    for (let i = 0; i < this.addresses.length; i++) if (this.addresses[i].dev === dev) return true;
    return false;
  }

  /** The interface holding `address`, if it is local. */
  localDev(address: number): string | undefined {
    return this.byAddress.get(address)?.[0].dev;
  }

  /** The address `address` as held on `dev`, if it is. */
  addressOn(address: number, dev: string): Address | undefined {
    return this.byAddress.get(address)?.find((a) => a.dev === dev);
  }

  /** The best route of one table for `dst`. */
  private best(table: number, dst: number): Route | undefined {
    const host = table === MAIN ? betterRoute(this.hostRoutes.get(dst), dst, undefined) : undefined;
    return betterRoute(this.tables.get(table), dst, host);
  }

  /**
   * The kernel's lookup of a packet to `dst` (from `src`, coming in by `iif`
   * or going out by `oif` when they are given): rules by priority (the local
   * table for local addresses first), then the first table that has a route.
   */
  lookup(dst: number, src?: number, iif?: string, oif?: string): RouteChoice | undefined {
    const rules = this.ruleList;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (src !== undefined ? !inCidr(rule.from, src) : rule.from.prefix > 0) continue;
      if (!inCidr(rule.to, dst)) continue;
      if (rule.iif !== undefined && rule.iif !== (iif ?? "lo")) continue;
      if (rule.oif !== undefined && rule.oif !== oif) continue;
      if (rule.table === LOCAL) {
        const dev = this.localDev(dst);
        if (!dev) continue;
        let local = this.localChoices.get(dst);
        if (!local) this.localChoices.set(dst, (local = new RouteChoice({ dest: { net: dst, prefix: 32 }, dev: "lo", metric: 0, origin: `on ${dev}` }, LOCAL)));
        return local;
      }
      const route = this.best(rule.table, dst);
      if (!route) continue;
      let byRoute = this.choices.get(rule);
      if (!byRoute) this.choices.set(rule, (byRoute = new Map()));
      let choice = byRoute.get(route);
      if (!choice) {
        const same = rule.table === MAIN && route.dest.prefix === 32 ? (this.hostRoutes.get(route.dest.net) ?? []) : (this.tables.get(rule.table) ?? []);
        byRoute.set(route, (choice = new RouteChoice(route, rule.table, rule, same)));
      }
      return choice;
    }
    return undefined;
  }

  /**
   * Choices already made, by rule and route, and for local addresses: the
   * same lookup answers with the same object (the proof makes thousands),
   * until the routing changes.
   */
  private readonly choices = new Map<Rule, Map<Route, RouteChoice>>();
  private readonly localChoices = new Map<number, RouteChoice>();

  private changed(): void {
    if (this.choices.size) this.choices.clear();
    if (this.localChoices.size) this.localChoices.clear();
  }
}

/** The best route of `list` for `dst` (longest prefix, then lowest metric, then the first added), if better than `best`. */
function betterRoute(list: readonly Route[] | undefined, dst: number, best: Route | undefined): Route | undefined {
  if (!list) return best;
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (!inCidr(r.dest, dst)) continue;
    if (!best || r.dest.prefix > best.dest.prefix || (r.dest.prefix === best.dest.prefix && r.metric < best.metric)) best = r;
  }
  return best;
}

export function routeText(r: Route): string {
  const dest = r.dest.prefix === 0 ? "default" : r.dest.prefix === 32 ? ipText(r.dest.net) : cidrText(r.dest);
  return `${dest}${r.via !== undefined ? ` via ${ipText(r.via)}` : ""} dev ${r.dev}${r.src !== undefined ? ` src ${ipText(r.src)}` : ""} (${r.origin})`;
}
