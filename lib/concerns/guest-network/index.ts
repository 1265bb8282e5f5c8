/**
 * The guest's network, changed in place: interface naming, the interfaces
 * file, the policy routing tables, ARP sysctls. Checked by `ifup --no-act`
 * (and, for iftab naming, that a udev rule runs ifrename);
 * sysctls applied, interfaces that are down brought up, and the policy
 * routing of interfaces that are up re-applied. No interface is taken down,
 * so the SSH session of the deploy itself survives.
 */
import type { GuestModel, HostFile, VifModel } from "../../model";
import { SYSCTL_PATH } from "../../private/paths";
import { guestNamingFiles } from "../../render/guest-naming";
import { networkdFiles } from "../../render/networkd";
import { NETPLAN_PATH, renderNetplan } from "../../render/netplan";
import { shellSource } from "../../render/shell-source";
import { policyRoutingCommands, renderInterfaces, renderRtTables } from "../../render/interfaces";
import { renderGuestSysctl } from "../../render/sysctl";
import { StepModel, stagedVariable } from "../../deploy/step";
import { sysctlCheck } from "../sysctl-check";

/** The ifupdown interfaces file. */
export const INTERFACES_PATH = "/etc/network/interfaces";
/** Names of the policy routing tables. */
export const RT_TABLES_PATH = "/etc/iproute2/rt_tables.d/cdktf-xen.conf";

/** What the guest's network step sets besides the model. */
export interface GuestNetworkOptions {
  /** Loose reverse-path filter in the guest. */
  readonly looseReversePath: boolean;
}

/** The guest's network step: ifupdown's, systemd-networkd's or netplan's. */
export function guestNetworkStep(host: string, guest: GuestModel, opts: GuestNetworkOptions): StepModel {
  if (guest.network === "systemd-networkd") return networkdStep(host, guest, opts);
  if (guest.network === "netplan") return netplanStep(host, guest, opts);
  return ifupdownStep(host, guest, opts);
}

/** The check that something reads iftab at boot, in sh/: see the file. */
const IFTAB_CHECK = shellSource(__dirname, "sh/iftab-check.sh");

/** netplan's staged check, in sh/: see the file. */
const NETPLAN_CHECK = shellSource(__dirname, "sh/netplan-check.sh");

/**
 * netplan: one YAML file (0600, as netplan wants), checked by `netplan
 * generate` on a scratch root with the host's other netplan files; applied by
 * `netplan generate` (networkd's files in /run) and networkd's reload and
 * reconfigure, not `netplan apply`, which restarts networkd and may take
 * links down under the deploy's own SSH session.
 */
function netplanStep(host: string, guest: GuestModel, opts: GuestNetworkOptions): StepModel {
  const files: HostFile[] = [...guestNamingFiles(guest), { path: NETPLAN_PATH, content: renderNetplan(guest), mode: "0600" }, { path: SYSCTL_PATH, content: renderGuestSysctl({ looseReversePath: opts.looseReversePath }), mode: "0644" }];
  return {
    host,
    concern: "network",
    files,
    validate: [sysctlCheck(stagedVariable(files, SYSCTL_PATH)), NETPLAN_CHECK, `netplan_check "$${stagedVariable(files, NETPLAN_PATH)}" ${NETPLAN_PATH}`].join("\n"),
    activate: [`sysctl -q -p ${SYSCTL_PATH}`, "netplan generate", "networkctl reload", `networkctl reconfigure ${guest.vifs.map((v) => v.device).join(" ")}`].join("\n"),
  };
}

/**
 * systemd-networkd: one `.network` file per interface. `networkctl reload`
 * reads the changed files and reconfigures their links (systemd >= 250);
 * `reconfigure` of the guest's own links does it on older ones. Both keep an
 * address that stays in the file, so the deploy's SSH session survives.
 */
function networkdStep(host: string, guest: GuestModel, opts: GuestNetworkOptions): StepModel {
  const files: HostFile[] = [...guestNamingFiles(guest), ...networkdFiles(guest), { path: SYSCTL_PATH, content: renderGuestSysctl({ looseReversePath: opts.looseReversePath }), mode: "0644" }];
  return {
    host,
    concern: "network",
    files,
    validate: [sysctlCheck(stagedVariable(files, SYSCTL_PATH)), 'command -v networkctl >/dev/null || { echo "networkctl is not installed: the guest does not run systemd-networkd" >&2; exit 1; }'].join("\n"),
    activate: [`sysctl -q -p ${SYSCTL_PATH}`, "networkctl reload", `networkctl reconfigure ${guest.vifs.map((v) => v.device).join(" ")}`].join("\n"),
  };
}

/** ifupdown: the interfaces file; interfaces that are down come up, those up get their addresses, routes and rules again. */
function ifupdownStep(host: string, guest: GuestModel, opts: GuestNetworkOptions): StepModel {
  const files: HostFile[] = [
    ...guestNamingFiles(guest),
    { path: INTERFACES_PATH, content: renderInterfaces(guest), mode: "0644" },
    { path: SYSCTL_PATH, content: renderGuestSysctl({ looseReversePath: opts.looseReversePath }), mode: "0644" },
    ...(guest.policyRouting ? [{ path: RT_TABLES_PATH, content: renderRtTables(guest), mode: "0644" }] : []),
  ];
  const activate = [`sysctl -q -p ${SYSCTL_PATH}`];
  for (const vif of guest.vifs) activateVif(guest, vif, activate);
  return {
    host,
    concern: "network",
    files,
    validate: [
      sysctlCheck(stagedVariable(files, SYSCTL_PATH)),
      ...(guest.interfaceNaming === "iftab" ? [IFTAB_CHECK, "iftab_check"] : []),
      'state=$(mktemp -d); trap \'rm -rf "$state"\' EXIT',
      `ifup --no-act -a -i "$${stagedVariable(files, INTERFACES_PATH)}" --state-dir "$state" >/dev/null 2>&1`,
    ].join("\n"),
    activate: activate.join("\n"),
  };
}

/** Brings one vif up, or, when it is up, gives it the further addresses it lacks, then its routes and rules again. */
function activateVif(guest: GuestModel, vif: VifModel, activate: string[]): void {
  activate.push(`if ifquery --state ${vif.device} >/dev/null 2>&1; then`);
  const before = activate.length;
  for (const a of vif.additional) activate.push(`  ip addr replace ${a.address}/${a.prefix} dev ${vif.device}`);
  if (guest.policyRouting) for (const c of policyRoutingCommands(vif, guest.gateway).up) activate.push(`  ${c}`);
  if (activate.length === before) activate.push("  :");
  activate.push("else", `  ifup ${vif.device}`, "fi");
}
