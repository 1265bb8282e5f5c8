/**
 * A host's firewalls as the model reads them: iptables' filter table (from
 * rules.v4, or what `iptables-save` printed) with the ipsets file, and
 * nftables rulesets (the library's `.nft` files and /etc/nftables.conf, or
 * what `nft list ruleset` printed). One reading for the dom0 and the guests,
 * and one verdict for a packet on each of a host's paths.
 */
import { filesMatching } from "./files-by-path";
import { IpSets, IptablesFilter } from "./iptables";
import { FirewallPath, NftRuleset } from "./nftables";
import { doubtText, Outcome, Unreadable } from "./outcome";
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

/** The iptables chain of each path. */
const CHAIN: Readonly<Record<FirewallPath, string>> = { forward: "FORWARD", input: "INPUT", output: "OUTPUT" };

export class Firewalls {
  readonly iptables?: { readonly filter: IptablesFilter; readonly sets: IpSets };
  readonly nft: NftRuleset[] = [];
  /** The lines of the firewalls' files the model cannot read: with one, no verdict is certain. */
  readonly unreadable: Unreadable[] = [];

  /**
   * `others`: files elsewhere that may add rules when they run (a vif hook
   * of someone else's): lines the model cannot read, unless what runs now was
   * captured, which holds what they added.
   */
  constructor(files: FileSet, running: FirewallsRunning = {}, others: readonly Unreadable[] = []) {
    // What runs now wins over the files that load at the next boot.
    const live = running.iptablesSave !== undefined || running.nftRuleset !== undefined;
    const rules = live ? running.iptablesSave : files["/etc/iptables/rules.v4"];
    if (rules !== undefined) {
      const filter = new IptablesFilter(live ? "iptables-save" : "/etc/iptables/rules.v4", rules);
      // iptables-save shows the rules, not the sets they match: those come from the ipsets file.
      const sets = IpSets.read("/etc/iptables/ipsets", files["/etc/iptables/ipsets"] ?? "");
      this.unreadable.push(...filter.unreadable, ...sets.unreadable);
      this.iptables = { filter, sets };
    }
    const nftFiles: [string, string][] = live
      ? running.nftRuleset !== undefined ? [["nft list ruleset", running.nftRuleset]] : []
      : filesMatching(files, (p) => /^\/etc\/cdktf-xen\/[^/]+\.nft$/.test(p) || p === "/etc/nftables.conf");
    for (const [path, text] of nftFiles) {
      const nft = new NftRuleset(path, text);
      this.unreadable.push(...nft.unreadable);
      this.nft.push(nft);
    }
    // ufw loads its own rules at boot (from /etc/ufw and /lib/ufw), in a form the model does not read; iptables-save shows them.
    const ufw = files[UFW_CONF];
    const enabled = ufw === undefined ? -1 : ufw.split("\n").findIndex((l) => /^\s*ENABLED\s*=\s*"?yes"?\s*$/i.test(l));
    if (!live && enabled >= 0) this.unreadable.push({ file: UFW_CONF, line: enabled + 1, text: ufw!.split("\n")[enabled], why: "ufw loads its own rules at boot, which the model does not read (iptables-save, captured beside the copy, shows them)" });
    // firewalld, installed, loads its zones' rules when it starts (unless it is switched off, which the files in /etc do not show for certain).
    if (!live && files[FIREWALLD_CONF] !== undefined) this.unreadable.push({ file: FIREWALLD_CONF, line: 0, text: "", why: "firewalld is installed: the rules of its zones, which it loads when it starts, are not read by the model (nft list ruleset, captured beside the copy, shows what runs)" });
    if (!live) this.unreadable.push(...others);
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
