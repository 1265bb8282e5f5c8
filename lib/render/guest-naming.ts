import type { GuestModel, HostFile } from "../model";
import { generatedHeader } from "./header";

/** `/etc/iftab`: ifrename pins each interface name to its vif's MAC. */
export function renderIftab(guest: GuestModel): string {
  return generatedHeader() + guest.vifs.map((v) => `${v.device} mac ${v.mac} arp 1\n`).join("");
}

/** `/etc/udev/rules.d/70-cdktf-xen-net.rules`: the same pinning for udev. */
export function renderUdevNetRules(guest: GuestModel): string {
  return (
    generatedHeader() +
    guest.vifs
      .map((v) => `SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="${v.mac}", NAME="${v.device}"\n`)
      .join("")
  );
}

/** One systemd `.link` file per vif: systemd-udevd names the interface by MAC. */
export function renderSystemdLink(mac: string, device: string): string {
  return `${generatedHeader()}[Match]\nMACAddress=${mac}\n\n[Link]\nName=${device}\n`;
}

/** The files that pin the guest's interface names, for its naming scheme. */
export function guestNamingFiles(guest: GuestModel): HostFile[] {
  switch (guest.interfaceNaming) {
    case "iftab":
      return [{ path: "/etc/iftab", content: renderIftab(guest), mode: "0644" }];
    case "udev":
      return [{ path: "/etc/udev/rules.d/70-cdktf-xen-net.rules", content: renderUdevNetRules(guest), mode: "0644" }];
    case "systemd-link":
      return guest.vifs.map((v) => ({
        path: `/etc/systemd/network/10-cdktf-xen-${v.device}.link`,
        content: renderSystemdLink(v.mac, v.device),
        mode: "0644",
      }));
  }
}
