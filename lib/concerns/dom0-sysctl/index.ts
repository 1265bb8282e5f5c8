/**
 * The dom0's sysctls and its vif hook: forwarding, strict reverse-path
 * filter, proxy ARP, and rp_filter on each vif as vif-route brings it up.
 * Every key must exist on the dom0's kernel; `sysctl -p` applies them.
 */
import type { HostUplinkModel } from "../../model";
import { SYSCTL_PATH } from "../../private/paths";
import { renderDom0Sysctl } from "../../render/sysctl";
import { StepModel, stagedVariable } from "../../deploy/step";
import { sysctlCheck } from "../sysctl-check";
import { renderVifHook, VIF_HOOK_PATH } from "./vif-hook";

/** The dom0's sysctl step; `looseVifs` get loose rp_filter, every other vif strict. */
export function dom0SysctlStep(host: string, uplink: HostUplinkModel, looseVifs: readonly string[]): StepModel {
  const files = [
    { path: SYSCTL_PATH, content: renderDom0Sysctl(uplink), mode: "0644" },
    { path: VIF_HOOK_PATH, content: renderVifHook(looseVifs), mode: "0755" },
  ];
  return {
    host,
    concern: "sysctl",
    files,
    validate: [sysctlCheck(stagedVariable(files, SYSCTL_PATH)), `bash -n "$${stagedVariable(files, VIF_HOOK_PATH)}"`].join("\n"),
    activate: `sysctl -q -p ${SYSCTL_PATH}`,
  };
}
