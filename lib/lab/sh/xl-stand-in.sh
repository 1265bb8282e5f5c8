## The lab's xl, installed as /usr/local/sbin/xl in each dom0 (create, create -n,
## list, shutdown). renderXlStandIn (lib/lab/xl.ts) puts "#!/bin/sh" and these
## NAME=value lines before it: STATE_FILE, DOM0, PARSER, LOCK, CONTROLLER_PID,
## LAB_NODE, LAB_CLI, and, from a checkout, TS_NODE_REGISTER and TS_NODE_PROJECT
## (empty from the package).
# shellcheck disable=SC2154 # the NAME=value lines above define the lab's names
set -eu
run=/var/lib/xl-lab
mkdir -p "$run"; touch "$run/running"
# Guests are made from the machine's namespaces, entered through the lab's own process.
callback() {
  if [ -n "$TS_NODE_REGISTER" ]; then
    flock "$LOCK" nsenter -t "$CONTROLLER_PID" -m -n -- env TS_NODE_PROJECT="$TS_NODE_PROJECT" "$LAB_NODE" -r "$TS_NODE_REGISTER" "$LAB_CLI" "$@"
  else
    flock "$LOCK" nsenter -t "$CONTROLLER_PID" -m -n -- "$LAB_NODE" "$LAB_CLI" "$@"
  fi
}
case "${1:-}" in
  create)
    shift
    dry=0; if [ "${1:-}" = -n ]; then dry=1; shift; fi
    parsed=$(mktemp "$STATE_FILE.cfg.XXXXXX")
    "$PARSER" "$1" > "$parsed"
    if [ "$dry" = 1 ]; then cat "$parsed"; rm -f "$parsed"; exit 0; fi
    name=$(sed -n 's/.*"name":"\([a-z0-9-]*\)".*/\1/p' "$parsed")
    if grep -qx "$name" "$run/running"; then echo "xl: domain $name already exists" >&2; exit 1; fi
    callback xl-create "$STATE_FILE" "$DOM0" "$parsed"
    rm -f "$parsed"
    echo "$name" >> "$run/running"
    ;;
  list)
    if [ $# -ge 2 ]; then grep -qx "$2" "$run/running"; else cat "$run/running"; fi
    ;;
  shutdown)
    shift; if [ "${1:-}" = -w ]; then shift; fi
    grep -qx "$1" "$run/running" || { echo "xl: no domain $1" >&2; exit 1; }
    callback xl-destroy "$STATE_FILE" "$DOM0" "$1"
    grep -vx "$1" "$run/running" > "$run/running.new" || true
    mv "$run/running.new" "$run/running"
    ;;
  *)
    echo "xl (cdktf-xen lab): create [-n] CFG | list [NAME] | shutdown [-w] NAME" >&2
    exit 2
    ;;
esac
