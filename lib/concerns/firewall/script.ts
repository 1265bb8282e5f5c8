/**
 * The dom0's firewall program, `/usr/local/sbin/cdktf-xen-firewall`: the
 * shell source sh/cdktf-xen-firewall.sh with the configuration's values
 * before it.
 */
import { PENDING_SUFFIX } from "../../private/paths";
import { generatedHeader } from "../../render/header";
import { IPSET_PREFIX } from "../../render/ipset";
import { NFT_TABLE } from "../../render/nftables";
import { shellAssignments, shellSource } from "../../render/shell-source";

/** Where each backend's files live on the dom0. */
export interface FirewallPaths {
  /** The iptables ruleset, loaded at boot by netfilter-persistent. */
  readonly iptablesRules: string;
  /** The ip6tables ruleset, loaded at boot by netfilter-persistent. */
  readonly ip6tablesRules: string;
  /** The ipsets the iptables ruleset names, loaded at boot by ipset-persistent. */
  readonly ipsets: string;
  /** The nftables ruleset, loaded at boot where /etc/nftables.conf includes it. */
  readonly nftRules: string;
}

/** Firewall backends: iptables-restore (with ipsets from a threshold on), or one nftables table with sets. */
export type FirewallBackend = "iptables" | "nftables";

/** What the firewall script loads, and where it keeps its state. */
export interface FirewallScriptOptions {
  readonly backend: FirewallBackend;
  /**
   * iptables backend: the ruleset names ipsets, loaded from `paths.ipsets` first.
   * @default false
   */
  readonly sets?: boolean;
  readonly paths: FirewallPaths;
  readonly stateDir: string;
}

/** The files a configuration deploys, and the files of ours it retires (they belong to another configuration). */
export interface FirewallFiles {
  readonly rules: string;
  readonly rules6?: string;
  readonly sets?: string;
  /** The deployed files in the order `check` takes them: RULES [RULES6] [SETS]. */
  readonly checked: string[];
  readonly retired: string[];
}

export function firewallFiles(opts: Pick<FirewallScriptOptions, "backend" | "sets" | "paths">): FirewallFiles {
  if (opts.sets && opts.backend !== "iptables") throw new Error("ipsets go with the iptables backend only");
  const { iptablesRules, ip6tablesRules, ipsets, nftRules } = opts.paths;
  if (opts.backend === "nftables") return { rules: nftRules, checked: [nftRules], retired: [iptablesRules, ip6tablesRules, ipsets] };
  const rules = { rules: iptablesRules, rules6: ip6tablesRules };
  return opts.sets
    ? { ...rules, sets: ipsets, checked: [iptablesRules, ip6tablesRules, ipsets], retired: [nftRules] }
    : { ...rules, checked: [iptablesRules, ip6tablesRules], retired: [nftRules, ipsets] };
}

/**
 * `/usr/local/sbin/cdktf-xen-firewall` for one configuration: it checks a
 * ruleset, loads it in one transaction (iptables-restore, or nft -f: the
 * whole table or nothing), retires what another configuration left, and is
 * the deploy's dead-man switch (`try SECONDS`, `confirm`). What it does is
 * told in its source, sh/cdktf-xen-firewall.sh; this puts the values of the
 * configuration before it.
 */
export function renderFirewallScript(opts: FirewallScriptOptions): string {
  const files = firewallFiles(opts);
  const [family, table] = NFT_TABLE.split(" ");
  const values: [string, string][] = [
    ["backend", opts.backend],
    ["rules", files.rules],
    ["rules6", files.rules6 ?? ""],
    ["sets", files.sets ?? ""],
    ["iptables_rules", opts.paths.iptablesRules],
    ["ip6tables_rules", opts.paths.ip6tablesRules],
    ["ipsets_file", opts.paths.ipsets],
    ["nft_rules", opts.paths.nftRules],
    ["state", opts.stateDir],
    ["header", generatedHeader().trimEnd()],
    ["pending", PENDING_SUFFIX],
    ["ipset_prefix", IPSET_PREFIX],
    ["nft_family", family],
    ["nft_table", table],
  ];
  return `#!/bin/sh\n${generatedHeader()}${shellAssignments(values)}${shellSource(__dirname, "sh/cdktf-xen-firewall.sh")}\n`;
}
