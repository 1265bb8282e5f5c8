import type { FirewallModel, ForwardAcceptModel } from "../model";
import type { PortRange } from "../net/port";
import { compareIpv4 } from "../net/ipv4";
import { PENDING_SUFFIX } from "../paths";
import { generatedHeader } from "./header";
import { IPSET_PREFIX, addressSets } from "./ipset";

/** iptables' multiport match takes at most 15 ports; a range counts as two. */
const MULTIPORT_SLOTS = 15;

function portText(r: PortRange): string {
  return r.from === r.to ? `${r.from}` : `${r.from}:${r.to}`;
}

/** Splits ranges into groups that fit one multiport match each. */
export function multiportChunks(ranges: readonly PortRange[]): PortRange[][] {
  const chunks: PortRange[][] = [];
  let current: PortRange[] = [];
  let used = 0;
  for (const r of ranges) {
    const cost = r.from === r.to ? 1 : 2;
    if (used + cost > MULTIPORT_SLOTS) {
      chunks.push(current);
      current = [];
      used = 0;
    }
    current.push(r);
    used += cost;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

function portMatch(protocol: string, flag: "dports" | "sports", ranges: readonly PortRange[]): string {
  if (ranges.length === 1) return ` -m ${protocol} --${flag === "dports" ? "dport" : "sport"} ${portText(ranges[0])}`;
  return ` -m multiport --${flag} ${ranges.map(portText).join(",")}`;
}

/** What an accept matches besides the guest: protocol, source and ports. */
type AcceptMatch = Pick<ForwardAcceptModel, "protocol" | "source" | "ports" | "sourcePorts">;

/**
 * FORWARD ACCEPTs for one match, one per multiport chunk of ports. The guest
 * is matched by `guest` (after -s) or `guestAfterProtocol` (after -p), where
 * iptables-save prints it.
 */
function forwardAccepts(a: AcceptMatch, guest: string, guestAfterProtocol = ""): string[] {
  const out: string[] = [];
  const src = a.source === "0.0.0.0/0" ? "" : ` -s ${a.source}`;
  const sportChunks = a.sourcePorts.length ? multiportChunks(a.sourcePorts) : [[]];
  for (const dports of multiportChunks(a.ports)) {
    for (const sports of sportChunks) {
      const sp = sports.length ? portMatch(a.protocol, "sports", sports) : "";
      out.push(`-A FORWARD${src}${guest} -p ${a.protocol}${guestAfterProtocol}${sp}${portMatch(a.protocol, "dports", dports)} -j ACCEPT`);
    }
  }
  return out;
}

/** Canonical order of accepts: by address, interface, protocol, source. */
export function compareAccepts(a: ForwardAcceptModel, b: ForwardAcceptModel): number {
  return (
    compareIpv4(a.address, b.address) ||
    a.vifname.localeCompare(b.vifname) ||
    a.protocol.localeCompare(b.protocol) ||
    compareIpv4(a.source, b.source) ||
    JSON.stringify(a.sourcePorts).localeCompare(JSON.stringify(b.sourcePorts))
  );
}

/** Accepts matched through ipsets: one rule per group (and port chunk), not per address. */
function setRules(fw: FirewallModel): string[] {
  const { accepts, egress } = addressSets(fw);
  return [
    ...accepts.flatMap(({ group, set }) => forwardAccepts(group, "", ` -m set --match-set ${set.name} dst,dst`)),
    ...(egress ? [`-A FORWARD -m set --match-set ${egress.name} src,src -j ACCEPT`] : []),
  ];
}

/** The start of both filter tables (IPv4 and IPv6): policies, loopback, conntrack. */
function filterHead(fw: FirewallModel): string[] {
  return [
    "*filter",
    `:INPUT ${fw.inputPolicy} [0:0]`,
    `:FORWARD ${fw.forwardPolicy} [0:0]`,
    ":OUTPUT ACCEPT [0:0]",
    "-A INPUT -i lo -j ACCEPT",
    "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A INPUT -m conntrack --ctstate INVALID -j DROP",
  ];
}

/**
 * The dom0's filter table in iptables-restore format, loaded in one
 * transaction, in the canonical form iptables-save prints (so a saved live
 * ruleset diffs cleanly against it). Conntrack first; then the accepts,
 * bound to each guest's vif (`-o`) and address (`-d`); everything else meets
 * the policy. Without `sets`, one rule per guest address; with `sets`, guests
 * are matched through the ipsets of {@link renderIpsets} (`dst,dst`: address
 * and outgoing vif), so a new connection costs one lookup per rule however
 * many addresses there are.
 */
export function renderIptablesRules(fw: FirewallModel, opts: { readonly sets?: boolean } = {}): string {
  const lines = [
    ...filterHead(fw),
    "-A INPUT -p icmp -j ACCEPT",
    ...fw.managementCidrs.map(
      (c) => `-A INPUT${c === "0.0.0.0/0" ? "" : ` -s ${c}`} -p tcp -m tcp --dport ${fw.sshPort} -j ACCEPT`,
    ),
    "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A FORWARD -m conntrack --ctstate INVALID -j DROP",
    ...(opts.sets
      ? setRules(fw)
      : [
          ...[...fw.accepts].sort(compareAccepts).flatMap((a) => forwardAccepts(a, ` -d ${a.address}/32 -o ${a.vifname}`)),
          ...fw.egress.map((e) => `-A FORWARD -s ${e.address}/32 -i ${e.vifname} -j ACCEPT`),
        ]),
    "COMMIT",
  ];
  return generatedHeader() + lines.join("\n") + "\n";
}

/**
 * The dom0's IPv6 filter table: the same policies, nothing opened. Guests are
 * routed over IPv4 only and management networks are IPv4, so IPv6 gets
 * loopback, replies to what the dom0 itself started, and ICMPv6 (neighbour
 * discovery and path MTU); without it, a dom0 with a SLAAC address would
 * accept SSH over IPv6 from anywhere, whatever `managementCidrs` say.
 */
export function renderIp6tablesRules(fw: FirewallModel): string {
  const lines = [
    ...filterHead(fw),
    "-A INPUT -p ipv6-icmp -j ACCEPT",
    "COMMIT",
  ];
  return generatedHeader() + lines.join("\n") + "\n";
}

/** What ipset-persistent installs: netfilter-persistent's plugin that loads /etc/iptables/ipsets at boot. */
const IPSET_BOOT_PLUGIN = "/usr/share/netfilter-persistent/plugins.d/10-ipset";
/** What iptables-persistent installs: netfilter-persistent's plugins that load /etc/iptables/rules.v4 and rules.v6 at boot. */
const IPTABLES_BOOT_PLUGINS = ["/usr/share/netfilter-persistent/plugins.d/15-ip4tables", "/usr/share/netfilter-persistent/plugins.d/25-ip6tables"];
/** What Debian's nftables service loads at boot. */
const NFT_BOOT_CONFIG = "/etc/nftables.conf";

/** The nftables table of the nftables backend. */
const NFT_TABLE = "inet cdktf_xen";

/**
 * Both backends' commands, in every script: the configured backend checks,
 * commits, saves and restores with its own; the other one's retire what an
 * earlier configuration left. `iptables_check RULES RULES6 [SETS]` changes nothing
 * a packet meets: it may only create ipsets under names no rule uses yet,
 * and removes them again when the ruleset is refused. A check refuses an
 * iptables ruleset that nothing would load at boot (a dom0 that reboots
 * would come up open), and warns of an nftables one the boot config does not
 * name. A save is a file that puts the live state back when restored: for
 * nftables, our table whole (or its absence); for iptables, the filter table
 * and our ipsets.
 */
function backendCommands(paths: FirewallPaths): string[] {
  return [
    "# iptables. Our ipsets that no rule uses go: the kernel refuses to destroy a set in use.",
    "iptables_prune() {",
    "  if command -v ipset >/dev/null 2>&1; then",
    `    ipset list -n | while read -r s; do case $s in ${IPSET_PREFIX}*) ipset destroy "$s" 2>/dev/null || true ;; esac; done`,
    "  fi",
    "}",
    "# Rules come on stdin: --wait takes an optional argument and would swallow a file name.",
    "# Our ipsets are named by their content: one that exists already is the same set (-exist).",
    "# RULES RULES6 [SETS]",
    "iptables_check() {",
    '  if [ $# -gt 2 ]; then',
    `    command -v ipset >/dev/null 2>&1 || { echo "cdktf-xen-firewall: ipset not found: install ipset and ipset-persistent" >&2; return 1; }`,
    "    # netfilter-persistent loads rules.v4 at boot; without the sets it names, the whole ruleset would fail to load.",
    `    [ -e ${IPSET_BOOT_PLUGIN} ] || { echo "cdktf-xen-firewall: ipset-persistent not found: install it, or the ruleset, which uses ipsets, does not load at boot" >&2; return 1; }`,
    '    ipset -exist restore < "$3" || { iptables_prune; return 1; }',
    "  fi",
    "  # A ruleset gone after a reboot leaves the dom0 open: refuse one that nothing loads at boot.",
    `  for p in ${IPTABLES_BOOT_PLUGINS.join(" ")}; do`,
    '    [ -e "$p" ] || { echo "cdktf-xen-firewall: iptables-persistent not found: install it, or rules.v4 and rules.v6 do not load at boot and the dom0 boots without this firewall" >&2; iptables_prune; return 1; }',
    "  done",
    '  iptables-restore --test < "$1" || { iptables_prune; return 1; }',
    '  ip6tables-restore --test < "$2" || { iptables_prune; return 1; }',
    "}",
    "# RULES RULES6: IPv4 first, then IPv6; a failure stops the load, and try's caller puts the previous ruleset back.",
    'iptables_commit() { iptables-restore --wait 10 < "$1" && ip6tables-restore --wait 10 < "$2" && iptables_prune; }',
    "# SAVE SAVE6 SETS: the live filter tables, and our live ipsets.",
    "iptables_save() {",
    '  iptables-save -t filter > "$1"',
    '  ip6tables-save -t filter > "$2"',
    '  : > "$3"',
    "  if command -v ipset >/dev/null 2>&1; then",
    '    ipset save > "$state/firewall.all-sets"',
    `    sed -n '/^[a-z]* ${IPSET_PREFIX}/p' "$state/firewall.all-sets" > "$3"`,
    '    rm -f "$state/firewall.all-sets"',
    "  fi",
    "}",
    "iptables_restore() {",
    '  if [ -s "$3" ]; then ipset -exist restore < "$3"; fi',
    '  iptables_commit "$1" "$2"',
    "}",
    "# nftables: our table, replaced whole. A saved table replaces ours when loaded; with no table before, loading it removes ours.",
    "nftables_check() {",
    '  nft -c -f "$1" || return 1',
    `  # Debian's nftables service loads ${NFT_BOOT_CONFIG} at boot; it cannot be told for sure, so warn only.`,
    `  grep -qsF ${paths.nftRules} ${NFT_BOOT_CONFIG} || echo "cdktf-xen-firewall: warning: ${NFT_BOOT_CONFIG} does not name ${paths.nftRules}: this firewall is not loaded at boot" >&2`,
    "}",
    'nftables_commit() { nft -f "$1"; }',
    `nftables_save() { { echo "table ${NFT_TABLE}"; echo "delete table ${NFT_TABLE}"; nft list table ${NFT_TABLE} 2>/dev/null || true; } > "$1"; }`,
    'nftables_restore() { nftables_commit "$1"; }',
  ];
}

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
 * How another configuration's ruleset goes, once the new one is loaded, and
 * only if its files are ours (our header in their first lines): live at
 * once (`retire_live`: the iptables filter tables emptied, policies ACCEPT,
 * as the nftables table now filters; or the nftables table deleted), on
 * disk only once the new ruleset is confirmed (`retire_files`: the iptables
 * files and our ipsets removed; the nftables file left loading nothing, so
 * that an include of it in /etc/nftables.conf still loads). Before that,
 * `try` saves what they loaded, for a rollback.
 */
function retirement(opts: FirewallScriptOptions, retired: readonly string[]): string[] {
  const { iptablesRules, ip6tablesRules, ipsets, nftRules } = opts.paths;
  // What the retired files loaded belongs to the other backend.
  const retiringIptables = opts.backend === "nftables";
  const emptyFilter = "printf '*filter\\n:INPUT ACCEPT [0:0]\\n:FORWARD ACCEPT [0:0]\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n'";
  const unused = "# Not in use: this dom0 has the iptables firewall backend. Including this file loads nothing.";
  const setsRetired = retired.includes(ipsets);
  return [
    "retire_live() {",
    ...(retiringIptables
      ? [
          `  if ours ${iptablesRules}; then ${emptyFilter} | iptables-restore --wait 10 || return 1; fi`,
          `  if ours ${ip6tablesRules}; then ${emptyFilter} | ip6tables-restore --wait 10 || return 1; fi`,
        ]
      : [`  if ours ${nftRules} && command -v nft >/dev/null 2>&1 && nft list table ${NFT_TABLE} >/dev/null 2>&1; then nft delete table ${NFT_TABLE} || return 1; fi`]),
    ...(setsRetired ? [`  if ours ${ipsets}; then iptables_prune; fi`] : []),
    "}",
    "retire_files() {",
    ...(retiringIptables
      ? [`  for f in ${iptablesRules} ${ip6tablesRules}; do if ours "$f"; then rm -f "$f"; fi; done`]
      : [`  if ours ${nftRules}; then rm -f ${nftRules}.cdktf-xen.new; printf '%s\\n' "$header" '${unused}' > ${nftRules}.cdktf-xen.new && mv -f ${nftRules}.cdktf-xen.new ${nftRules}; fi`]),
    ...(setsRetired ? [`  if ours ${ipsets}; then rm -f ${ipsets}; fi`] : []),
    "}",
    retiringIptables
      ? `save_retired() { if ours ${iptablesRules} || ours ${ip6tablesRules} || ours ${ipsets}; then iptables_save "$state/firewall.retired" "$state/firewall.retired6" "$state/firewall.retired-sets"; fi; }`
      : `save_retired() { if ours ${nftRules} && command -v nft >/dev/null 2>&1; then nftables_save "$state/firewall.retired"; fi; }`,
    retiringIptables
      ? 'restore_retired() { if [ -e "$state/firewall.retired" ]; then iptables_restore "$state/firewall.retired" "$state/firewall.retired6" "$state/firewall.retired-sets"; fi; }'
      : 'restore_retired() { if [ -e "$state/firewall.retired" ]; then nftables_restore "$state/firewall.retired"; fi; }',
  ];
}

/**
 * `/usr/local/sbin/cdktf-xen-firewall`: checks a ruleset, then loads it in
 * one transaction (iptables-restore, or nft -f: the whole table or nothing),
 * then retires what another configuration left (the other backend's
 * ruleset; ipsets no longer used). The deploy step runs the staged script's
 * `check` on the staged files.
 *
 * The files at the places boot loads them from are always a confirmed
 * ruleset. The deploy step puts the new ones beside them, as
 * `<path>.cdktf-xen.pending`. `try SECONDS`, the deploy's dead-man switch,
 * saves the live ruleset (our live ipsets, and what the retired files
 * loaded), loads the pending one and starts a detached watchdog that puts
 * the saved state and the previous script back after SECONDS, and removes
 * the pending files, unless `confirm` runs first, from a fresh SSH
 * connection that proves management access survived. `confirm` renames the
 * pending files into place: ipsets first as the union of the old and the
 * new sets, so that whichever of the files a power cut finds renamed,
 * what boot loads fits together. The decision is taken once, by whoever
 * creates `firewall.decided` first.
 */
export function renderFirewallScript(opts: FirewallScriptOptions): string {
  const files = firewallFiles(opts);
  const b = opts.backend;
  const deployed = ['"$rules"', ...(files.rules6 ? ['"$rules6"'] : []), ...(files.sets ? ['"$sets"'] : [])];
  /** `"$rules"` -> `"$rules.cdktf-xen.pending"`: where the deploy step put the file. */
  const pendingOf = (f: string) => `${f.slice(0, -1)}${PENDING_SUFFIX}"`;
  const pending = deployed.map(pendingOf);
  // The sets go last: until rules.v4 is in place, boot loads the union of old and new (union_sets).
  const placed = [...deployed.filter((f) => f !== '"$sets"'), ...(files.sets ? ['"$sets"'] : [])];
  const saves = b === "iptables" ? '"$state/firewall.previous" "$state/firewall.previous6" "$state/firewall.previous-sets"' : '"$state/firewall.previous"';
  const kept = '"$state/firewall.previous-files/${f##*/}"';
  const checkArgs = b === "iptables" ? "RULES RULES6 [SETS]" : "RULES";
  return [
    "#!/bin/sh",
    generatedHeader().trimEnd(),
    "# Usage: cdktf-xen-firewall [load]              check, then load the ruleset in place, each file in one transaction",
    `#        cdktf-xen-firewall check ${checkArgs}`,
    "#                                               check a ruleset without loading it",
    `#        cdktf-xen-firewall try SECONDS         load the pending ruleset (<file>${PENDING_SUFFIX});`,
    "#                                               put the previous one back after SECONDS unless confirmed",
    "#        cdktf-xen-firewall confirm             keep what the last try loaded: its files go in place",
    "set -eu",
    `rules=${files.rules}`,
    ...(files.rules6 ? [`rules6=${files.rules6}`] : []),
    ...(files.sets ? [`sets=${files.sets}`] : []),
    `state=${opts.stateDir}`,
    `header='${generatedHeader().trimEnd()}'`,
    "# A file is ours when our header is its first line, or its second after a #! line.",
    'ours() { [ -f "$1" ] && head -n 2 "$1" | grep -qxF "$header"; }',
    ...backendCommands(opts.paths),
    `# The ${b} backend.`,
    `check() { ${b}_check "$@"; }`,
    `commit() { ${b}_commit "$@"; }`,
    `save() { ${b}_save ${saves}; }`,
    `restore() { ${b}_restore ${saves}; }`,
    "# Ours from another configuration, not deployed by this one: after a load they go, with what they loaded.",
    ...retirement(opts, files.retired),
    'load() { check "$@" && commit "$@" && retire_live; }',
    "# FILE TARGET: a copy beside TARGET, on disk, then renamed over it (never written through a link).",
    'place() { rm -f "$2.cdktf-xen.new"; cp -p "$1" "$2.cdktf-xen.new" && sync "$2.cdktf-xen.new" && mv -f "$2.cdktf-xen.new" "$2"; }',
    ...(files.sets
      ? [
          "# The sets boot loads (ipset restore -exist) name both the old rules and the new ones until rules.v4 is in place.",
          'union_sets() { rm -f "$sets.cdktf-xen.new"; { if [ -f "$sets" ]; then cat "$sets"; fi; cat "$sets' + PENDING_SUFFIX + '"; } > "$sets.cdktf-xen.new" && sync "$sets.cdktf-xen.new" && mv -f "$sets.cdktf-xen.new" "$sets"; }',
        ]
      : []),
    "# The script as it was before the deploy step replaced it (the step's backup); back by rename: a running script keeps reading the file it opened.",
    `keep_previous() { for f in "$@"; do if [ -e "$f.cdktf-xen.bak" ]; then cp -p "$f.cdktf-xen.bak" ${kept}; fi; done; }`,
    `put_back_kept() { for f in "$@"; do if [ -e ${kept} ]; then rm -f "$f.cdktf-xen.new"; cp -p ${kept} "$f.cdktf-xen.new" && mv -f "$f.cdktf-xen.new" "$f"; fi; done; }`,
    "# Ends the watchdog of an earlier try, and nothing else: after a reboot its number may be any process's.",
    "stop_watchdog() {",
    '  if [ -s "$state/firewall.watchdog.pid" ]; then',
    '    pid=$(cat "$state/firewall.watchdog.pid")',
    `    if tr '\\000' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$0 watchdog "; then kill -s TERM -- "-$pid" 2>/dev/null || true; fi`,
    "  fi",
    '  rm -f "$state/firewall.watchdog.pid"',
    "}",
    'case "${1:-load}" in',
    "  load)",
    `    load ${deployed.join(" ")}`,
    "    retire_files",
    "    ;;",
    "  check)",
    "    shift",
    '    : "${1:?rules}"',
    '    check "$@"',
    "    ;;",
    "  try)",
    '    seconds=${2:?seconds}',
    '    mkdir -p "$state"',
    "    # An earlier try still waiting for confirmation is superseded: its watchdog ends here.",
    "    stop_watchdog",
    '    rm -rf "$state/firewall.decided" "$state/firewall.previous-files" "$state/firewall.retired" "$state/firewall.retired6" "$state/firewall.retired-sets"',
    `    if [ ! -e ${pending[0]} ]; then`,
    `      echo "cdktf-xen-firewall: no ruleset waits beside $rules (${PENDING_SUFFIX}): nothing to try" >&2`,
    "      exit 0",
    "    fi",
    '    mkdir "$state/firewall.previous-files"',
    "    save",
    "    save_retired",
    '    keep_previous "$0"',
    `    if ! load ${pending.join(" ")}; then`,
    "      # Loaded in part (IPv4 in, IPv6 refused) or not retired whole: the saved state comes back at once.",
    '      echo "cdktf-xen-firewall: the new ruleset did not load; putting the previous one back" >&2',
    "      restore_retired",
    "      restore",
    `      rm -f ${pending.join(" ")}`,
    "      exit 1",
    "    fi",
    "    # setsid makes the watchdog a process group leader: confirm ends the group.",
    '    nohup setsid sh "$0" watchdog "$seconds" >/dev/null 2>&1 </dev/null &',
    '    echo "$!" > "$state/firewall.watchdog.pid"',
    "    ;;",
    "  watchdog)",
    '    sleep "${2:?seconds}"',
    "    # Never in the middle of a deploy step on this host: wait for the steps' lock.",
    '    exec 9>"$state/lock"',
    "    flock -w 600 9 || true",
    '    if mkdir "$state/firewall.decided" 2>/dev/null; then',
    "      # What the retired files loaded first: the dom0 is never left without a ruleset.",
    "      restore_retired",
    "      restore",
    '      put_back_kept "$0"',
    `      rm -f ${pending.join(" ")}`,
    '      echo "rolled back: no confirmation within $2 s" > "$state/firewall.decided/rolled-back"',
    "    fi",
    '    rm -f "$state/firewall.watchdog.pid"',
    "    ;;",
    "  confirm)",
    '    if mkdir "$state/firewall.decided" 2>/dev/null; then',
    '      echo confirmed > "$state/firewall.decided/confirmed"',
    '    elif [ ! -e "$state/firewall.decided/confirmed" ]; then',
    '      echo "cdktf-xen-firewall: too late, the previous ruleset is back: $(cat "$state/firewall.decided/rolled-back" 2>/dev/null || echo already decided)" >&2',
    "      exit 1",
    "    fi",
    "    stop_watchdog",
    "    # The confirmed ruleset goes where boot loads it from, then the other configuration's files go. A confirm",
    "    # cut short is finished by the next one: the pending files stay until all are in place.",
    `    if [ -e ${pending[0]} ]; then`,
    ...(files.sets ? ["      union_sets"] : []),
    ...placed.map((f) => `      place ${pendingOf(f)} ${f}`),
    "      retire_files",
    `      rm -f ${pending.join(" ")}`,
    '      sync "$(dirname "$rules")"',
    "    fi",
    "    ;;",
    "  *)",
    `    echo "usage: cdktf-xen-firewall [load | check ${checkArgs} | try SECONDS | confirm]" >&2`,
    "    exit 2",
    "    ;;",
    "esac",
    "",
  ].join("\n");
}
