import type { FirewallModel, ForwardAcceptModel } from "../model";
import type { PortRange } from "../net/port";
import { compareIpv4 } from "../net/ipv4";
import { generatedHeader } from "./header";

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

function acceptRules(a: ForwardAcceptModel): string[] {
  const out: string[] = [];
  const src = a.source === "0.0.0.0/0" ? "" : ` -s ${a.source}`;
  const sportChunks = a.sourcePorts.length ? multiportChunks(a.sourcePorts) : [[]];
  for (const dports of multiportChunks(a.ports)) {
    for (const sports of sportChunks) {
      const sp = sports.length ? portMatch(a.protocol, "sports", sports) : "";
      out.push(`-A FORWARD${src} -d ${a.address}/32 -o ${a.vifname} -p ${a.protocol}${sp}${portMatch(a.protocol, "dports", dports)} -j ACCEPT`);
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

/**
 * The dom0's filter table in iptables-restore format, loaded in one
 * transaction, in the canonical form iptables-save prints (so a saved live
 * ruleset diffs cleanly against it). Conntrack first; then per guest address one ACCEPT bound to the
 * guest's vif (`-o`) and address (`-d`); everything else meets the policy.
 */
export function renderIptablesRules(fw: FirewallModel): string {
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
    ...[...fw.accepts].sort(compareAccepts).flatMap(acceptRules),
    ...fw.egress.map((e) => `-A FORWARD -s ${e.address}/32 -i ${e.vifname} -j ACCEPT`),
    "COMMIT",
  ];
  return generatedHeader() + lines.join("\n") + "\n";
}

/** How the firewall script loads, saves and replaces a ruleset, per backend. */
const BACKENDS = {
  iptables: {
    load: 'load() { iptables-restore --test < "$1" && iptables-restore --wait 10 < "$1"; }',
    save: 'iptables-save > "$state/firewall.previous"',
    restore: 'iptables-restore --wait 10 < "$2/firewall.previous"',
  },
  nftables: {
    load: 'load() { nft -c -f "$1" && nft -f "$1"; }',
    // The saved table replaces ours whole when loaded; with no table before, loading it removes ours.
    save: '{ echo "table inet cdktf_xen"; echo "delete table inet cdktf_xen"; nft list table inet cdktf_xen 2>/dev/null || true; } > "$state/firewall.previous"',
    restore: 'nft -f "$2/firewall.previous"',
  },
} as const;

/** Firewall backends: iptables-restore, or one nftables table with sets. */
export type FirewallBackend = keyof typeof BACKENDS;

/**
 * `/usr/local/sbin/cdktf-xen-firewall`: tests a ruleset, then loads it in one
 * transaction (iptables-restore, or nft -f: the whole table or nothing).
 *
 * `try SECONDS` is the deploy's dead-man switch: it saves the live ruleset,
 * loads the deployed one and starts a detached watchdog that puts the saved
 * ruleset (and the previous file) back after SECONDS, unless `confirm` runs
 * first, from a fresh SSH connection that proves management access survived.
 * The decision is taken once, by whoever creates `firewall.decided` first.
 */
export function renderFirewallScript(rulesPath: string, stateDir: string, backend: FirewallBackend = "iptables"): string {
  const b = BACKENDS[backend];
  return [
    "#!/bin/sh",
    generatedHeader().trimEnd(),
    "# Usage: cdktf-xen-firewall [load [RULES]]   test, then load RULES (default: the deployed ruleset)",
    "#        cdktf-xen-firewall try SECONDS      load the deployed ruleset; restore the previous one",
    "#                                            after SECONDS unless confirmed",
    "#        cdktf-xen-firewall confirm          keep what the last try loaded",
    "set -eu",
    `rules=${rulesPath}`,
    `state=${stateDir}`,
    ...(backend === "iptables" ? ["# Rules come on stdin: --wait takes an optional argument and would swallow a file name."] : []),
    b.load,
    'case "${1:-load}" in',
    "  load)",
    '    load "${2:-$rules}"',
    "    ;;",
    "  try)",
    '    seconds=${2:?seconds}',
    '    mkdir -p "$state"',
    '    rm -rf "$state/firewall.decided" "$state/firewall.previous-file"',
    `    ${b.save}`,
    '    if [ -e "$rules.cdktf-xen.bak" ]; then cp -p "$rules.cdktf-xen.bak" "$state/firewall.previous-file"; fi',
    '    load "$rules"',
    "    # shellcheck disable=SC2016 # expanded by the watchdog's own shell",
    "    nohup setsid sh -c '",
    '      sleep "$1"',
    '      if mkdir "$2/firewall.decided" 2>/dev/null; then',
    `        ${b.restore}`,
    '        if [ -e "$2/firewall.previous-file" ]; then cp -p "$2/firewall.previous-file" "$3"; else rm -f "$3"; fi',
    '        echo "rolled back: no confirmation within $1 s" > "$2/firewall.decided/rolled-back"',
    "      fi",
    `    ' cdktf-xen-firewall-watchdog "$seconds" "$state" "$rules" >/dev/null 2>&1 </dev/null &`,
    "    # setsid made the watchdog a process group leader: confirm ends the group.",
    '    echo "$!" > "$state/firewall.watchdog.pid"',
    "    ;;",
    "  confirm)",
    '    if ! mkdir "$state/firewall.decided" 2>/dev/null; then',
    '      echo "cdktf-xen-firewall: too late, the previous ruleset is back: $(cat "$state/firewall.decided/rolled-back" 2>/dev/null || echo already decided)" >&2',
    "      exit 1",
    "    fi",
    '    echo confirmed > "$state/firewall.decided/confirmed"',
    '    if [ -s "$state/firewall.watchdog.pid" ]; then kill -TERM -- "-$(cat "$state/firewall.watchdog.pid")" 2>/dev/null || true; fi',
    '    rm -f "$state/firewall.watchdog.pid"',
    "    ;;",
    "  *)",
    '    echo "usage: cdktf-xen-firewall [load [RULES] | try SECONDS | confirm]" >&2',
    "    exit 2",
    "    ;;",
    "esac",
    "",
  ].join("\n");
}
