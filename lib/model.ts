/**
 * The plain model that constructs build and renderers read. No cdktf, no I/O:
 * everything in it is already validated and defaulted.
 */
import type { Ipv4Interface } from "./validation/ipv4";
import type { PortRange, Protocol } from "./connections/port";

/** One Xen vif of a routed guest: one MAC, one IP, one dom0 interface. */
export interface VifModel {
  /** Position in the guest's vif list (the Xen devid). */
  readonly index: number;
  /** The vif's MAC, lower case. */
  readonly mac: string;
  /** The guest's address on this vif, with its prefix. */
  readonly address: Ipv4Interface;
  /** Further addresses on this vif (xl `ip=` lists them all; the guest holds them on the same interface). */
  readonly additional: readonly Ipv4Interface[];
  /** Name of the backend interface in the dom0 (xl `vifname=`). */
  readonly vifname: string;
  /** Name of the interface inside the guest (eth0, enX0, ...). */
  readonly device: string;
  /** Policy routing table of this interface in the guest. */
  readonly table: number;
  /** Priority of this interface's `ip rule from <address>`. */
  readonly rulePriority: number;
}

/** How the guest pins interface names to MACs. */
export type InterfaceNaming = "iftab" | "udev" | "systemd-link";

/** What configures the guest's network: ifupdown's interfaces file, systemd-networkd's `.network` files, or netplan's YAML (rendered for networkd). */
export type GuestNetwork = "ifupdown" | "systemd-networkd" | "netplan";

/** How the guest boots. */
export type GuestBoot =
  | { readonly kind: "bootloader"; readonly bootloader: string }
  | {
      readonly kind: "kernel";
      readonly kernel: string;
      readonly ramdisk?: string;
      readonly root?: string;
      readonly extra?: string;
    };

/** A routed guest, checked and defaulted: what its xl cfg and its network files are rendered from. */
export interface GuestModel {
  /** Xen domain name, also the guest's host name in previews. */
  readonly name: string;
  /** Xen domain type. */
  readonly type: "pv" | "pvh" | "hvm";
  /** Memory in MiB. */
  readonly memory: number;
  /** Virtual CPUs. */
  readonly vcpus: number;
  /** How the guest boots: a bootloader, or a kernel on the dom0. */
  readonly boot: GuestBoot;
  /** xl disk specs. */
  readonly disks: readonly string[];
  /** The guest's vifs, in devid order. */
  readonly vifs: readonly VifModel[];
  /** The router the guest sends through: the dom0's main IP. */
  readonly gateway: string;
  /** dom0 interface carrying the main IP (xl `gatewaydev=`, vif-route's `netdev`). */
  readonly gatewayDevice: string;
  /** How the guest pins interface names to MACs. */
  readonly interfaceNaming: InterfaceNaming;
  /** What configures the guest's network. */
  readonly network: GuestNetwork;
  /** Source-based policy routing: one table and one `ip rule` per interface. */
  readonly policyRouting: boolean;
}

/** A web vhost, checked and defaulted: what its site file and its guest's ports.conf are rendered from. */
export interface VhostModel {
  /** Site name: the file name under sites-available. */
  readonly name: string;
  /** The address it answers on. */
  readonly address: string;
  /** Its HTTP ports, sorted. */
  readonly httpPorts: readonly number[];
  /** Its HTTPS port and certificate, if any. */
  readonly tls?: {
    readonly port: number;
    readonly certificateFile: string;
    readonly certificateKeyFile: string;
  };
  /** `ServerName`. */
  readonly serverName: string;
  /** `ServerAlias` names. */
  readonly serverAliases: readonly string[];
  /** `DocumentRoot`. */
  readonly documentRoot: string;
  /** The Apache version the site file is written for. */
  readonly apacheVersion: "2.2" | "2.4";
}

/** One ACCEPT in the dom0's FORWARD chain, after aggregation. */
export interface ForwardAcceptModel {
  /** Backend interface of the guest (`-o`). */
  readonly vifname: string;
  /** Guest address (`-d`). */
  readonly address: string;
  /** Transport protocol. */
  readonly protocol: Protocol;
  /** Source network (`-s`); `0.0.0.0/0` for any. */
  readonly source: string;
  /** Destination ports, merged and sorted. */
  readonly ports: readonly PortRange[];
  /** Source ports; empty for any. */
  readonly sourcePorts: readonly PortRange[];
}

/** One dom0's forwarding firewall, aggregated: what both backends' rulesets are rendered from. */
export interface FirewallModel {
  /** Policy of the FORWARD chain. */
  readonly forwardPolicy: "DROP" | "ACCEPT";
  /** Policy of the INPUT chain. */
  readonly inputPolicy: "DROP" | "ACCEPT";
  /** Networks allowed to reach the dom0's sshd. */
  readonly managementCidrs: readonly string[];
  /** The port of the dom0's sshd. */
  readonly sshPort: number;
  /** The FORWARD accepts, in canonical order. */
  readonly accepts: readonly ForwardAcceptModel[];
  /** Vifs whose guests may open connections to anywhere (`-i vif -s ip`). */
  readonly egress: readonly { readonly vifname: string; readonly address: string }[];
}

/** The dom0's uplink, checked: the interface that carries its main IP. */
export interface HostUplinkModel {
  /** Interface name in the dom0. */
  readonly device: string;
  /** The dom0's main IP, with its prefix. */
  readonly address: Ipv4Interface;
}

/** A file a host receives. */
export interface HostFile {
  /** Absolute path on the host. */
  readonly path: string;
  /** The file's text. */
  readonly content: string;
  /** Octal mode, e.g. `0644`. */
  readonly mode: string;
  /**
   * The step puts the file beside `path`, as `<path>.cdktf-xen.pending`, with
   * no backup; its activation puts it in place (the firewall's ruleset, once
   * confirmed). A failed activation removes it.
   * @default false
   */
  readonly pending?: boolean;
}
