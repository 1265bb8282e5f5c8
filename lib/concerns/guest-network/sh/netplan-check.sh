# shellcheck shell=sh
# netplan_check STAGED TARGET: `netplan generate` on a scratch root holding the host's
# other netplan files and the staged one at TARGET, as netplan will merge them; the
# live /etc and /run are not touched. netplan prints the file, line and column of an error.
netplan_check() {
  command -v netplan >/dev/null 2>&1 || { echo "netplan is not installed on the guest" >&2; return 1; }
  root=$(mktemp -d)
  mkdir -p "$root/etc/netplan"
  for f in /etc/netplan/*.yaml; do
    if [ -e "$f" ] && [ "$f" != "$2" ]; then cp -p "$f" "$root/etc/netplan/"; fi
  done
  cp -p "$1" "$root$2"
  rc=0
  netplan generate --root-dir "$root" || rc=$?
  rm -rf "$root"
  return "$rc"
}
