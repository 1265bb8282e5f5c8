import { shellSource } from "../render/shell-source";

/** Checks that every key of a staged sysctl.d file (in `$variable`) exists on this kernel: sh/sysctl-check.sh, then its call. */
export function sysctlCheck(variable: string): string {
  return `${shellSource(__dirname, "sh/sysctl-check.sh")}\nsysctl_check "$${variable}"`;
}
