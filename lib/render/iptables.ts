import type { FirewallModel, ForwardAcceptModel } from "../model";
import type { PortRange } from "../net/port";
import { compareIpv4 } from "../net/ipv4";
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
    "*filter",
    `:INPUT ${fw.inputPolicy} [0:0]`,
    `:FORWARD ${fw.forwardPolicy} [0:0]`,
    ":OUTPUT ACCEPT [0:0]",
    "-A INPUT -i lo -j ACCEPT",
    "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A INPUT -m conntrack --ctstate INVALID -j DROP",
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

/** What ipset-persistent installs: netfilter-persistent's plugin that loads /etc/iptables/ipsets at boot. */
const IPSET_BOOT_PLUGIN = "/usr/share/netfilter-persistent/plugins.d/10-ipset";

/**
 * How the firewall script checks, commits, saves and restores a ruleset, per
 * backend. `check RULES [SETS]` changes nothing a packet meets: it may only
 * create ipsets under names no rule uses yet, and removes them again when
 * the ruleset is refused.
 */
const BACKENDS = {
  iptables: [
    "# Our ipsets that no rule uses go: the kernel refuses to destroy a set in use.",
    "prune() {",
    "  if command -v ipset >/dev/null 2>&1; then",
    `    ipset list -n | while read -r s; do case $s in ${IPSET_PREFIX}*) ipset destroy "$s" 2>/dev/null || true ;; esac; done`,
    "  fi",
    "}",
    "# Rules come on stdin: --wait takes an optional argument and would swallow a file name.",
    "# Our ipsets are named by their content: one that exists already is the same set (-exist).",
    "check() {",
    '  if [ $# -gt 1 ]; then',
    `    command -v ipset >/dev/null 2>&1 || { echo "cdktf-xen-firewall: ipset not found: install ipset and ipset-persistent" >&2; return 1; }`,
    "    # netfilter-persistent loads rules.v4 at boot; without the sets it names, the whole ruleset would fail to load.",
    `    [ -e ${IPSET_BOOT_PLUGIN} ] || { echo "cdktf-xen-firewall: ipset-persistent not found: install it, or the ruleset, which uses ipsets, does not load at boot" >&2; return 1; }`,
    '    ipset -exist restore < "$2" || { prune; return 1; }',
    "  fi",
    '  iptables-restore --test < "$1" || { prune; return 1; }',
    "}",
    'commit() { iptables-restore --wait 10 < "$1" && prune; }',
    "save() {",
    '  iptables-save > "$state/firewall.previous"',
    '  : > "$state/firewall.previous-sets"',
    "  if command -v ipset >/dev/null 2>&1; then",
    '    ipset save > "$state/firewall.all-sets"',
    `    sed -n '/^[a-z]* ${IPSET_PREFIX}/p' "$state/firewall.all-sets" > "$state/firewall.previous-sets"`,
    '    rm -f "$state/firewall.all-sets"',
    "  fi",
    "}",
    "restore() {",
    '  if [ -s "$state/firewall.previous-sets" ]; then ipset -exist restore < "$state/firewall.previous-sets"; fi',
    '  commit "$state/firewall.previous"',
    "}",
  ],
  nftables: [
    'check() { nft -c -f "$1"; }',
    'commit() { nft -f "$1"; }',
    "# The saved table replaces ours whole when loaded; with no table before, loading it removes ours.",
    'save() { { echo "table inet cdktf_xen"; echo "delete table inet cdktf_xen"; nft list table inet cdktf_xen 2>/dev/null || true; } > "$state/firewall.previous"; }',
    'restore() { commit "$state/firewall.previous"; }',
  ],
} as const;

/** Firewall backends: iptables-restore (with ipsets from a threshold on), or one nftables table with sets. */
export type FirewallBackend = keyof typeof BACKENDS;

/** What the firewall script loads, and where it keeps its state. */
export interface FirewallScriptOptions {
  readonly backend: FirewallBackend;
  /** The deployed ruleset. */
  readonly rulesPath: string;
  /** The deployed ipsets, loaded before the rules (iptables backend with sets only). */
  readonly setsPath?: string;
  readonly stateDir: string;
}

/**
 * `/usr/local/sbin/cdktf-xen-firewall`: checks a ruleset, then loads it in
 * one transaction (iptables-restore, or nft -f: the whole table or nothing).
 * The deploy step runs the staged script's `check` on the staged files.
 *
 * `try SECONDS` is the deploy's dead-man switch: it saves the live ruleset
 * (and our live ipsets), loads the deployed one and starts a detached
 * watchdog that puts the saved ruleset and the previous files back after
 * SECONDS, unless `confirm` runs first, from a fresh SSH connection that
 * proves management access survived. The decision is taken once, by whoever
 * creates `firewall.decided` first.
 */
export function renderFirewallScript(opts: FirewallScriptOptions): string {
  if (opts.setsPath && opts.backend !== "iptables") throw new Error("ipsets go with the iptables backend only");
  const deployed = opts.setsPath ? '"$rules" "$sets"' : '"$rules"';
  return [
    "#!/bin/sh",
    generatedHeader().trimEnd(),
    "# Usage: cdktf-xen-firewall [load]              check, then load the deployed ruleset in one transaction",
    "#        cdktf-xen-firewall check RULES [SETS]  check a ruleset without loading it",
    "#        cdktf-xen-firewall try SECONDS         load the deployed ruleset; put the previous one back",
    "#                                               after SECONDS unless confirmed",
    "#        cdktf-xen-firewall confirm             keep what the last try loaded",
    "set -eu",
    `rules=${opts.rulesPath}`,
    ...(opts.setsPath ? [`sets=${opts.setsPath}`] : []),
    `state=${opts.stateDir}`,
    ...BACKENDS[opts.backend],
    'load() { check "$@" && commit "$1"; }',
    "# The files as they were before the deploy step put the new ones in place, and back.",
    'keep_previous() { for f in "$@"; do if [ -e "$f.cdktf-xen.bak" ]; then cp -p "$f.cdktf-xen.bak" "$state/firewall.previous-files/${f##*/}"; fi; done; }',
    'put_back() { for f in "$@"; do if [ -e "$state/firewall.previous-files/${f##*/}" ]; then cp -p "$state/firewall.previous-files/${f##*/}" "$f"; else rm -f "$f"; fi; done; }',
    'case "${1:-load}" in',
    "  load)",
    `    load ${deployed}`,
    "    ;;",
    "  check)",
    '    check "${2:?rules}" ${3:+"$3"}',
    "    ;;",
    "  try)",
    '    seconds=${2:?seconds}',
    '    mkdir -p "$state"',
    "    # An earlier try still waiting for confirmation is superseded: its watchdog ends here.",
    '    if [ -s "$state/firewall.watchdog.pid" ]; then kill -s TERM -- "-$(cat "$state/firewall.watchdog.pid")" 2>/dev/null || true; fi',
    '    rm -rf "$state/firewall.decided" "$state/firewall.previous-files"',
    '    mkdir "$state/firewall.previous-files"',
    "    save",
    `    keep_previous ${deployed}`,
    `    load ${deployed}`,
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
    "      restore",
    `      put_back ${deployed}`,
    '      echo "rolled back: no confirmation within $2 s" > "$state/firewall.decided/rolled-back"',
    "    fi",
    '    rm -f "$state/firewall.watchdog.pid"',
    "    ;;",
    "  confirm)",
    '    if ! mkdir "$state/firewall.decided" 2>/dev/null; then',
    '      echo "cdktf-xen-firewall: too late, the previous ruleset is back: $(cat "$state/firewall.decided/rolled-back" 2>/dev/null || echo already decided)" >&2',
    "      exit 1",
    "    fi",
    '    echo confirmed > "$state/firewall.decided/confirmed"',
    '    if [ -s "$state/firewall.watchdog.pid" ]; then kill -s TERM -- "-$(cat "$state/firewall.watchdog.pid")" 2>/dev/null || true; fi',
    '    rm -f "$state/firewall.watchdog.pid"',
    "    ;;",
    "  *)",
    '    echo "usage: cdktf-xen-firewall [load | check RULES [SETS] | try SECONDS | confirm]" >&2',
    "    exit 2",
    "    ;;",
    "esac",
    "",
  ].join("\n");
}
