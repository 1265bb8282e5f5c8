/** Checks that every key of a staged sysctl.d file (in `$variable`) exists on this kernel. */
export function sysctlCheck(variable: string): string {
  return [
    `sed -n 's/^[[:space:]]*\\([A-Za-z0-9_./-]*\\)[[:space:]]*=.*/\\1/p' "$${variable}" | while read -r key; do`,
    '  case $key in */*) p=$key ;; *) p=$(printf %s "$key" | tr . /) ;; esac',
    '  if [ ! -e "/proc/sys/$p" ]; then echo "unknown sysctl $key" >&2; exit 1; fi',
    "done",
  ].join("\n");
}
