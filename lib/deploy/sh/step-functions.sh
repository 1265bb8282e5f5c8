## The fixed part of every deploy step's script (see renderStepScript in
## ../step.ts), after the values it is given:
##   step     host/concern, for messages
##   state    the state directory on the host (its lock, owner, journals)
##   uploads  a find -name pattern of Terraform's uploads of step scripts
##   owner    who deploys to this host (stack/host id), or empty: not checked
## No dollar sign here is followed by a brace: Terraform would read it as a
## template sequence (renderStepScript refuses such a script).
# shellcheck shell=sh
# shellcheck disable=SC2154 # the values above come before this
# Terraform uploaded this script world-writable and leaves it behind: root's alone from here;
# what earlier steps left over an hour ago goes.
if [ -f "$0" ]; then chmod 0600 "$0"; fi
find "$(dirname "$0")" -maxdepth 1 -type f -name "$uploads" -mmin +60 -delete 2>/dev/null || :
umask 022
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
fail() { echo "cdktf-xen: $step: $*" >&2; exit 1; }
tmps=''
trap 'for t in $tmps; do rm -f "$t"; done' EXIT
mkdir -p "$state"
# One step at a time on a host (Terraform runs resources in parallel).
exec 9>"$state/lock"
flock -w 600 9 || fail "another cdktf-xen step held the host for 10 minutes"
# One owner per host: two stacks deploying here would replace each other's files and remove each other's guests.
if [ -n "$owner" ]; then
  if [ -e "$state/owner" ]; then
    had=$(cat "$state/owner")
    [ "$had" = "$owner" ] || fail "this host belongs to $had ($state/owner), not to $owner; nothing changed. If it has changed hands, remove that file"
  else
    echo "$owner" > "$state/owner.new" && mv -f "$state/owner.new" "$state/owner"
  fi
fi
# PATH MODE BASE64: the file staged next to PATH, in $t.
stage() {
  mkdir -p "$(dirname "$1")"
  t=$(mktemp "$(dirname "$1")/.cdktf-xen.XXXXXX") || fail "cannot create a file next to $1"
  tmps="$tmps $t"
  printf '%s' "$3" | base64 -d > "$t" || fail "cannot write $1"
  chmod "$2" "$t"
}
# A backup is written beside and renamed over the old one: never through a link someone left there.
keep() { rm -f "$1.cdktf-xen.bak.new"; cp -p "$1" "$1.cdktf-xen.bak.new" && mv -f "$1.cdktf-xen.bak.new" "$1.cdktf-xen.bak"; }
# PATH: prints 1 when PATH had a version before this step, kept as its backup, else 0. After a
# killed run, its journal tells (the backups it made are of the files before it).
prior() {
  if [ "$interrupted" = 1 ] && grep -qxF "path $1" "$journal"; then
    if grep -qxF "had $1" "$journal"; then echo 1; else echo 0; fi
  elif [ -e "$1" ]; then
    keep "$1" || return 1
    echo 1
  else
    # No backup for a new file: a stale one would pose as its previous version.
    rm -f "$1.cdktf-xen.bak"
    echo 0
  fi
}
# HAD PATH: the previous version back (the backup stays: it still is the file before this step,
# which a re-activation, the firewall's try, keeps for its own rollback), or a new file gone.
put_back() {
  if [ "$1" = 1 ]; then
    rm -f "$2.cdktf-xen.new"
    cp -p "$2.cdktf-xen.bak" "$2.cdktf-xen.new" && mv -f "$2.cdktf-xen.new" "$2"
  else
    rm -f "$2"
  fi
}
