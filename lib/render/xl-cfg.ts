import type { GuestModel, VifModel } from "../model";
import { generatedHeader } from "./header";

/** The vif keys xl knows (xl-network-configuration(5)); xl only warns on others. */
export const XL_VIF_KEYS = [
  "mac", "bridge", "gatewaydev", "type", "model", "vifname", "script", "ip",
  "backend", "rate", "devid", "mtu", "trusted", "untrusted",
] as const;

/** The most vifs one domain can have: libxl numbers devids from 0 and netfront scans this many. */
export const XL_MAX_VIFS = 64;

/** The longest vifname: IFNAMSIZ - 1, and 4 less for HVM, whose emulated twin gets `-emu`. */
export function maxVifnameLength(type: GuestModel["type"]): number {
  return type === "hvm" ? 11 : 15;
}

function quote(value: string): string {
  // Every value reaching here was checked against a pattern without quotes,
  // backslashes or newlines; this guard keeps the renderer honest on its own.
  if (/["'\\\n\r]/.test(value)) throw new Error(`xl-cfg: refusing to quote ${JSON.stringify(value)}`);
  return `"${value}"`;
}

/** One xl vif spec. Values cannot contain commas: xl splits the spec on them. */
export function vifSpec(vif: VifModel, guest: GuestModel): string {
  const pairs: [(typeof XL_VIF_KEYS)[number], string][] = [
    ["mac", vif.mac],
    // vif-route adds a /32 route to the vif for each address of the list.
    ["ip", [vif.address, ...vif.additional].map((a) => a.address).join(" ")],
    ["script", "vif-route"],
    ["gatewaydev", guest.gatewayDevice],
    ["vifname", vif.vifname],
  ];
  for (const [key, value] of pairs) {
    if (/[,='"]/.test(value) || (key === "ip" ? /^\s|\s$|\s\s|[\t\n\r]/ : /\s/).test(value)) throw new Error(`xl-cfg: vif value ${JSON.stringify(value)} cannot be written`);
  }
  return pairs.map(([k, v]) => `${k}=${v}`).join(",");
}

function list(items: readonly string[]): string {
  if (items.length === 0) return "[]";
  return `[\n${items.map((i) => `    '${i}'`).join(",\n")}\n]`;
}

/** `/etc/xen/<guest>.cfg` in xl syntax, one routed vif per IP. */
export function renderXlCfg(guest: GuestModel): string {
  const lines: string[] = [
    `name = ${quote(guest.name)}`,
    `type = ${quote(guest.type)}`,
  ];
  if (guest.boot.kind === "bootloader") {
    lines.push(`bootloader = ${quote(guest.boot.bootloader)}`);
  } else {
    lines.push(`kernel = ${quote(guest.boot.kernel)}`);
    if (guest.boot.ramdisk) lines.push(`ramdisk = ${quote(guest.boot.ramdisk)}`);
    if (guest.boot.root) lines.push(`root = ${quote(guest.boot.root)}`);
    if (guest.boot.extra) lines.push(`extra = ${quote(guest.boot.extra)}`);
  }
  lines.push(
    `memory = ${guest.memory}`,
    `vcpus = ${guest.vcpus}`,
    `disk = ${list(guest.disks)}`,
    `vif = ${list(guest.vifs.map((v) => vifSpec(v, guest)))}`,
    `on_poweroff = "destroy"`,
    `on_reboot = "restart"`,
    `on_crash = "restart"`,
  );
  return generatedHeader() + lines.join("\n") + "\n";
}
