/**
 * One dom0 and its guests, built from the files they receive: the dom0's
 * xl domain configs (vif-route's /32 routes and proxy ARP per vif),
 * sysctl.d files and vif hook, and its firewall (iptables-restore and ipset
 * files, or nftables: firewalls.ts); each guest's interface naming, ifupdown
 * interfaces, rt_tables, sysctl.d files, Apache ports and sites, and its own
 * firewall when it has one.
 */
import { renderVifHook, VIF_HOOK_LOOSE, VIF_HOOK_PATH } from "../concerns/dom0-sysctl/vif-hook";
import { ANY, Cidr, ipNum, networkOf, parseCidr } from "./ip";
import { IfupdownConfig, readRtTables } from "./ifupdown";
import { byFileName, byteOrder, filesMatching, pathsMatching, withTexts } from "./files-by-path";
import { Firewalls } from "./firewalls";
import type { Unreadable } from "./outcome";
import { rememberPrevious } from "./memo";
import { MAIN, Routing } from "./routing";
import { CONF_KEYS, KernelSettings, readSysctlDump, SysctlBaseline } from "./sysctl";
import { LiveRoutingText, readLiveRouting } from "./live-routing";
import { NetworkdConfig, networkdFilesOf } from "./networkd";
import { netplanAsNetworkd, netplanFilesOf } from "./netplan";
import { ApacheConfig, readApache } from "./apache";
import { readXlCfg, readXlDefaults, XL_DOMAIN_CONFIG, XlDefaults, XlVif } from "./host-files";
import { guestNames } from "./naming";

/** Where vif-route finds the hooks it sources for every vif. */
const VIF_POST_D = "/etc/xen/scripts/vif-post.d/";

/** The hooks vif-route sources for every vif: the library's (read, when it wrote it), and others by name. */
interface VifHooks {
  readonly own?: { readonly known: boolean; readonly loose: readonly string[] };
  readonly others?: string;
}

/** The vif hook's line naming the vifs that get loose rp_filter. */
const LOOSE_VIFS_LINE = new RegExp(`^${VIF_HOOK_LOOSE}='([^']*)'$`, "m");

/** Files a host receives: absolute path to content. A copy of a host gives systemd's links in /etc/systemd/system as the paths they point to. */
export type FileSet = Readonly<Record<string, string>>;

/** A dom0's uplink, as the model is told it. */
export interface UplinkInput {
  /** The interface's name: `eth0`. */
  readonly device: string;
  /** Its address with its prefix: `192.0.2.1/24`. */
  readonly address: string;
}

/** A dom0 as the model reads it: its files, and what it runs now where that was captured. */
export interface Dom0Input {
  /** Name used in traces (the dom0's construct id). */
  readonly id: string;
  /** The interface carrying the dom0's main IP (xl `gatewaydev`), with that address: `192.0.2.1/24`. */
  readonly uplink: UplinkInput;
  /** The files the dom0 has (or receives). */
  readonly files: FileSet;
  /**
   * Kernel settings before the files apply (what the host boots with). What it runs now is `running.sysctl`.
   * @default - the kernel's defaults (0 for every setting the model reads)
   */
  readonly baseline?: SysctlBaseline;
  /**
   * What the dom0 runs now, captured from it; where given, it wins over the files.
   * @default - the files alone
   */
  readonly running?: Dom0Running;
}

/** State captured from a running dom0 (`cdktf-xen doctor` reads it beside a copy of its files). */
export interface Dom0Running {
  /** `iptables-save` output: the firewall loaded now, in place of /etc/iptables/rules.v4. */
  readonly iptablesSave?: string;
  /** `nft list ruleset` output: the ruleset loaded now, in place of the nftables files. */
  readonly nftRuleset?: string;
  /** Domain ids by domain name (`xl list`): names the vifs whose config gives no `vifname` (`vif<domid>.<devid>`). */
  readonly domainIds?: Readonly<Record<string, number>>;
  /** Addresses, routes and rules as iproute2 prints them: in place of the uplink and vif-route's routes. */
  readonly routing?: LiveRoutingText;
  /**
   * `sysctl -a` output: the kernel's settings now, each interface's own among them, in place of what the
   * sysctl files and the vif hooks set (a vif made later takes `default` as it is now, then what a hook sets).
   */
  readonly sysctl?: string;
}

/** State captured from a running guest. */
export interface GuestRunning {
  /** `ip -o link show` output: the name of each interface by its MAC, in place of what the naming files say. */
  readonly links?: string;
  /** Addresses, routes and rules as iproute2 prints them: in place of the interfaces file. */
  readonly routing?: LiveRoutingText;
  /** `iptables-save` output: the firewall loaded now, in place of /etc/iptables/rules.v4. */
  readonly iptablesSave?: string;
  /** `nft list ruleset` output: the ruleset loaded now, in place of the nftables files. */
  readonly nftRuleset?: string;
  /** `ss -Hltnp` output: the sockets Apache listens on now, in place of its Listen lines. */
  readonly listening?: string;
  /** `sysctl -a` output: the kernel's settings now, each interface's own among them, in place of what the sysctl files set. */
  readonly sysctl?: string;
}

/** What the model reads: a dom0's files and its guests' files. */
export interface ModelInput {
  /** The dom0: its id, uplink and files. */
  readonly dom0: Dom0Input;
  /** The files each guest receives, by Xen domain name (`name` in its xl config). */
  readonly guests: Readonly<Record<string, FileSet>>;
  /**
   * Kernel settings of the guests before their files apply.
   * @default - the kernel's defaults
   */
  readonly guestBaseline?: SysctlBaseline;
  /**
   * Kernel settings of one guest before its files apply, by guest name; wins over `guestBaseline`. What a guest runs now is its `guestsRunning` `sysctl`.
   * @default - `guestBaseline` for every guest
   */
  readonly guestBaselines?: Readonly<Record<string, SysctlBaseline>>;
  /**
   * What each guest runs now, by guest name; where given, it wins over its files.
   * @default - the files alone
   */
  readonly guestsRunning?: Readonly<Record<string, GuestRunning>>;
}

/**
 * The sysctl files among `files`, in the order systemd-sysctl applies them:
 * by file name in byte order (strcmp: upper case before lower case).
 * `/etc/sysctl.conf` is read where Debian's link `/etc/sysctl.d/99-sysctl.conf`
 * puts it, unless the files hold that name themselves.
 */
export function sysctlOrder(files: FileSet): [string, string][] {
  const paths = pathsMatching(files, (p) => p.startsWith(SYSCTL_D) && p.endsWith(".conf") && p.indexOf("/", SYSCTL_D.length) < 0);
  if (files[SYSCTL_CONF] !== undefined && files[`${SYSCTL_D}99-sysctl.conf`] === undefined) paths.push(SYSCTL_CONF);
  const name = (p: string) => (p === SYSCTL_CONF ? "99-sysctl.conf" : p.slice(SYSCTL_D.length));
  return withTexts(files, paths.sort((a, b) => byteOrder(name(a), name(b))));
}

/** Where systemd-sysctl reads the sysctl files of /etc, and Debian's file it links there as 99-sysctl.conf. */
const SYSCTL_D = "/etc/sysctl.d/";
const SYSCTL_CONF = "/etc/sysctl.conf";

/** The kernel settings the sysctl `files` (in the order they apply) make of `baseline`; what `sysctl -a` printed on the running host wins. */
function kernelFrom(baseline: SysctlBaseline | undefined, files: readonly [string, string][], now: string | undefined): KernelSettings {
  const kernel = new KernelSettings(baseline, now === undefined ? undefined : readSysctlDump(now));
  for (const [path, text] of files) kernel.readFile(path.slice(path.lastIndexOf("/") + 1), text);
  return kernel;
}

/** A guest's sysctl files, in the order they apply, the baseline under them, and what `sysctl -a` printed on it. */
interface GuestSysctl {
  readonly baseline?: SysctlBaseline;
  readonly files: readonly [string, string][];
  readonly now?: string;
}

/**
 * A guest's kernel settings. Guests with the same sysctl files and baseline
 * share one KernelSettings (a fleet's guests mostly do): its values depend on
 * nothing else, and nothing changes a guest's after its files are read
 * (setInterface is for the dom0's vifs).
 */
const guestKernel = rememberPrevious(
  (a: GuestSysctl, b: GuestSysctl) => a.baseline === b.baseline && a.now === b.now && a.files.length === b.files.length && a.files.every(([path, text], i) => path === b.files[i][0] && text === b.files[i][1]),
  ({ baseline, files, now }: GuestSysctl) => kernelFrom(baseline, files, now),
);

export interface DomVif extends XlVif {
  readonly guest: string;
  readonly cfg: string;
  /** The dom0 interface name (xl `vifname`). */
  readonly dev: string;
}

/** Table names from the rt_tables files among `files`. */
function rtTablesOf(files: FileSet): Record<string, number> {
  const tables: Record<string, number> = {};
  for (const [path, text] of Object.entries(files)) {
    if (path === "/etc/iproute2/rt_tables" || (path.startsWith("/etc/iproute2/rt_tables.d/") && path.endsWith(".conf"))) readRtTables(text, tables);
  }
  return tables;
}

export class Dom0State {
  readonly routing: Routing;
  readonly kernel: KernelSettings;
  readonly uplink: { readonly device: string; readonly address: number; readonly net: Cidr };
  /** Guest vifs by dom0 interface name. */
  readonly vifs = new Map<string, DomVif>();
  /** Its firewalls, from the files or what it runs now (what they cannot read is theirs: `firewalls.unreadable`). */
  readonly firewalls: Firewalls;
  /** What the model could not read, by what it puts in doubt. */
  readonly doubts: { readonly kernel: Unreadable[]; readonly vifs: Unreadable[]; readonly routing: Unreadable[] } = { kernel: [], vifs: [], routing: [] };

  constructor(readonly input: Dom0Input) {
    const { files, uplink } = input;
    const up = parseCidr(uplink.address);
    const address = ipNum(uplink.address.split("/")[0]);
    if (!up || address === undefined) throw new Error(`uplink address ${JSON.stringify(uplink.address)} is not an IPv4 address with a prefix`);
    this.uplink = { device: uplink.device, address, net: networkOf(address, up.prefix) };
    const liveRouting = input.running?.routing;
    // The dom0's own interfaces file, when the files hold it (a copy of a host): its interfaces, routes and rules, as ifup -a brings them up, and the firewall rules its up lines load.
    const interfaces = files["/etc/network/interfaces"];
    const ifupdown = interfaces === undefined ? undefined : new IfupdownConfig("/etc/network/interfaces", interfaces, files);
    if (liveRouting) {
      const live = readLiveRouting(liveRouting, rtTablesOf(files));
      this.routing = live.routing;
      this.doubts.vifs.push(...live.unreadable);
    } else {
      this.routing = new Routing();
      if (ifupdown) {
        ifupdown.bringUp(this.routing, rtTablesOf(files), () => true);
        this.doubts.routing.push(...ifupdown.unreadable);
      }
      if (!this.routing.addressOn(address, uplink.device)) this.routing.addAddress({ address, prefix: up.prefix, dev: uplink.device }, `the dom0's uplink address`);
      if (!this.routing.hasDefaultRoute()) this.routing.addRoute(MAIN, { dest: ANY, dev: uplink.device, metric: 0, origin: "assumed: the dom0's default route leaves by its uplink" });
    }
    this.kernel = kernelFrom(input.baseline, sysctlOrder(files), input.running?.sysctl);
    this.doubts.kernel.push(...this.kernel.unreadable);

    const hook = files[VIF_HOOK_PATH];
    const looseList = hook && LOOSE_VIFS_LINE.exec(hook)?.[1].split(" ").filter(Boolean);
    const hookKnown = hook === undefined || hook === renderVifHook(looseList || []);
    if (!hookKnown) this.doubts.kernel.push({ file: "cdktf-xen.hook", line: 1, text: "", why: "a vif hook cdktf-xen did not write: its effect on rp_filter is not known" });
    // vif-route sources every hook of vif-post.d for each vif it brings up (Xen's call_hooks): one of someone else's may set anything there.
    const others = filesMatching(files, (p) => p.startsWith(VIF_POST_D) && p.endsWith(".hook") && p !== VIF_HOOK_PATH).map(([p]) => p);
    for (const p of others) this.doubts.kernel.push({ file: p, line: 0, text: "", why: "a vif hook of someone else's: vif-route sources every hook of vif-post.d for each vif it brings up, and what it sets there (sysctls, routes, firewall rules) is not read by the model" });

    const defaults = readXlDefaults(files["/etc/xen/xl.conf"] ?? "");
    if (defaults.rejected) this.doubts.vifs.push({ file: "xl.conf", line: defaults.rejected.line, text: "", why: `xl cannot read the file (${defaults.rejected.why}): the vif defaults it sets are not known` });
    const vifHooks: VifHooks = { own: hook === undefined ? undefined : { known: hookKnown, loose: looseList || [] }, others: others.length ? others.map((p) => p.slice(VIF_POST_D.length)).join(", ") : undefined };
    // One method per domain config: V8 compiles a long loop's function while it runs, and again when what it
    // inlined meets a new shape; this constructor runs once per dom0.
    for (const [path, text] of filesMatching(files, (p) => XL_DOMAIN_CONFIG.test(p))) this.readDomain(path, text, defaults, vifHooks);

    // Firewall rules such a hook adds are in what runs now, when that was captured; the files do not hold them.
    const hookRules = others.slice(0, 1).map((file) => ({ file, line: 0, text: "", why: "a vif hook of someone else's may add firewall rules for each vif (iptables-save or nft list ruleset, captured beside the copy, shows them)" }));
    this.firewalls = new Firewalls(files, input.running, hookRules, ifupdown?.firewallCommands(() => true));
  }

  private readonly byGuest = new Map<string, DomVif[]>();

  /** The vifs of one xl domain config: what vif-route does for each (the main IP as a /32, proxy ARP, a /32 route per ip=). */
  private readDomain(path: string, text: string, defaults: XlDefaults, vifHooks: VifHooks): void {
    const { device, address } = this.uplink;
    const running = this.input.running ?? {};
    // A running dom0's routing already shows its addresses and routes.
    const liveRouting = running.routing !== undefined;
    const cfg = path.split("/").pop()!;
    const dom = readXlCfg(cfg, text, this.doubts.vifs, defaults);
    const guest = dom.name ?? cfg.replace(/\.cfg$/, "");
    const domid = running.domainIds?.[guest];
    for (const given of dom.vifs) {
      const v = given.vifname || domid === undefined ? given : { ...given, vifname: `vif${domid}.${given.index}` };
      if (v.script !== "vif-route") {
        this.doubts.vifs.push({ file: cfg, line: v.line, text: `script=${v.script}`, why: "only vif-route vifs are read by the model" });
        continue;
      }
      if ((v.gatewaydev ?? "eth0") !== device) {
        this.doubts.vifs.push({ file: cfg, line: v.line, text: `gatewaydev=${v.gatewaydev ?? "eth0"}`, why: `vif-route takes the main IP from ${v.gatewaydev ?? "eth0 (its default)"}, not the uplink ${device}` });
        continue;
      }
      if (!v.vifname) {
        this.doubts.vifs.push({ file: cfg, line: v.line, text: `vif ${v.index}`, why: `no vifname: xl names it vif<domid>.${v.index}, known only once the guest runs (give the domain ids, as \`xl list\` prints them)` });
        continue;
      }
      const dev = v.vifname;
      const origin = `vif-route, ${cfg} vif ${v.index}`;
      // Field by field: V8's object spread copies these slowly (the proof reads thousands of vifs).
      const domVif: DomVif = { index: v.index, mac: v.mac, ips: v.ips, vifname: v.vifname, script: v.script, gatewaydev: v.gatewaydev, line: v.line, guest, cfg, dev };
      this.vifs.set(dev, domVif);
      const ofGuest = this.byGuest.get(guest);
      if (ofGuest) ofGuest.push(domVif);
      else this.byGuest.set(guest, [domVif]);
      // What vif-route does for the vif: the main IP as a /32, proxy ARP, a /32 route per ip= (metric 2).
      if (!liveRouting) this.routing.addAddress({ address, prefix: 32, dev }, origin);
      this.kernel.setInterface(dev, "proxy_arp", 1, origin);
      if (!liveRouting) for (const ip of v.ips) this.routing.addRoute(MAIN, { dest: { net: ip, prefix: 32 }, dev, src: address, metric: 2, origin });
      const own = vifHooks.own;
      if (own) this.kernel.setInterface(dev, "rp_filter", !own.known ? undefined : own.loose.includes(dev) ? 2 : 1, "cdktf-xen.hook");
      if (vifHooks.others) for (const key of CONF_KEYS) this.kernel.setInterface(dev, key, undefined, vifHooks.others);
    }
  }

  /** The vifs of `guest`, in the order of the xl configs. */
  vifsOf(guest: string): readonly DomVif[] {
    return this.byGuest.get(guest) ?? [];
  }

  /** The vif of `guest` with index `index`. */
  vifOf(guest: string, index: number): DomVif | undefined {
    return this.vifsOf(guest).find((v) => v.index === index);
  }

  /** Everything the model could not read on this dom0. */
  get unreadable(): Unreadable[] {
    return [...this.doubts.vifs, ...this.doubts.routing, ...this.doubts.kernel, ...this.firewalls.unreadable];
  }
}

export class GuestState {
  readonly routing: Routing;
  readonly kernel: KernelSettings;
  /** What the model could not read of the guest's network and kernel settings. */
  readonly unreadable: Unreadable[] = [];
  /** Its firewalls, when the files (or what it runs now) hold one: a guest without any filters nothing. */
  readonly firewalls?: Firewalls;
  /** The guest interface of each vif, by vif index. */
  readonly devices = new Map<number, { readonly dev: string; readonly where: string }>();
  private readonly vifByDevice = new Map<string, number>();
  /** Apache's configuration, when the files hold one. */
  readonly apache?: ApacheConfig;

  constructor(readonly name: string, files: FileSet, vifs: readonly DomVif[], baseline?: SysctlBaseline, running: GuestRunning = {}) {
    this.kernel = guestKernel({ baseline, files: sysctlOrder(files), now: running.sysctl });
    this.unreadable.push(...this.kernel.unreadable);
    const naming = guestNames(files, running.links, this.unreadable);
    for (const v of vifs) {
      const named = v.mac ? naming.get(v.mac) : undefined;
      if (running.links !== undefined && !named) this.unreadable.push({ file: "ip-link", line: 0, text: "", why: `the guest shows no interface with MAC ${v.mac ?? "(none: xl picks one)"}, the MAC of its vif ${v.index}` });
      const device = named ? { dev: named.name, where: `MAC ${v.mac}, ${named.where}` } : { dev: `eth${v.index}`, where: `assumed: no naming file names MAC ${v.mac ?? "(none)"}, so the kernel's eth${v.index} in vif order` };
      this.devices.set(v.index, device);
      if (!this.vifByDevice.has(device.dev)) this.vifByDevice.set(device.dev, v.index);
    }
    const tables = rtTablesOf(files);
    const interfaces = files["/etc/network/interfaces"];
    const ifupdown = interfaces === undefined ? undefined : new IfupdownConfig("/etc/network/interfaces", interfaces, files);
    const present = new Set([...this.devices.values()].map((d) => d.dev));
    // netplan's YAML, as the .network files `netplan generate` writes from it, beside networkd's own (by file name, as networkd reads them).
    const plan = netplanFilesOf(files);
    const fromPlan = plan.length ? netplanAsNetworkd(plan) : undefined;
    if (fromPlan) this.unreadable.push(...fromPlan.unreadable);
    const own = networkdFilesOf(files);
    const networkd = fromPlan ? [...fromPlan.networkd, ...own].sort((a, b) => byFileName(a[0], b[0])) : own;
    if (running.routing) {
      // What runs now, in place of what the interfaces file brings up at boot.
      const live = readLiveRouting(running.routing, tables);
      this.routing = live.routing;
      this.unreadable.push(...live.unreadable);
    } else if (networkd.length) {
      this.routing = new Routing();
      const macs = new Map(vifs.map((v) => [this.devices.get(v.index)!.dev, v.mac]));
      const cfg = new NetworkdConfig(networkd);
      cfg.bringUp(this.routing, [...present], (dev) => macs.get(dev));
      this.routing.unorderedBecause = "systemd-networkd configures the interfaces in parallel";
      this.unreadable.push(...cfg.unreadable);
      // ifupdown configuring the same interfaces too: which of the two wins is not known.
      const both = ifupdown ? ifupdown.auto.filter((n) => present.has(n)) : [];
      if (both.length) this.unreadable.push({ file: "/etc/network/interfaces", line: 0, text: "", why: `ifupdown brings up ${both.join(", ")} too, which systemd-networkd's .network files (or netplan's) configure` });
    } else if (!ifupdown) {
      this.routing = new Routing();
      this.unreadable.push({ file: "/etc/network/interfaces", line: 0, text: "", why: "the guest's network configuration is not among the files" });
    } else {
      this.routing = new Routing();
      ifupdown.bringUp(this.routing, tables, (n) => present.has(n));
      this.unreadable.push(...ifupdown.unreadable);
    }
    this.apache = readApache(files, running.listening);
    const firewalls = new Firewalls(files, running, [], ifupdown?.firewallCommands((n) => present.has(n)));
    if (firewalls.present) this.firewalls = firewalls;
  }

  /** The vif index whose guest interface is `dev`. */
  vifOf(dev: string): number | undefined {
    return this.vifByDevice.get(dev);
  }
}

/** How many guests a model keeps read at once. */
const GUESTS_KEPT = 4;

/**
 * The guests of a dom0, each read from its files when first asked about.
 * Only the few read last are kept: a proof that goes guest by guest holds
 * little at once, and one flow reads one guest.
 */
export class Guests {
  private readonly kept = new Map<string, GuestState>();
  private readonly dropped: ((vifs: readonly DomVif[]) => void)[] = [];

  constructor(
    private readonly dom0: Dom0State,
    private readonly files: Readonly<Record<string, FileSet>>,
    private readonly baseline?: SysctlBaseline,
    private readonly baselines: Readonly<Record<string, SysctlBaseline>> = {},
    private readonly running: Readonly<Record<string, GuestRunning>> = {},
  ) {}

  /** The guest's names, as the files give them. */
  get names(): string[] {
    return Object.keys(this.files);
  }

  /** The guest read from its files, or undefined when its files are not in the model. */
  get(name: string): GuestState | undefined {
    const hit = this.kept.get(name);
    if (hit) return hit;
    if (!Object.prototype.hasOwnProperty.call(this.files, name)) return undefined;
    const guest = new GuestState(name, this.files[name], this.dom0.vifsOf(name), this.baselines[name] ?? this.baseline, this.running[name]);
    this.kept.set(name, guest);
    if (this.kept.size > GUESTS_KEPT) {
      const oldest = this.kept.keys().next().value as string;
      this.kept.delete(oldest);
      for (const f of this.dropped) f(this.dom0.vifsOf(oldest));
    }
    return guest;
  }

  /** Calls `f` with the vifs of each guest no longer kept: what was worked out from it goes too. */
  onDropped(f: (vifs: readonly DomVif[]) => void): void {
    this.dropped.push(f);
  }
}