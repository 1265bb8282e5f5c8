/**
 * One dom0 and its guests, built from the files they receive: the dom0's
 * xl domain configs (vif-route's /32 routes and proxy ARP per vif),
 * sysctl.d files and vif hook, and its firewall (iptables-restore and ipset
 * files, or nftables); each guest's interface naming, ifupdown interfaces,
 * rt_tables, sysctl.d files and Apache ports and sites.
 */
import { renderVifHook } from "../render/sysctl";
import { ANY, Cidr, ipNum, networkOf, parseCidr } from "./ip";
import { IfupdownConfig, readRtTables } from "./ifupdown";
import { IpSets, IptablesFilter } from "./iptables";
import { NftRuleset } from "./nftables";
import type { Unreadable } from "./outcome";
import { MAIN, Routing } from "./routing";
import { KernelSettings, SysctlBaseline } from "./sysctl";
import { ApacheSocket, readApache, readNaming, readXlCfg, XlVif } from "./host-files";

/** Files a host receives: absolute path to content. */
export type FileSet = Readonly<Record<string, string>>;

export interface Dom0Input {
  /** Name used in traces (the dom0's construct id). */
  readonly id: string;
  /** The interface carrying the dom0's main IP (xl `gatewaydev`), with that address: `192.0.2.1/24`. */
  readonly uplink: { readonly device: string; readonly address: string };
  readonly files: FileSet;
  /**
   * Kernel settings before the files apply (`sysctl -a` of the host).
   * @default - the kernel's defaults (0 for every setting the model reads)
   */
  readonly baseline?: SysctlBaseline;
}

export interface ModelInput {
  readonly dom0: Dom0Input;
  /** The files each guest receives, by Xen domain name (`name` in its xl config). */
  readonly guests: Readonly<Record<string, FileSet>>;
  /**
   * Kernel settings of the guests before their files apply.
   * @default - the kernel's defaults
   */
  readonly guestBaseline?: SysctlBaseline;
}

/** Files read in the order systemd-sysctl applies them (by file name). */
function sysctlFiles(files: FileSet): [string, string][] {
  return Object.entries(files)
    .filter(([p]) => (p.startsWith("/etc/sysctl.d/") && p.endsWith(".conf")) || p === "/etc/sysctl.conf")
    .sort(([a], [b]) => (a === "/etc/sysctl.conf" ? 1 : b === "/etc/sysctl.conf" ? -1 : a.split("/").pop()!.localeCompare(b.split("/").pop()!)));
}

export interface DomVif extends XlVif {
  readonly guest: string;
  readonly cfg: string;
  /** The dom0 interface name (xl `vifname`). */
  readonly dev: string;
}

export class Dom0State {
  readonly routing = new Routing();
  readonly kernel: KernelSettings;
  readonly uplink: { readonly device: string; readonly address: number; readonly net: Cidr };
  /** Guest vifs by dom0 interface name. */
  readonly vifs = new Map<string, DomVif>();
  readonly iptables?: { readonly filter: IptablesFilter; readonly sets: IpSets };
  readonly nft: NftRuleset[] = [];
  /** What the model could not read, by what it puts in doubt. */
  readonly doubts: { readonly firewall: Unreadable[]; readonly kernel: Unreadable[]; readonly vifs: Unreadable[] } = { firewall: [], kernel: [], vifs: [] };

  constructor(readonly input: Dom0Input) {
    const { files, uplink } = input;
    const up = parseCidr(uplink.address);
    const address = ipNum(uplink.address.split("/")[0]);
    if (!up || address === undefined) throw new Error(`uplink address ${JSON.stringify(uplink.address)} is not an IPv4 address with a prefix`);
    this.uplink = { device: uplink.device, address, net: networkOf(address, up.prefix) };
    this.routing.addAddress({ address, prefix: up.prefix, dev: uplink.device }, `the dom0's uplink address`);
    this.routing.addRoute(MAIN, { dest: ANY, dev: uplink.device, metric: 0, origin: "assumed: the dom0's default route leaves by its uplink" });
    this.kernel = new KernelSettings(input.baseline);
    for (const [path, text] of sysctlFiles(files)) this.kernel.readFile(path.split("/").pop()!, text);
    this.doubts.kernel.push(...this.kernel.unreadable);

    const hook = files["/etc/xen/scripts/vif-post.d/cdktf-xen.hook"];
    const looseList = hook && /^\s+(\S+)\) echo 2 >/m.exec(hook)?.[1].split("|");
    const hookKnown = hook === undefined || hook === renderVifHook(looseList || []);
    if (!hookKnown) this.doubts.kernel.push({ file: "cdktf-xen.hook", line: 1, text: "", why: "a vif hook cdktf-xen did not write: its effect on rp_filter is not known" });

    for (const [path, text] of Object.entries(files).filter(([p]) => /^\/etc\/xen\/[^/]+\.cfg$/.test(p)).sort()) {
      const cfg = path.split("/").pop()!;
      const dom = readXlCfg(cfg, text, this.doubts.vifs);
      const guest = dom.name ?? cfg.replace(/\.cfg$/, "");
      for (const v of dom.vifs) {
        if (v.script !== "vif-route") {
          this.doubts.vifs.push({ file: cfg, line: v.line, text: `script=${v.script}`, why: "only vif-route vifs are read by the model" });
          continue;
        }
        if ((v.gatewaydev ?? "eth0") !== uplink.device) {
          this.doubts.vifs.push({ file: cfg, line: v.line, text: `gatewaydev=${v.gatewaydev ?? "eth0"}`, why: `vif-route takes the main IP from ${v.gatewaydev ?? "eth0 (its default)"}, not the uplink ${uplink.device}` });
          continue;
        }
        if (!v.vifname) {
          this.doubts.vifs.push({ file: cfg, line: v.line, text: `vif ${v.index}`, why: `no vifname: xl names it vif<domid>.${v.index}, known only once the guest runs` });
          continue;
        }
        const dev = v.vifname;
        this.vifs.set(dev, { ...v, guest, cfg, dev });
        // What vif-route does for the vif: the main IP as a /32, proxy ARP, a /32 route per ip= (metric 2).
        this.routing.addAddress({ address, prefix: 32, dev }, `vif-route, ${cfg} vif ${v.index}`);
        this.kernel.setInterface(dev, "proxy_arp", 1, `vif-route, ${cfg} vif ${v.index}`);
        for (const ip of v.ips) this.routing.addRoute(MAIN, { dest: { net: ip, prefix: 32 }, dev, src: address, metric: 2, origin: `vif-route, ${cfg} vif ${v.index}` });
        if (hook !== undefined) {
          const value = !hookKnown ? undefined : (looseList || []).includes(dev) ? 2 : 1;
          this.kernel.setInterface(dev, "rp_filter", value, "cdktf-xen.hook");
        }
      }
    }

    const rules = files["/etc/iptables/rules.v4"];
    if (rules !== undefined) {
      const filter = new IptablesFilter("/etc/iptables/rules.v4", rules);
      const sets = IpSets.read("/etc/iptables/ipsets", files["/etc/iptables/ipsets"] ?? "");
      this.doubts.firewall.push(...filter.unreadable, ...sets.unreadable);
      this.iptables = { filter, sets };
    }
    for (const [path, text] of Object.entries(files).filter(([p]) => /^\/etc\/cdktf-xen\/[^/]+\.nft$/.test(p) || p === "/etc/nftables.conf").sort()) {
      const nft = new NftRuleset(path, text);
      this.doubts.firewall.push(...nft.unreadable);
      this.nft.push(nft);
    }
  }

  /** Whether the files hold a firewall at all. */
  get hasFirewall(): boolean {
    return this.iptables !== undefined || this.nft.length > 0;
  }

  /** Everything the model could not read on this dom0. */
  get unreadable(): Unreadable[] {
    return [...this.doubts.vifs, ...this.doubts.kernel, ...this.doubts.firewall];
  }
}

export class GuestState {
  readonly routing = new Routing();
  readonly kernel: KernelSettings;
  readonly unreadable: Unreadable[] = [];
  /** The guest interface of each vif, by vif index. */
  readonly devices = new Map<number, { readonly dev: string; readonly where: string }>();
  readonly apache?: { listens: ApacheSocket[]; vhosts: (ApacheSocket & { site: string })[] };

  constructor(readonly name: string, files: FileSet, vifs: readonly DomVif[], baseline?: SysctlBaseline) {
    this.kernel = new KernelSettings(baseline);
    for (const [path, text] of sysctlFiles(files)) this.kernel.readFile(path.split("/").pop()!, text);
    this.unreadable.push(...this.kernel.unreadable);
    const naming = readNaming(files);
    for (const v of vifs) {
      const named = v.mac ? naming.get(v.mac) : undefined;
      this.devices.set(v.index, named ? { dev: named.name, where: `MAC ${v.mac}, ${named.where}` } : { dev: `eth${v.index}`, where: `assumed: no naming file names MAC ${v.mac ?? "(none)"}, so the kernel's eth${v.index} in vif order` });
    }
    const tables: Record<string, number> = {};
    for (const [path, text] of Object.entries(files)) {
      if (path === "/etc/iproute2/rt_tables" || (path.startsWith("/etc/iproute2/rt_tables.d/") && path.endsWith(".conf"))) readRtTables(text, tables);
    }
    const interfaces = files["/etc/network/interfaces"];
    if (interfaces === undefined) {
      this.unreadable.push({ file: "/etc/network/interfaces", line: 0, text: "", why: "the guest's network configuration is not among the files" });
    } else {
      const cfg = new IfupdownConfig("/etc/network/interfaces", interfaces);
      const present = new Set([...this.devices.values()].map((d) => d.dev));
      cfg.bringUp(this.routing, tables, (n) => present.has(n));
      this.unreadable.push(...cfg.unreadable);
    }
    this.apache = readApache(files);
  }

  /** The vif index whose guest interface is `dev`. */
  vifOf(dev: string): number | undefined {
    for (const [i, d] of this.devices) if (d.dev === dev) return i;
    return undefined;
  }
}
