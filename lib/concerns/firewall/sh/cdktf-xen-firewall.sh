## /usr/local/sbin/cdktf-xen-firewall, the dom0's firewall program, for both
## backends. renderFirewallScript (lib/concerns/firewall/script.ts) puts the
## #! line, the header and these checked values before it:
##   backend          iptables or nftables: the configured backend
##   rules rules6 sets  the files this configuration deploys (rules6 and sets
##                    empty where it has none), in the order `check` takes them
##   iptables_rules ip6tables_rules ipsets_file nft_rules
##                    where each backend keeps its files: the ones this
##                    configuration does not deploy are another's, retired
##   state            the state directory of the deploy steps (their lock)
##   header           the first line of every file the library writes
##   pending          the suffix of a file waiting beside its place
##   ipset_prefix     the start of the name of every ipset of ours
##   nft_family nft_table  our nftables table
# shellcheck shell=sh
# shellcheck disable=SC2154 # the values above come before this
# Usage: cdktf-xen-firewall [load]              check, then load the ruleset in place, each file in one transaction
#        cdktf-xen-firewall check RULES [RULES6] [SETS]
#                                               check a ruleset without loading it
#        cdktf-xen-firewall try SECONDS         load the pending ruleset (<file>$pending);
#                                               put the previous one back after SECONDS unless confirmed
#        cdktf-xen-firewall confirm             keep what the last try loaded: its files go in place
#
# The files at the places boot loads them from are always a confirmed ruleset.
# The deploy step puts the new ones beside them (<file>$pending) and runs this
# script's `check` on its staged copies. `try SECONDS`, the deploy's dead-man
# switch, saves the live ruleset (our live ipsets, and what the retired files
# loaded), loads the pending one and starts a detached watchdog that puts the
# saved state and the previous script back after SECONDS, and removes the
# pending files, unless `confirm` runs first, from a fresh SSH connection that
# proves management access survived. `confirm` renames the pending files into
# place: ipsets first as the union of the old and the new sets, so that
# whichever of the files a power cut finds renamed, what boot loads fits
# together. The decision is taken once, by whoever creates firewall.decided first.
set -eu

# The files this configuration deploys (paths are checked: no spaces), and where they wait until confirmed.
deployed="$rules${rules6:+ $rules6}${sets:+ $sets}"
waiting=''
for f in $deployed; do waiting="$waiting${waiting:+ }$f$pending"; done

# A file is ours when our header is its first line, or its second after a #! line.
ours() { [ -f "$1" ] && head -n 2 "$1" | grep -qxF "$header"; }

# iptables. Our ipsets that no rule uses go: the kernel refuses to destroy a set in use.
iptables_prune() {
  if command -v ipset >/dev/null 2>&1; then
    ipset list -n | while read -r s; do case $s in "$ipset_prefix"*) ipset destroy "$s" 2>/dev/null || true ;; esac; done
  fi
}
# Rules come on stdin: --wait takes an optional argument and would swallow a file name.
# Our ipsets are named by their content: one that exists already is the same set (-exist).
# A check changes nothing a packet meets: it may only create ipsets under names no rule uses
# yet, and removes them again when the ruleset is refused. It refuses a ruleset that nothing
# would load at boot (a dom0 that reboots would come up open).
# RULES RULES6 [SETS]
iptables_check() {
  if [ $# -gt 2 ]; then
    command -v ipset >/dev/null 2>&1 || { echo "cdktf-xen-firewall: ipset not found: install ipset and ipset-persistent" >&2; return 1; }
    # netfilter-persistent loads rules.v4 at boot; without the sets it names, the whole ruleset would fail to load.
    [ -e /usr/share/netfilter-persistent/plugins.d/10-ipset ] || { echo "cdktf-xen-firewall: ipset-persistent not found: install it, or the ruleset, which uses ipsets, does not load at boot" >&2; return 1; }
    ipset -exist restore < "$3" || { iptables_prune; return 1; }
  fi
  # A ruleset gone after a reboot leaves the dom0 open: refuse one that nothing loads at boot.
  for p in /usr/share/netfilter-persistent/plugins.d/15-ip4tables /usr/share/netfilter-persistent/plugins.d/25-ip6tables; do
    [ -e "$p" ] || { echo "cdktf-xen-firewall: iptables-persistent not found: install it, or rules.v4 and rules.v6 do not load at boot and the dom0 boots without this firewall" >&2; iptables_prune; return 1; }
  done
  iptables-restore --test < "$1" || { iptables_prune; return 1; }
  ip6tables-restore --test < "$2" || { iptables_prune; return 1; }
}
# RULES RULES6: IPv4 first, then IPv6; a failure stops the load, and try's caller puts the previous ruleset back.
iptables_commit() { iptables-restore --wait 10 < "$1" && ip6tables-restore --wait 10 < "$2" && iptables_prune; }
# SAVE SAVE6 SETS: the live filter tables, and our live ipsets; restored, they put the live state back.
iptables_save() {
  iptables-save -t filter > "$1"
  ip6tables-save -t filter > "$2"
  : > "$3"
  if command -v ipset >/dev/null 2>&1; then
    ipset save > "$state/firewall.all-sets"
    sed -n "/^[a-z]* $ipset_prefix/p" "$state/firewall.all-sets" > "$3"
    rm -f "$state/firewall.all-sets"
  fi
}
iptables_restore() {
  if [ -s "$3" ]; then ipset -exist restore < "$3"; fi
  iptables_commit "$1" "$2"
}
# nftables: our table, replaced whole. A saved table replaces ours when loaded; with no table before, loading it removes ours.
nftables_check() {
  nft -c -f "$1" || return 1
  # Debian's nftables service loads /etc/nftables.conf at boot; it cannot be told for sure, so warn only.
  grep -qsF "$nft_rules" /etc/nftables.conf || echo "cdktf-xen-firewall: warning: /etc/nftables.conf does not name $nft_rules: this firewall is not loaded at boot" >&2
}
nftables_commit() { nft -f "$1"; }
nftables_save() { { echo "table $nft_family $nft_table"; echo "delete table $nft_family $nft_table"; nft list table "$nft_family" "$nft_table" 2>/dev/null || true; } > "$1"; }
nftables_restore() { nftables_commit "$1"; }

# The configured backend.
check() { "${backend}_check" "$@"; }
commit() { "${backend}_commit" "$@"; }
if [ "$backend" = iptables ]; then
  save() { iptables_save "$state/firewall.previous" "$state/firewall.previous6" "$state/firewall.previous-sets"; }
  restore() { iptables_restore "$state/firewall.previous" "$state/firewall.previous6" "$state/firewall.previous-sets"; }
else
  save() { nftables_save "$state/firewall.previous"; }
  restore() { nftables_restore "$state/firewall.previous"; }
fi

# Ours from another configuration, not deployed by this one: after a load they go, with what
# they loaded. Live at once (retire_live: the iptables filter tables emptied, policies ACCEPT, as
# the nftables table now filters; or the nftables table deleted); on disk only once the new
# ruleset is confirmed (retire_files: the iptables files and our ipsets removed; the nftables
# file left loading nothing, so that an include of it in /etc/nftables.conf still loads).
# Before that, try saves what they loaded, for a rollback.
empty_filter() { printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'; }
retire_live() {
  if [ "$backend" = nftables ]; then
    if ours "$iptables_rules"; then empty_filter | iptables-restore --wait 10 || return 1; fi
    if ours "$ip6tables_rules"; then empty_filter | ip6tables-restore --wait 10 || return 1; fi
  elif ours "$nft_rules" && command -v nft >/dev/null 2>&1 && nft list table "$nft_family" "$nft_table" >/dev/null 2>&1; then
    nft delete table "$nft_family" "$nft_table" || return 1
  fi
  if [ -z "$sets" ] && ours "$ipsets_file"; then iptables_prune; fi
}
retire_files() {
  if [ "$backend" = nftables ]; then
    for f in "$iptables_rules" "$ip6tables_rules"; do if ours "$f"; then rm -f "$f"; fi; done
  elif ours "$nft_rules"; then
    rm -f "$nft_rules.cdktf-xen.new"
    printf '%s\n' "$header" '# Not in use: this dom0 has the iptables firewall backend. Including this file loads nothing.' > "$nft_rules.cdktf-xen.new" && mv -f "$nft_rules.cdktf-xen.new" "$nft_rules"
  fi
  if [ -z "$sets" ] && ours "$ipsets_file"; then rm -f "$ipsets_file"; fi
}
save_retired() {
  if [ "$backend" = nftables ]; then
    if ours "$iptables_rules" || ours "$ip6tables_rules" || ours "$ipsets_file"; then iptables_save "$state/firewall.retired" "$state/firewall.retired6" "$state/firewall.retired-sets"; fi
  elif ours "$nft_rules" && command -v nft >/dev/null 2>&1; then
    nftables_save "$state/firewall.retired"
  fi
}
restore_retired() {
  if [ ! -e "$state/firewall.retired" ]; then return 0; fi
  if [ "$backend" = nftables ]; then
    iptables_restore "$state/firewall.retired" "$state/firewall.retired6" "$state/firewall.retired-sets"
  else
    nftables_restore "$state/firewall.retired"
  fi
}

load() { check "$@" && commit "$@" && retire_live; }
# FILE TARGET: a copy beside TARGET, on disk, then renamed over it (never written through a link).
place() { rm -f "$2.cdktf-xen.new"; cp -p "$1" "$2.cdktf-xen.new" && sync "$2.cdktf-xen.new" && mv -f "$2.cdktf-xen.new" "$2"; }
# The sets boot loads (ipset restore -exist) name both the old rules and the new ones until rules.v4 is in place.
union_sets() { rm -f "$sets.cdktf-xen.new"; { if [ -f "$sets" ]; then cat "$sets"; fi; cat "$sets$pending"; } > "$sets.cdktf-xen.new" && sync "$sets.cdktf-xen.new" && mv -f "$sets.cdktf-xen.new" "$sets"; }
# The script as it was before the deploy step replaced it (the step's backup); back by rename: a running script keeps reading the file it opened.
keep_previous() { for f in "$@"; do if [ -e "$f.cdktf-xen.bak" ]; then cp -p "$f.cdktf-xen.bak" "$state/firewall.previous-files/${f##*/}"; fi; done; }
put_back_kept() { for f in "$@"; do if [ -e "$state/firewall.previous-files/${f##*/}" ]; then rm -f "$f.cdktf-xen.new"; cp -p "$state/firewall.previous-files/${f##*/}" "$f.cdktf-xen.new" && mv -f "$f.cdktf-xen.new" "$f"; fi; done; }
# Ends the watchdog of an earlier try, and nothing else: after a reboot its number may be any process's.
stop_watchdog() {
  if [ -s "$state/firewall.watchdog.pid" ]; then
    pid=$(cat "$state/firewall.watchdog.pid")
    if tr '\000' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$0 watchdog "; then kill -s TERM -- "-$pid" 2>/dev/null || true; fi
  fi
  rm -f "$state/firewall.watchdog.pid"
}

# shellcheck disable=SC2086 # $deployed and $waiting are lists of checked paths
case "${1:-load}" in
  load)
    load $deployed
    retire_files
    ;;
  check)
    shift
    : "${1:?rules}"
    check "$@"
    ;;
  try)
    seconds=${2:?seconds}
    mkdir -p "$state"
    # An earlier try still waiting for confirmation is superseded: its watchdog ends here.
    stop_watchdog
    rm -rf "$state/firewall.decided" "$state/firewall.previous-files" "$state/firewall.retired" "$state/firewall.retired6" "$state/firewall.retired-sets"
    if [ ! -e "$rules$pending" ]; then
      echo "cdktf-xen-firewall: no ruleset waits beside $rules ($pending): nothing to try" >&2
      exit 0
    fi
    mkdir "$state/firewall.previous-files"
    save
    save_retired
    keep_previous "$0"
    if ! load $waiting; then
      # Loaded in part (IPv4 in, IPv6 refused) or not retired whole: the saved state comes back at once.
      echo "cdktf-xen-firewall: the new ruleset did not load; putting the previous one back" >&2
      restore_retired
      restore
      rm -f $waiting
      exit 1
    fi
    # setsid makes the watchdog a process group leader: confirm ends the group.
    nohup setsid sh "$0" watchdog "$seconds" >/dev/null 2>&1 </dev/null &
    echo "$!" > "$state/firewall.watchdog.pid"
    ;;
  watchdog)
    sleep "${2:?seconds}"
    # Never in the middle of a deploy step on this host: wait for the steps' lock.
    exec 9>"$state/lock"
    flock -w 600 9 || true
    if mkdir "$state/firewall.decided" 2>/dev/null; then
      # What the retired files loaded first: the dom0 is never left without a ruleset.
      restore_retired
      restore
      put_back_kept "$0"
      rm -f $waiting
      echo "rolled back: no confirmation within $2 s" > "$state/firewall.decided/rolled-back"
    fi
    rm -f "$state/firewall.watchdog.pid"
    ;;
  confirm)
    if mkdir "$state/firewall.decided" 2>/dev/null; then
      echo confirmed > "$state/firewall.decided/confirmed"
    elif [ ! -e "$state/firewall.decided/confirmed" ]; then
      echo "cdktf-xen-firewall: too late, the previous ruleset is back: $(cat "$state/firewall.decided/rolled-back" 2>/dev/null || echo already decided)" >&2
      exit 1
    fi
    stop_watchdog
    # The confirmed ruleset goes where boot loads it from (the sets last: until rules.v4 is in place,
    # boot loads the union of old and new), then the other configuration's files go. A confirm
    # cut short is finished by the next one: the pending files stay until all are in place.
    if [ -e "$rules$pending" ]; then
      if [ -n "$sets" ]; then union_sets; fi
      for f in $deployed; do place "$f$pending" "$f"; done
      retire_files
      rm -f $waiting
      sync "$(dirname "$rules")"
    fi
    ;;
  *)
    echo "usage: cdktf-xen-firewall [load | check RULES [RULES6] [SETS] | try SECONDS | confirm]" >&2
    exit 2
    ;;
esac
