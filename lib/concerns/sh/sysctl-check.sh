## A function for the validate snippets of the sysctl steps (the dom0's and
## the guests'), inlined before the call that names the staged file.
# shellcheck shell=sh
# FILE: every key of a staged sysctl.d file exists on this kernel; names the first that does not.
sysctl_check() {
  sed -n 's/^[[:space:]]*\([A-Za-z0-9_./-]*\)[[:space:]]*=.*/\1/p' "$1" | while read -r key; do
    case $key in */*) p=$key ;; *) p=$(printf %s "$key" | tr . /) ;; esac
    if [ ! -e "/proc/sys/$p" ]; then echo "unknown sysctl $key" >&2; exit 1; fi
  done
}
