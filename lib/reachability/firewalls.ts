/**
 * A host's firewalls as the model reads them: iptables' filter table (from
 * rules.v4, or what `iptables-save` printed) with the ipsets file, and
 * nftables rulesets (the library's `.nft` files and /etc/nftables.conf, or
 * what `nft list ruleset` printed). One reading for the dom0 and the guests,
 * and one verdict for a packet on each of a host's paths.
 */
import { filesMatching, globbed } from "./files-by-path";
import type { FirewallCommand } from "./ifupdown";
import { IpSets, IptablesFilter } from "./iptables";
import { FirewallPath, NftRuleset } from "./nftables";
import { doubtText, Outcome, Unreadable } from "./outcome";
import { bootStart, enablementShown, FIREWALL_UNITS } from "./boot-units";
import type { Cidr } from "./ip";
import type { FirewallVerdict, Packet, Ports } from "./packet";
import type { FileSet } from "./hosts";

/** What a host runs now, when captured: wins over its files. */
export interface FirewallsRunning {
  /** `iptables-save` output: the firewall loaded now, in place of /etc/iptables/rules.v4. */
  readonly iptablesSave?: string;
  /** `nft list ruleset` output: the ruleset loaded now, in place of the nftables files. */
  readonly nftRuleset?: string;
}

/** ufw's switch: `ENABLED=yes` loads its rules at boot. */
const UFW_CONF = "/etc/ufw/ufw.conf";

/** firewalld's configuration: there when it is installed, and then it loads its zones' rules when it starts. */
export const FIREWALLD_CONF = "/etc/firewalld/firewalld.conf";

/** nft's statement that removes every table: the first line of most rulesets meant to replace what runs. */
const FLUSH_RULESET = /^[ \t]*flush[ \t]+ruleset\b/m;

/** Where nft looks for an `include` named without a leading `/` (`nft --help`: "Default is: /etc"; nftables.service passes no -I). */
const NFT_INCLUDE_DIR = "/etc";

/** How deep nft follows includes (its MAX_INCLUDE_DEPTH). */
const NFT_INCLUDE_DEPTH = 16;

/** The ruleset nftables.service loads at boot. */
const NFTABLES_CONF = "/etc/nftables.conf";

const [NETFILTER_PERSISTENT, NFTABLES_SERVICE] = FIREWALL_UNITS;

/** netfilter-persistent's files: its iptables and ipset plugins load them at boot. */
const RULES_V4 = "/etc/iptables/rules.v4";
const IPSETS = "/etc/iptables/ipsets";

/** What loads the firewall at boot: netfilter-persistent's files, and nftables.service's. */
interface BootLoads {
  /** Whether netfilter-persistent loads rules.v4 and the ipsets file. */
  readonly persistent: boolean;
  /** The nftables files that load, before what they include. */
  readonly nft: [string, string][];
  readonly unreadable: Unreadable[];
}

/**
 * What loads at boot. netfilter-persistent.service loads rules.v4 and the
 * ipsets; nftables.service loads `/etc/nftables.conf` (with what it
 * includes); each when systemd starts it, as /etc/systemd/system shows, and
 * when the files do not show that, as if it did. Files that hold no
 * nftables.conf and do not show systemd's links (the files the library
 * ships) load the library's own `.nft` files, as the deploy does. The two
 * services start in no set order (their units name each other in no
 * `After=` or `Before=`), so an nftables.conf that flushes the ruleset beside
 * rules.v4 leaves unknown whether iptables' rules remain (unless rules.v4
 * holds none, and no policy but ACCEPT).
 */
function bootLoads(files: FileSet): BootLoads {
  const unreadable: Unreadable[] = [];
  const shown = enablementShown(files);
  const starts = (unit: string): boolean => {
    const b = bootStart(files, unit, shown);
    if (b && "unknown" in b) unreadable.push(b.unknown);
    return b === undefined || "unknown" in b || b.starts;
  };
  const persistent = starts(NETFILTER_PERSISTENT);
  const conf = files[NFTABLES_CONF];
  const nft: [string, string][] =
    conf === undefined ? (shown ? [] : filesMatching(files, (p) => /^\/etc\/cdktf-xen\/[^/]+\.nft$/.test(p))) : starts(NFTABLES_SERVICE) ? [[NFTABLES_CONF, conf]] : [];
  if (persistent && files[RULES_V4] !== undefined && !acceptsAll(files[RULES_V4]) && conf !== undefined && nft.length && FLUSH_RULESET.test(conf)) {
    const line = conf.split("\n").findIndex((l) => FLUSH_RULESET.test(l));
    const unknown = shown ? "" : " (whether each starts at boot is not known either: /etc/systemd/system is not among the files)";
    unreadable.push({ file: NFTABLES_CONF, line: line + 1, text: conf.split("\n")[line], why: `nftables.service and netfilter-persistent.service both load the firewall at boot, in no set order, and nftables.conf flushes the ruleset: if it runs second, iptables' rules from rules.v4 go with it (under iptables' nf_tables backend)${unknown}` });
  }
  return { persistent, nft, unreadable };
}

/** Whether an iptables-restore file holds no rule and no policy but ACCEPT: flushed or not, it decides nothing. */
function acceptsAll(text: string): boolean {
  return !/^-[AI][ \t]/m.test(text) && !/^:\S+[ \t]+(?!ACCEPT\b|-[ \t])\S/m.test(text);
}

/** The files an `include` names: as nft looks for them, whether a wildcard, and those the files hold (byte order, as glob(3) sorts in the C locale). */
function included(files: FileSet, written: string): { named: string; wildcard: boolean; found: string[] } {
  const named = written.startsWith("/") ? written : `${NFT_INCLUDE_DIR}/${written}`;
  const wildcard = /[*?[]/.test(named);
  return { named, wildcard, found: wildcard ? globbed(files, named) : files[named] === undefined ? [] : [named] };
}

/**
 * What the nftables files that load (at boot, and `loaded` by up lines)
 * include, theirs too: each `include` as an absolute path or wildcard (what a
 * copy of the host must hold for the model to read them), and the files of
 * `files` they name.
 */
export function nftIncludes(files: FileSet, loaded: readonly string[] = []): { readonly named: string[]; readonly found: string[] } {
  const named = new Set<string>();
  const found: string[] = [];
  const seen = new Set<string>();
  const queue = [...bootLoads(files).nft.map(([p]) => p), ...loaded.filter((p) => files[p] !== undefined)];
  while (queue.length) {
    const p = queue.shift()!;
    if (seen.has(p)) continue;
    seen.add(p);
    for (const inc of new NftRuleset(p, files[p]).includes) {
      const i = included(files, inc.path);
      named.add(i.named);
      for (const f of i.found) if (!found.includes(f)) found.push(f);
      queue.push(...i.found);
    }
  }
  return { named: [...named], found };
}

/** A table that two of the files loaded declare (or delete, or flush): nft merges them, or the later removes the earlier. */
function tablesInTwoFiles(rulesets: readonly NftRuleset[]): Unreadable[] {
  const first = new Map<string, string>();
  const out: Unreadable[] = [];
  for (const n of rulesets) {
    for (const t of n.tables) {
      const other = first.get(t.table);
      if (other === undefined) first.set(t.table, n.file);
      else if (other !== n.file) out.push({ file: n.file, line: t.line, text: "", why: `table ${t.table} is in ${other} too: nft adds to the table loaded before (or removes it), which the model does not read` });
    }
  }
  return out;
}

/** The iptables chain of each path. */
const CHAIN: Readonly<Record<FirewallPath, string>> = { forward: "FORWARD", input: "INPUT", output: "OUTPUT" };

export class Firewalls {
  readonly iptables?: { readonly filter: IptablesFilter; readonly sets: IpSets };
  readonly nft: NftRuleset[] = [];
  /** The lines of the firewalls' files the model cannot read: with one, no verdict is certain. */
  readonly unreadable: Unreadable[] = [];
  /** The files read as what loads (iptables-restore's, ipset's, then nft's, each with what it includes), or the captures of what runs now. */
  readonly read: string[] = [];

  /**
   * `others`: files elsewhere that may add rules when they run (a vif hook
   * of someone else's): lines the model cannot read, unless what runs now was
   * captured, which holds what they added. `commands`: what the interfaces
   * file's up lines load, in the order ifup runs them, after what loads at
   * boot (netfilter-persistent's rules.v4 and ipsets, nftables.conf); what
   * runs now, captured, holds the rules they loaded, not the sets.
   */
  constructor(files: FileSet, running: FirewallsRunning = {}, others: readonly Unreadable[] = [], commands: readonly FirewallCommand[] = []) {
    // What runs now wins over the files that load at the next boot.
    const live = running.iptablesSave !== undefined || running.nftRuleset !== undefined;
    // iptables-restore replaces each table its file holds: the filter table is the last one loaded.
    const restores: [string, string][] = [];
    // What loads at boot: netfilter-persistent's files, and nftables.conf, each when systemd starts its service.
    const boot = live ? undefined : bootLoads(files);
    if (boot) this.unreadable.push(...boot.unreadable);
    if (live) {
      if (running.iptablesSave !== undefined) restores.push(["iptables-save", running.iptablesSave]);
    } else if (boot!.persistent && files[RULES_V4] !== undefined) restores.push([RULES_V4, files[RULES_V4]]);
    // Each with whether anything was loaded before it (a `flush ruleset` in what it includes removes that).
    const nftFiles: [string, string, boolean][] = live
      ? running.nftRuleset !== undefined ? [["nft list ruleset", running.nftRuleset, false]] : []
      : boot!.nft.map(([p, t]) => [p, t, false]);
    const setFiles: [string, string][] = [];
    for (const c of commands) {
      const does = c.does;
      const text = "load" in does ? files[does.path] : undefined;
      // iptables-save shows the rules, not the sets they match: those come from the files, what runs now or not.
      if (live && !("load" in does && does.load === "ipset")) continue;
      if ("unread" in does) this.unreadable.push({ file: c.file, line: c.line, text: c.text, why: `${does.unread} (iptables-save or nft list ruleset, captured beside the copy, shows what runs)` });
      else if (text === undefined) this.unreadable.push({ file: c.file, line: c.line, text: c.text, why: `loads ${does.path}, which the files do not hold${live ? "" : " (iptables-save or nft list ruleset, captured beside the copy, shows what runs)"}` });
      else {
        // nft's `flush ruleset` removes every table loaded before, iptables' own under its nf_tables backend: which remain depends on that backend.
        if (does.load === "nft" && (restores.length || nftFiles.length) && FLUSH_RULESET.test(text)) this.unreadable.push({ file: c.file, line: c.line, text: c.text, why: `${does.path} flushes the ruleset, and with it what was loaded before (iptables' rules too, under its nf_tables backend): what remains is not read by the model (nft list ruleset, captured beside the copy, shows what runs)` });
        if (does.load === "nft") nftFiles.push([does.path, text, restores.length > 0 || nftFiles.length > 0]);
        else (does.load === "ipset" ? setFiles : restores).push([does.path, text]);
      }
    }
    for (const [file] of [...restores, ...setFiles]) this.read.push(file);
    if (restores.length) {
      const filters = restores.map(([file, text]) => new IptablesFilter(file, text));
      const filter = filters.filter((f) => f.hasFilter).pop() ?? filters[filters.length - 1];
      const sets = IpSets.read(IPSETS, (live || boot!.persistent ? files[IPSETS] : undefined) ?? "");
      for (const [file, text] of setFiles) sets.readFile(file, text);
      // The other tables of each file loaded: replaced by a later file that holds them, or not (unknown either way).
      this.unreadable.push(...filter.unreadable, ...filters.filter((f) => f !== filter).flatMap((f) => f.otherTables), ...sets.unreadable);
      this.iptables = { filter, sets };
    }
    for (const [path, text, before] of nftFiles) this.loadNft(files, path, text, before || this.nft.length > 0, 0);
    this.unreadable.push(...tablesInTwoFiles(this.nft));
    // ufw loads its own rules at boot (from /etc/ufw and /lib/ufw), in a form the model does not read; iptables-save shows them.
    const ufw = files[UFW_CONF];
    const enabled = ufw === undefined ? -1 : ufw.split("\n").findIndex((l) => /^\s*ENABLED\s*=\s*"?yes"?\s*$/i.test(l));
    if (!live && enabled >= 0) this.unreadable.push({ file: UFW_CONF, line: enabled + 1, text: ufw!.split("\n")[enabled], why: "ufw loads its own rules at boot, which the model does not read (iptables-save, captured beside the copy, shows them)" });
    // firewalld, installed, loads its zones' rules when it starts (unless it is switched off, which the files in /etc do not show for certain).
    if (!live && files[FIREWALLD_CONF] !== undefined) this.unreadable.push({ file: FIREWALLD_CONF, line: 0, text: "", why: "firewalld is installed: the rules of its zones, which it loads when it starts, are not read by the model (nft list ruleset, captured beside the copy, shows what runs)" });
    if (!live) this.unreadable.push(...others);
  }

  /**
   * One ruleset file as `nft -f` reads it, each file it includes read in
   * place (`before`: whether rules were loaded before it, which a `flush
   * ruleset` in what it includes would remove).
   */
  private loadNft(files: FileSet, path: string, text: string, before: boolean, depth: number): void {
    const nft = new NftRuleset(path, text);
    this.unreadable.push(...nft.unreadable);
    this.nft.push(nft);
    this.read.push(path);
    for (const inc of nft.includes) {
      const doubt = (why: string) => this.unreadable.push({ file: path, line: inc.line, text: inc.text, why });
      if (depth + 1 >= NFT_INCLUDE_DEPTH) {
        doubt(`includes nested too deep: nft refuses more than ${NFT_INCLUDE_DEPTH} levels`);
        continue;
      }
      const { named, wildcard, found } = included(files, inc.path);
      // A file that is not there fails the whole file; a wildcard that matches nothing includes nothing, or names files the copy lacks.
      if (!found.length) doubt(wildcard ? `includes ${named}, which matches none of the files: nft includes nothing then, unless the files lack what it matches` : `includes ${named}, which the files do not hold (nft fails to load ${path} without it)`);
      for (const p of found) {
        const included = files[p];
        const loaded = before || this.nft.length > 1 || nft.tables.some((t) => t.line < inc.line);
        if (loaded && FLUSH_RULESET.test(included)) doubt(`${p} flushes the ruleset, and with it what was loaded before: what remains is not read by the model`);
        this.loadNft(files, p, included, loaded, depth + 1);
      }
    }
  }

  /** Whether the files (or what runs now) hold a firewall at all, read or not. */
  get present(): boolean {
    return this.iptables !== undefined || this.nft.length > 0 || this.unreadable.length > 0;
  }

  /**
   * What the firewalls do with `p` on `path`, in words: iptables' chain of
   * the path, then each nftables filter chain on the path's hooks. A line the
   * model cannot read leaves it unknown whatever the others say: it may be a
   * rule before any it reads (an `-I` insert), or a nat table's rule that
   * sends the packet elsewhere. Else a drop in any one drops (and only the
   * firewalls that drop are named), and a rule that may match leaves it
   * unknown. `undecidedBy` names that line, else the first such rule. The
   * caller says what no firewall at all means.
   */
  verdict(path: FirewallPath, p: Packet): FirewallVerdict {
    const verdicts: FirewallVerdict[] = [];
    if (this.iptables) verdicts.push(this.iptables.filter.evaluate(CHAIN[path], p, this.iptables.sets));
    for (const n of this.nft) if (n.filters(path)) verdicts.push(n.evaluate(path, p));
    const text = verdicts.map((v) => v.text).join("; ");
    const unread = doubtText(this.unreadable);
    if (unread) return { outcome: "unknown", text: text ? `${text}; ${unread}` : unread, undecidedBy: unread };
    const drops = verdicts.filter((v) => v.outcome === "drop");
    if (drops.length) return { outcome: "drop", text: drops.map((v) => v.text).join("; ") };
    const undecided = verdicts.find((v): v is Extract<FirewallVerdict, { outcome: "unknown" }> => v.outcome === "unknown");
    return undecided ? { outcome: "unknown", text, undecidedBy: undecided.undecidedBy } : { outcome: "pass", text };
  }

  /** The source networks the rules on `path` compare packets with (iptables `-s` and sets on `src`, nftables `ip saddr`), negated or not. */
  sourcesNamed(path: FirewallPath): Cidr[] {
    const ipt = this.iptables;
    return [...(ipt ? ipt.filter.sourcesNamed(CHAIN[path], ipt.sets) : []), ...this.nft.flatMap((n) => n.sourcesNamed(path))];
  }

  /** The port ranges the rules on `path` compare a packet's destination or source port with, negated or not. */
  portsNamed(path: FirewallPath, which: "destination" | "source"): Ports["ranges"] {
    const ipt = this.iptables;
    return [...(ipt ? ipt.filter.portsNamed(CHAIN[path], which === "destination" ? "d" : "s") : []), ...this.nft.flatMap((n) => n.portsNamed(path, which === "destination" ? "dport" : "sport"))];
  }

  /** The outcome {@link verdict} gives, with nothing made per packet (the proof asks it of thousands of packets). */
  outcome(path: FirewallPath, p: Packet): Outcome {
    if (this.unreadable.length) return "unknown";
    let drop = false;
    let unknown = false;
    if (this.iptables) {
      const v = this.iptables.filter.evaluate(CHAIN[path], p, this.iptables.sets, false);
      drop ||= v.outcome === "drop";
      unknown ||= v.outcome === "unknown";
    }
    for (let i = 0; i < this.nft.length; i++) {
      if (!this.nft[i].filters(path)) continue;
      const v = this.nft[i].evaluate(path, p, false);
      drop ||= v.outcome === "drop";
      unknown ||= v.outcome === "unknown";
    }
    return drop ? "drop" : unknown ? "unknown" : "pass";
  }
}
