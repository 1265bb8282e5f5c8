import { generatedHeader } from "../../render/header";
import { shellAssignments, shellSource } from "../../render/shell-source";

/** The vif hook that vif-route sources. */
export const VIF_HOOK_PATH = "/etc/xen/scripts/vif-post.d/cdktf-xen.hook";

/** The name, in the vif hook, of the vifs that get loose rp_filter. */
export const VIF_HOOK_LOOSE = "CDKTF_XEN_LOOSE_VIFS";

/**
 * `/etc/xen/scripts/vif-post.d/cdktf-xen.hook`, sourced by vif-route for every
 * vif it brings up: sh/vif-hook.sh, after the vifs that get loose rp_filter
 * (guests with reversePathFilter "loose"); every other vif gets strict.
 */
export function renderVifHook(looseVifs: readonly string[] = []): string {
  return `${generatedHeader()}${shellAssignments([[VIF_HOOK_LOOSE, looseVifs.join(" ")]])}${shellSource(__dirname, "sh/vif-hook.sh")}\n`;
}
