/**
 * A guest's network as ifupdown brings it up at boot (`ifup -a`): the
 * interfaces marked `auto` or `allow-hotplug` in the order they are named,
 * each one's address and prefix route, `gateway` as a default route, then
 * its `up`/`post-up` commands (`ip route`, `ip rule`) run in order. Commands
 * that load firewall rules (`iptables-restore`, `ipset restore`, `nft -f`)
 * change no route: they are the firewall's (firewalls.ts). The
 * files `source` and `source-directory` name are read in place, as
 * interfaces(5) says: a path without a leading slash from the directory of
 * the file that names it, shell wildcards, a directory's files whose names
 * are letters, digits, `_` and `-`, in byte order.
 */
import { ANY, Cidr, cidrText, ipNum, netmaskPrefix, parseCidr } from "./ip";
import { IpArgs } from "./ip-args";
import { rememberLast } from "./memo";
import { globbed } from "./files-by-path";
import type { FileSet } from "./hosts";
import type { Unreadable } from "./outcome";
import { MAIN, Routing, TABLE_NAMES } from "./routing";

interface Stanza {
  readonly name: string;
  readonly method: string;
  /** The file it is in (a sourced one, or the interfaces file), and its line there. */
  readonly file: string;
  readonly line: number;
  /** What follows the method on the iface line (`inherits base`). */
  readonly more: readonly string[];
  readonly options: { key: string; value: string; line: number; raw: string }[];
}

/** How deep `source` may nest before the model stops following it (ifupdown itself has no limit but the open files). */
const MAX_SOURCE_DEPTH = 16;

/** File names `source-directory` reads (interfaces(5)). */
const SOURCE_DIRECTORY_NAME = /^[a-zA-Z0-9_-]+$/;


/** `/etc/iproute2/rt_tables` and `rt_tables.d/*.conf`: table names. */
export function readRtTables(text: string, into: Record<string, number>): void {
  for (const [name, table] of rtTables("rt_tables", text)) into[name] = table;
}

const rtTables = rememberLast((_file: string, text: string): [string, number][] => {
  const out: [string, number][] = [];
  for (const m of text.matchAll(/^[ \t]*(\d+)[ \t]+(\S+)/gm)) out.push([m[2], Number(m[1])]);
  return out;
});

export class IfupdownConfig {
  /** The stanzas of each interface, in file order: ifup applies every one (interfaces(5): several addresses). */
  private readonly stanzas = new Map<string, Stanza[]>();
  /** Interfaces brought up at boot, in order. */
  readonly auto: string[] = [];
  readonly unreadable: Unreadable[] = [];

  /**
   * `file` and its text; `files`, the host's other files, for what `source`
   * and `source-directory` name (without them, those lines are not read).
   */
  constructor(readonly file: string, text: string, private readonly files?: FileSet) {
    this.read(file, text, 0);
  }

  /** Reads one file's stanzas, and those of the files it sources, in place. */
  private read(file: string, text: string, depth: number): void {
    let current: Stanza | undefined;
    const lines = (text.includes("\\\n") ? text.replace(/\\\n/g, " ") : text).split("\n");
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i];
      const line = raw.trim();
      if (!line || line.charCodeAt(0) === 35 /* # */) continue;
      const sp = firstSpace(line);
      const key = sp < 0 ? line : line.slice(0, sp);
      const value = sp < 0 ? "" : line.slice(sp + 1).trim();
      // Only the stanza keywords need their words; an option keeps its value whole.
      const rest = key === "auto" || key === "allow-auto" || key === "allow-hotplug" || key === "iface" ? value.split(/\s+/) : [];
      if (key === "auto" || key === "allow-auto" || key === "allow-hotplug") {
        for (const n of rest) if (!this.auto.includes(n)) this.auto.push(n);
        current = undefined;
      } else if (key === "iface") {
        current = { name: rest[0], method: rest[2] ?? "", more: rest.slice(3), file, line: i + 1, options: [] };
        if (rest[1] !== "inet") {
          current = undefined;
          continue;
        }
        const same = this.stanzas.get(rest[0]);
        if (same) same.push(current);
        else this.stanzas.set(rest[0], [current]);
      } else if (key === "source" || key === "source-directory") {
        current = undefined;
        const why = this.source(file, key, value, depth);
        if (why) this.unreadable.push({ file, line: i + 1, text: raw, why });
      } else if (key === "mapping") {
        this.unreadable.push({ file, line: i + 1, text: raw, why: `${key} is not read by the model` });
        current = undefined;
      } else if (current) {
        current.options.push({ key, value, line: i + 1, raw });
      }
    }
  }

  /** Reads what a `source` or `source-directory` line names; why it cannot, or nothing. */
  private source(file: string, key: string, value: string, depth: number): string | undefined {
    if (!this.files) return `${key} is not read by the model`;
    if (!value || /[$~`"'\\{]/.test(value) || /\s/.test(value)) return `${key} with shell expansion other than wildcards is not read by the model`;
    if (depth >= MAX_SOURCE_DEPTH) return `${key} nested deeper than the model follows`;
    const path = value.startsWith("/") ? value : `${file.slice(0, file.lastIndexOf("/") + 1)}${value}`;
    const named =
      key === "source"
        ? globbed(this.files, path)
        : globbed(this.files, `${path.replace(/\/+$/, "")}/*`).filter((p) => SOURCE_DIRECTORY_NAME.test(p.slice(p.lastIndexOf("/") + 1)));
    for (const p of named) this.read(p, this.files[p], depth + 1);
    return undefined;
  }

  /** Interface names this file configures. */
  get interfaces(): string[] {
    return [...this.stanzas.keys()];
  }

  /** Brings every boot-time interface up into `routing`; `present` says which interfaces the host has. */
  bringUp(routing: Routing, tables: Record<string, number>, present: (name: string) => boolean): void {
    if (this.firewall) throw new Error(`${this.file}: brought up twice`);
    this.firewall = [];
    for (const name of this.auto) {
      const all = this.stanzas.get(name);
      if (!all || name === "lo") continue;
      if (!present(name)) {
        this.unreadable.push({ file: all[0].file, line: all[0].line, text: `iface ${name}`, why: `the host has no interface ${name}: ifup fails for it` });
        continue;
      }
      for (const s of all) {
        const fileName = s.file.slice(s.file.lastIndexOf("/") + 1);
        const where = (line: number) => `${fileName} line ${line}`;
        const bad = (line: number, raw: string, why: string) => this.unreadable.push({ file: s.file, line, text: raw, why });
        this.bringUpStanza(s, name, routing, tables, present, where, bad);
      }
    }
  }

  /**
   * The commands of the stanzas ifup runs at boot that change the firewall
   * (see readFirewallCommand), in the order it runs them: interface by
   * interface, each stanza's `pre-up` lines, then its `up` and `post-up`
   * lines. `present` says which interfaces the host has (ifup fails for
   * another before it runs any). bringUp finds them as it runs the stanzas;
   * without it, they are brought up into routes of their own.
   */
  firewallCommands(present: (name: string) => boolean): FirewallCommand[] {
    if (!this.firewall) this.bringUp(new Routing(), {}, present);
    return this.firewall!;
  }

  /** The firewall commands bringUp found, once it has run (it runs once). */
  private firewall?: FirewallCommand[];

  /** One `iface` stanza of an interface that is there. */
  private bringUpStanza(
    s: Stanza,
    name: string,
    routing: Routing,
    tables: Record<string, number>,
    present: (name: string) => boolean,
    where: (line: number) => string,
    bad: (line: number, raw: string, why: string) => void,
  ): void {
    if (s.method === "dhcp") {
      bad(s.line, `iface ${name} inet dhcp`, "a DHCP address is not known from the files");
      return;
    }
    if (s.method !== "static" && s.method !== "manual") {
      bad(s.line, `iface ${name} inet ${s.method}`, `method ${s.method} is not read by the model`);
      return;
    }
    // `inherits`: ifup takes another stanza's options before this one's (its address and gateway first).
    if (s.more.length) bad(s.line, `iface ${name} inet ${s.method} ${s.more.join(" ")}`, `${s.more[0]} is not read by the model`);
    // An option ifup puts into its commands, given twice: it joins the values with a line break, and the command fails.
    const given = new Set<string>();
    for (const o of s.options) {
      if (!JOINED_OPTIONS.has(o.key)) continue;
      if (given.has(o.key)) bad(o.line, o.raw, `${o.key} given twice: ifup joins both values into one command, which fails`);
      given.add(o.key);
    }
    const opt = (k: string) => s.options.find((o) => o.key === k);
    const address = opt("address");
    if (s.method === "static") {
      if (!address) {
        bad(s.line, `iface ${name}`, "a static interface without an address");
        return;
      }
      const [addr, len] = address.value.split("/");
      const mask = opt("netmask");
      // A netmask wins over the address's own prefix (ifup gives ip address/netmask).
      const prefix = mask ? (netmaskPrefix(mask.value) ?? (/^\d+$/.test(mask.value) ? Number(mask.value) : NaN)) : len !== undefined ? Number(len) : 32;
      const n = ipNum(addr);
      if (n === undefined || !(prefix >= 0 && prefix <= 32)) {
        bad(address.line, address.raw, "address not read");
        return;
      }
      routing.addAddress({ address: n, prefix, dev: name }, `${where(address.line)}, the prefix route of ${name}`);
      // What ifup gives `ip address add` beside the address: a peer (no prefix route), a scope.
      for (const o of s.options) if (o.key === "pointopoint" || o.key === "scope") bad(o.line, o.raw, `${o.key} is not read by the model`);
      const gw = opt("gateway");
      // ifup gives the gateway's route the stanza's metric.
      const metric = opt("metric");
      const m = metric === undefined ? 0 : /^\d+$/.test(metric.value) ? Number(metric.value) : undefined;
      if (metric && m === undefined) bad(metric.line, metric.raw, "metric not read");
      if (gw) {
        const g = ipNum(gw.value);
        if (g === undefined) bad(gw.line, gw.raw, "gateway not read");
        // ifup adds it with `ip route add`, which the kernel refuses beside a default route of the same metric.
        else if (routing.hasRoute(MAIN, ANY, m ?? 0)) bad(gw.line, gw.raw, `a default route${m ? ` with metric ${m}` : ""} is in the main table already: ip fails, and ifup with it`);
        else routing.addRoute(MAIN, { dest: ANY, dev: name, via: g, metric: m ?? 0, origin: `${where(gw.line)}, gateway` });
      }
    }
    // ifup runs a stanza's pre-up commands first, its up and post-up commands once the address is added and the link up.
    const firewall = this.firewall!;
    let later: FirewallCommand[] | undefined;
    for (const o of s.options) {
      const pre = o.key === "pre-up";
      if (!pre && o.key !== "up" && o.key !== "post-up") continue;
      // An ip command of an up line is read (and changes the routes); one that is not may be the firewall's (firewallCommands), which changes none.
      const why = pre ? "a pre-up command is not read by the model" : runIp(o.value, { routing, tables, iface: name, present, origin: where(o.line) });
      if (why === undefined) continue;
      const does = readFirewallCommand(o.value);
      if (!does) bad(o.line, o.raw, why);
      else if (!("none" in does)) (pre ? firewall : (later ??= [])).push({ file: s.file, line: o.line, text: o.raw, does });
    }
    if (later) firewall.push(...later);
  }
}

/** The options of a stanza that ifup puts into the commands it runs (`address` aside: it takes the first). */
const JOINED_OPTIONS = new Set(["netmask", "gateway", "metric", "broadcast", "mtu", "hwaddress", "pointopoint", "scope"]);

/** Whether a character code is white space as ifupdown reads it (C's isspace). */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** Index of the first white space in `text`, or -1. */
function firstSpace(text: string): number {
  for (let i = 0; i < text.length; i++) if (isSpace(text.charCodeAt(i))) return i;
  return -1;
}

/** Where programs are run from: a bare name, or one of these directories. */
const PROGRAM_DIRS = new Set(["/sbin/", "/usr/sbin/", "/bin/", "/usr/bin/"]);

/** The program a command's first word runs, by name: "" for one run from elsewhere. */
function programName(word: string): string {
  const slash = word.lastIndexOf("/");
  return slash < 0 ? word : PROGRAM_DIRS.has(word.slice(0, slash + 1)) ? word.slice(slash + 1) : "";
}

/** A command without what only keeps its failure quiet: a trailing `|| true`, `2>/dev/null`. */
function withoutQuieting(cmd: string): string {
  let text = cmd;
  if (text.includes("||")) text = text.replace(/\s*\|\|\s*true\s*$/, "");
  if (text.includes("2>")) text = text.replace(/\s+2>\s*\/dev\/null/g, "");
  return text;
}

/** Words of an ip command (after `ip`, without `-4`), its redirections and `|| true` left out. */
function commandWords(cmd: string): string[] | undefined {
  const text = withoutQuieting(cmd);
  if (/[;&|`$<>()]/.test(text)) return undefined;
  // Scanned here: faster than String.split, which V8 does in its runtime for a string it has not seen.
  const words: string[] = [];
  let first: string | undefined;
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const space = i === text.length || isSpace(text.charCodeAt(i));
    if (space && start >= 0) {
      const w = text.slice(start, i);
      start = -1;
      if (first === undefined) first = w;
      else if (w !== "-4") words.push(w);
    } else if (!space && start < 0) start = i;
  }
  return first !== undefined && programName(first) === "ip" ? words : undefined;
}

/** A command of an interface's `pre-up`, `up` or `post-up` lines that changes the firewall and no route. */
export interface FirewallCommand {
  /** Where it is: the interfaces file (or one it sources), its line, and the line as written. */
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly does: Exclude<FirewallChange, { readonly none: string }>;
}

/**
 * What a firewall command does to the IPv4 firewall: loads the tables of an
 * iptables-restore file (each table the file holds replaces the one loaded
 * before), adds the sets of an ipset file, loads an nft file; or changes it
 * in a way the model does not read.
 */
export type FirewallChange =
  | { readonly load: "iptables-restore" | "ipset" | "nft"; readonly path: string }
  | { readonly unread: string }
  | { readonly none: string };

/** Programs that change the IPv4 firewall, by name (with their iptables-nft and iptables-legacy variants). */
const IPTABLES_RESTORE = new Set(["iptables-restore", "iptables-legacy-restore", "iptables-nft-restore"]);
const IPTABLES = new Set(["iptables", "iptables-legacy", "iptables-nft"]);
/** Programs that change the IPv6 firewall alone: nothing the model reads. */
const IPV6_ONLY = new Set(["ip6tables", "ip6tables-legacy", "ip6tables-nft", "ip6tables-restore", "ip6tables-legacy-restore", "ip6tables-nft-restore"]);
/** Options of iptables-restore that change what it prints, not what it loads. */
const RESTORE_QUIET = new Set(["-c", "--counters", "-w", "--wait", "-v", "--verbose"]);
/**
 * What an up line does to the IPv4 firewall, when it is a firewall command:
 * `iptables-restore [-c] [-w] < FILE` (or FILE as its argument), `ipset
 * restore [-exist] < FILE` (or `-file FILE`) and `nft -f FILE` load a file;
 * iptables, ipset and nft run otherwise change it in ways the model does not
 * read (`unread`); commands of the IPv6 firewall alone, and checks that load
 * nothing, change nothing the model reads (`none`). null for any other
 * command, and for these: an iptables rule of another table than filter
 * (nat, mangle: it may change where a packet goes), a line with shell
 * syntax beyond one `<` (its other parts may change anything).
 */
export function readFirewallCommand(cmd: string): FirewallChange | null {
  const line = cmd.trim();
  const sp = firstSpace(line);
  const program = programName(sp < 0 ? line : line.slice(0, sp));
  const restore = IPTABLES_RESTORE.has(program);
  if (!restore && !IPTABLES.has(program) && program !== "ipset" && program !== "nft" && !IPV6_ONLY.has(program)) return null;
  const text = withoutQuieting(line);
  if (/[;&|`$>()*?[\]{}'"\\]/.test(text) || (text.match(/</g) ?? []).length > 1) return null;
  if (IPV6_ONLY.has(program)) return { none: `${program} changes the IPv6 firewall alone` };
  const words = text.replace(/</, " < ").split(/\s+/).slice(1);
  const input = words.indexOf("<");
  const from = input < 0 ? undefined : words[input + 1];
  const args = input < 0 ? words : [...words.slice(0, input), ...words.slice(input + 2)];
  const file = (path: string | undefined, load: "iptables-restore" | "ipset" | "nft"): FirewallChange =>
    path === undefined ? { unread: `${program} with no file named is not read by the model` } : path.startsWith("/") ? { load, path } : { unread: `${path}: a path relative to where ifup runs is not read by the model` };
  if (restore) {
    const named: string[] = [];
    for (const a of args) {
      if (a === "-n" || a === "--noflush") return { unread: `${program} ${a} adds to the rules loaded before it, which the model does not read` };
      if (a === "-t" || a === "--test") return { none: `${program} ${a} loads nothing` };
      if (RESTORE_QUIET.has(a)) continue;
      if (a.startsWith("-")) return { unread: `${program} ${a} is not read by the model` };
      named.push(a);
    }
    if (named.length + (from === undefined ? 0 : 1) > 1) return { unread: `${program} given more than one file is not read by the model` };
    return file(from ?? named[0], "iptables-restore");
  }
  const sets = program === "ipset" ? args.filter((a) => a !== "-exist" && a !== "-!") : [];
  if (sets[0] === "restore") {
    const f = sets[1] === "-file" || sets[1] === "-f" ? sets[2] : undefined;
    if (sets.length !== (f === undefined ? 1 : 3) || (f !== undefined && from !== undefined)) return { unread: `ipset ${args.join(" ")} is not read by the model` };
    return file(f ?? from, "ipset");
  }
  if (program === "nft" && (args[0] === "-f" || args[0] === "--file") && args.length === 2 && from === undefined) return file(args[1], "nft");
  if (program === "nft" && (args.includes("-c") || args.includes("--check"))) return { none: `nft ${args.join(" ")} loads nothing` };
  // A rule of the nat or mangle table may send a packet elsewhere (a new address, a mark that ip rules route by): as any command, it may change routing.
  const t = args.findIndex((a) => a === "-t" || a === "--table");
  if (IPTABLES.has(program) && t >= 0 && args[t + 1] !== "filter") return null;
  return { unread: `${[program, ...args.slice(0, 1)].join(" ")} changes the firewall in a way the model does not read` };
}

/**
 * The files the firewall commands of a host's interfaces file load (and of
 * the files it sources), for any interface it brings up: what a copy of the
 * host must hold for the model to read its firewall.
 */
export function firewallFilesLoaded(files: FileSet): string[] {
  const text = files["/etc/network/interfaces"];
  if (text === undefined) return [];
  const commands = new IfupdownConfig("/etc/network/interfaces", text, files).firewallCommands(() => true);
  // Each once, in the order they are loaded.
  return [...new Set(commands.flatMap((c) => ("load" in c.does ? [c.does.path] : [])))];
}

function table(name: string | undefined, tables: Record<string, number>): number | undefined {
  if (name === undefined) return MAIN;
  if (/^\d+$/.test(name)) return Number(name);
  return tables[name] ?? TABLE_NAMES[name];
}

/** Keywords of `ip route` and `ip rule` that take a value. */
const IP_KEYS = new Set(["via", "dev", "src", "table", "lookup", "metric", "priority", "pref", "prio", "from", "to", "proto", "scope", "iif", "oif"]);

/**
 * The objects of `ip` the model reads, in the order of iproute2's own list:
 * `ip` takes the first object whose name the word begins (`ip a`, `ip ro`,
 * `ip ru`, `ip l`), and no object before these in its list begins with a
 * word that begins one of these (test/render/real-tools.test.ts asks `ip`).
 */
export const IP_OBJECTS = ["address", "route", "rule", "link"] as const;

/** The object of `ip` a word names, among those the model reads. */
export function ipObject(word: string): (typeof IP_OBJECTS)[number] | undefined {
  return word ? IP_OBJECTS.find((o) => o.startsWith(word)) : undefined;
}

/** Where an up line runs: the routing it changes, the table names, the interface of its stanza, which interfaces the host has, and the line, for the trace. */
interface UpLine {
  readonly routing: Routing;
  readonly tables: Record<string, number>;
  readonly iface: string;
  readonly present: (name: string) => boolean;
  readonly origin: string;
}

/**
 * Runs one `ip` command of an up line (`ip route`, `ip rule`, `ip address
 * add`, `ip link set ... up`); returns why it cannot be read, or nothing.
 * `while ip rule del priority P; do :; done` (delete every rule at P) is
 * read too.
 */
function runIp(cmd: string, on: UpLine): string | undefined {
  const { routing, tables, origin } = on;
  const loop = cmd.startsWith("while") ? /^while\s+(.+?);\s*do\s*:;\s*done$/.exec(cmd.trim()) : null;
  const w = commandWords(loop ? loop[1] : cmd);
  if (!w) return "a command the model does not read";
  const object = ipObject(w[0] ?? "");
  if (object === undefined) return `ip ${w[0] ?? ""} is not read by the model`;
  if (object === "address") return ipAddressAdd(w, on);
  if (object === "link") return ipLinkUp(w, on.iface);
  const verb = w[1];
  const kv = new IpArgs();
  let dest: string | undefined;
  for (let i = 2; i < w.length; i++) {
    const k = w[i];
    if (IP_KEYS.has(k)) {
      const why = kv.take(w, i++);
      if (why !== undefined) return why;
    } else if (k === "onlink") continue;
    else if (dest === undefined && object === "route") dest = k;
    else return `${k} is not read by the model`;
  }
  if (object === "route") {
    const t = table(kv.get("table"), tables);
    if (t === undefined) return `table ${kv.get("table")} has no number in the rt_tables files`;
    if (verb === "flush" && dest === undefined) {
      routing.flushTable(t);
      return undefined;
    }
    const d = dest === "default" ? ANY : parseCidr(dest ?? "");
    if (!d) return `destination ${dest} not read`;
    const metric = Number(kv.get("metric") ?? 0);
    if (verb === "del" || verb === "delete") {
      routing.deleteRoute(t, d, kv.has("metric") ? metric : undefined);
      return undefined;
    }
    const dev = kv.get("dev");
    const via = kv.has("via") ? ipNum(kv.get("via")!) : undefined;
    const src = kv.has("src") ? ipNum(kv.get("src")!) : undefined;
    if (!dev) return "a route without dev is not read by the model";
    if ((kv.has("via") && via === undefined) || (kv.has("src") && src === undefined)) return "address not read";
    const route = { dest: d, dev, via, src, metric, origin };
    if (verb === "add" && routing.hasRoute(t, d, metric)) return `a route to ${dest === "default" ? "default" : cidrText(d)}${metric ? ` with metric ${metric}` : ""} is in that table already: ip fails, and ifup with it`;
    if (verb === "add" || verb === "append") routing.addRoute(t, route);
    else if (verb === "replace" || verb === "change") routing.replaceRoute(t, route);
    else return `ip route ${verb} is not read by the model`;
    return undefined;
  }
  // An ip rule.
  const prioText = kv.get("priority") ?? kv.get("pref") ?? kv.get("prio");
  const priority = prioText === undefined ? undefined : Number(prioText);
  if (verb === "del" || verb === "delete") {
    if (priority === undefined || kv.size !== 1) return "only ip rule del priority P is read by the model";
    routing.deleteRulesAt(priority);
    return undefined;
  }
  if (verb !== "add") return `ip rule ${verb} is not read by the model`;
  const t = table(kv.get("lookup") ?? kv.get("table"), tables);
  if (t === undefined) return `table ${kv.get("lookup") ?? kv.get("table")} has no number in the rt_tables files`;
  const from: Cidr | undefined = kv.get("from") === undefined || kv.get("from") === "all" ? ANY : parseCidr(kv.get("from")!);
  const to: Cidr | undefined = kv.get("to") === undefined || kv.get("to") === "all" ? ANY : parseCidr(kv.get("to")!);
  if (!from || !to) return "address not read";
  // Without a priority the kernel takes one below the lowest user rule; the model does not guess it.
  if (priority === undefined) return "a rule without priority: the kernel picks one, the model does not";
  const text = cmd.replace(/^.*?ip\s+(-4\s+)?\S+\s+add\s+/, "").replace(/\s+2>.*$/, "");
  routing.addRule({ priority, from, to, iif: kv.get("iif"), oif: kv.get("oif"), table: t, origin: `"${text}", ${origin}` });
  return undefined;
}

/** Keywords of `ip address add` the model reads, each with a value. */
const ADDRESS_KEYS = new Set(["dev", "local", "broadcast", "brd"]);

/**
 * `ip address add ADDRESS[/PREFIX] dev DEV`, as the kernel takes it: the
 * address, and its prefix route unless `noprefixroute`; a broadcast address
 * changes neither. Returns why it cannot be read, or nothing.
 */
function ipAddressAdd(w: readonly string[], { routing, present, origin }: UpLine): string | undefined {
  if (w[1] !== "add") return `ip address ${w[1] ?? ""} is not read by the model`;
  const kv = new IpArgs();
  let local: string | undefined;
  let prefixRoute = true;
  for (let i = 2; i < w.length; i++) {
    const k = w[i];
    if (ADDRESS_KEYS.has(k)) {
      const why = kv.take(w, i++);
      if (why !== undefined) return why;
    } else if (k === "noprefixroute") prefixRoute = false;
    else if (local === undefined && /^[\d.]+(\/\d+)?$/.test(k)) local = k;
    else return `${k} is not read by the model`;
  }
  const text = kv.get("local") ?? local;
  if (kv.has("local") && local !== undefined) return "an address given twice is not read by the model";
  const brd = kv.get("broadcast") ?? kv.get("brd");
  if (brd !== undefined && brd !== "+" && brd !== "-" && ipNum(brd) === undefined) return `broadcast ${brd} not read`;
  const dev = kv.get("dev");
  if (text === undefined || dev === undefined) return "ip address add without an address and dev: ip refuses it";
  const slash = text.indexOf("/");
  const address = ipNum(slash < 0 ? text : text.slice(0, slash));
  const prefix = slash < 0 ? 32 : /^\d{1,2}$/.test(text.slice(slash + 1)) ? Number(text.slice(slash + 1)) : NaN;
  if (address === undefined || !(prefix <= 32)) return "address not read";
  if (!present(dev)) return `the host has no interface ${dev}: ip fails, and ifup with it`;
  if (routing.addressOn(address, dev)) return `${text.slice(0, slash < 0 ? undefined : slash)} is on ${dev} already: ip fails, and ifup with it`;
  routing.addAddress({ address, prefix, dev }, `${origin}, the prefix route of ${dev}`, prefixRoute);
  return undefined;
}

/** `ip link set [dev] DEV up` for the stanza's own interface: its link up, which ifup has done already; any other change of a link is not read. */
function ipLinkUp(w: readonly string[], iface: string): string | undefined {
  if (w[1] !== "set") return `ip link ${w[1] ?? ""} is not read by the model`;
  let dev: string | undefined;
  let up = false;
  for (let i = 2; i < w.length; i++) {
    if (w[i] === "up") up = true;
    else if (w[i] === "dev" && i + 1 < w.length && dev === undefined) dev = w[++i];
    else if (dev === undefined && w[i] !== "dev") dev = w[i];
    else return `ip link set ${w[i]} is not read by the model`;
  }
  if (dev !== undefined && dev !== iface) return `ip link set of ${dev}, not ${iface}, is not read by the model`;
  return dev !== undefined && up ? undefined : "ip link set without a link and up is not read by the model";
}
