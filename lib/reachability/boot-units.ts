/**
 * Whether systemd starts a unit at boot, as a copy of a host's
 * /etc/systemd/system shows it: `systemctl enable` links the unit into the
 * `.wants` folder of the target its [Install] section names, `systemctl mask`
 * links the unit itself to /dev/null. In the files, a link is given as the
 * path it points to (host-copy.ts reads them so).
 */
import type { Unreadable } from "./outcome";
import type { FileSet } from "./hosts";

/** Where `systemctl enable` and `mask` write their links. */
export const SYSTEMD_SYSTEM = "/etc/systemd/system";
const SYSTEM = `${SYSTEMD_SYSTEM}/`;

/** The units that load a firewall at boot, whose enablement the model reads. */
export const FIREWALL_UNITS = ["netfilter-persistent.service", "nftables.service"] as const;

/**
 * Targets every boot of a server reaches: a unit wanted by one of them
 * starts. Others (network-pre.target, reached only when a unit pulls it in;
 * graphical.target, on a server whose default is multi-user.target) may not be.
 */
const BOOT_TARGETS = new Set(["sysinit.target", "basic.target", "multi-user.target", "default.target"]);

/** A unit's fate at boot: started or not, or not known from the files (with the line that says why). */
export type BootStart = { readonly starts: boolean; readonly why: string } | { readonly unknown: Unreadable };

/** Whether the files show systemd's enablement at all: any link of a `.wants` or `.requires` folder of /etc/systemd/system (a host has many). */
export function enablementShown(files: FileSet): boolean {
  for (const p in files) if (p.startsWith(SYSTEM) && /^[^/]+\.(wants|requires)\/[^/]+$/.test(p.slice(SYSTEM.length))) return true;
  return false;
}

/**
 * Whether systemd starts `unit` at boot, from the links of /etc/systemd/system;
 * undefined when the files do not show systemd's enablement (the files the
 * library ships, or a copy without /etc/systemd/system). `shown`: that
 * enablementShown, when the caller knows it already.
 */
export function bootStart(files: FileSet, unit: string, shown = enablementShown(files)): BootStart | undefined {
  if (!shown) return undefined;
  const own = files[SYSTEM + unit];
  if (own === "/dev/null") return { starts: false, why: `${unit} is masked (${SYSTEM}${unit} links to /dev/null)` };
  if (own !== undefined && own !== `/lib/systemd/system/${unit}` && own !== `/usr/lib/systemd/system/${unit}`) {
    return { unknown: { file: SYSTEM + unit, line: 0, text: "", why: `${unit} has a unit file of its own in ${SYSTEM}, which the model does not read` } };
  }
  const dropIn = Object.keys(files).find((p) => p.startsWith(`${SYSTEM}${unit}.d/`));
  if (dropIn !== undefined) return { unknown: { file: dropIn, line: 0, text: "", why: `a drop-in changes how ${unit} runs, which the model does not read` } };
  const wanted = Object.keys(files)
    .filter((p) => p.startsWith(SYSTEM) && p.endsWith(`/${unit}`))
    .map((p) => p.slice(SYSTEM.length, -unit.length - 1))
    .filter((dir) => /^[^/]+\.(wants|requires)$/.test(dir));
  const atBoot = wanted.find((dir) => BOOT_TARGETS.has(dir.replace(/\.(wants|requires)$/, "")));
  if (atBoot !== undefined) return { starts: true, why: `${unit} is enabled (${SYSTEM}${atBoot}/${unit})` };
  if (wanted.length) return { unknown: { file: `${SYSTEM}${wanted[0]}/${unit}`, line: 0, text: "", why: `${unit} is wanted by ${wanted[0].replace(/\.(wants|requires)$/, "")}, which the model does not know a boot to reach` } };
  return { starts: false, why: `${unit} is not enabled (no link in ${SYSTEM}*.wants)` };
}
