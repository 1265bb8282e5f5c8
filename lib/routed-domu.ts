import { Annotations, TerraformResource } from "./private/cdk";
import { Construct } from "constructs";
import type { GuestBoot, GuestModel, GuestNetwork, HostFile, InterfaceNaming, VifModel } from "./model";
import { at, PropSite, XenPropError } from "./validation/errors";
import { parseHostIpv4, parseInterfaceCidr } from "./validation/ipv4";
import { parseMac } from "./validation/mac";
import { freeChildId, parseAbsolutePath, parseHostId, parseInteger, parseInterfaceName, parseName } from "./validation/names";
import { parseDiskSpec } from "./validation/disk";
import { maxVifnameLength, XL_MAX_VIFS } from "./render/xl-cfg";
import { labGuestSsh } from "./private/lab-context";
import { oncePerSynth, registerFileHost } from "./private/stack-support";
import { apachePortsStep, sitesInventoryStep } from "./concerns/apache";
import { guestCfgStep } from "./concerns/guests";
import { guestNetworkStep } from "./concerns/guest-network";
import { addDependency, connectionHostKey, connectionPrivateKey, deployStep, SshEndpoint, StepConnection } from "./deploy/engine";
import type { StepModel } from "./deploy/step";
import type { XenHost } from "./xen-host";
import { brand, hasBrand, ROUTED_DOMU, WEB_VHOST, XEN_HOST } from "./private/brands";
import { Connections, IConnectable } from "./connections/connections";
import { forwardFrom } from "./forward-rule";
import type { WebVhost } from "./web-vhost";

/** One routed vif: one MAC, one IP. */
export interface RoutedVif {
  /** The vif's MAC, e.g. `00:16:3e:00:00:01`; always written, so the guest's interface names stay stable. */
  readonly mac: string;
  /** The guest's address on this vif with its prefix, e.g. `192.0.2.200/24`. */
  readonly address: string;
  /**
   * Further addresses on the same vif, with their prefixes: xl lists them all
   * in `ip=`, vif-route routes each to this vif, and the guest holds them all
   * on this interface, so that a reply from any of them leaves by the vif it
   * came in by without policy routing (see the README: one vif per address,
   * or several addresses per vif).
   * @default []
   */
  readonly additionalAddresses?: string[];
  /**
   * Name of the backend interface in the dom0 (firewall rules use it).
   * @default "<guest name>-<index>"
   */
  readonly vifname?: string;
  /**
   * Name of the interface inside the guest.
   * @default "eth<index>" for iftab, "enX<index>" for udev and systemd-link naming
   */
  readonly device?: string;
}

/** How the deploy reaches the guest over SSH. */
export interface RoutedDomUSsh {
  /**
   * Address of the guest's sshd.
   * @default - the guest's first address
   */
  readonly host?: string;
  /**
   * Login user.
   * @default "root"
   */
  readonly user?: string;
  /**
   * sshd port.
   * @default 22
   */
  readonly port?: number;
  /**
   * Private key, as a reference to a sensitive `TerraformVariable` (see
   * `XenHostSsh.privateKey` for where Terraform writes its value).
   * @default - the dom0's key (or the SSH agent)
   */
  readonly privateKey?: string;
  /**
   * Path of the private key file on the machine that runs Terraform
   * (absolute, or under `~/`), read only when a step connects. Not together
   * with `privateKey`.
   * @default - the dom0's key (or the SSH agent)
   */
  readonly privateKeyFile?: string;
  /**
   * The guest's public host key (`ssh-ed25519 AAAA...`), pinned for the
   * connection once the guest's keys are known. Checked at synth. Through
   * the dom0, it needs a Terraform with the fix of hashicorp/terraform#38318
   * (a warning says so): older releases check the bastion against it.
   * @default - not pinned: Terraform accepts any host key from the guest
   */
  readonly hostKey?: string;
  /**
   * Reach the guest through its dom0 as SSH bastion.
   * @default true
   */
  readonly viaDom0?: boolean;
}

/** Props of a {@link RoutedDomU}: the domain's xl settings, one vif per address, its network and SSH access. */
export interface RoutedDomUProps {
  /**
   * Xen domain name; also the name of `/etc/xen/<name>.cfg`.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Memory in MiB.
   * @default 512
   */
  readonly memory?: number;
  /**
   * Virtual CPUs.
   * @default 1
   */
  readonly vcpus?: number;
  /**
   * Guest type.
   * @default "pv"
   */
  readonly type?: "pv" | "pvh" | "hvm";
  /**
   * Kernel image on the dom0 (direct boot). Without it the guest boots through `bootloader`.
   * @default - none
   */
  readonly kernel?: string;
  /** Initial ramdisk on the dom0, with `kernel`. @default - none */
  readonly ramdisk?: string;
  /** Root device for the kernel, e.g. `/dev/xvda1 ro`, with `kernel`. @default - none */
  readonly root?: string;
  /** Extra kernel command line, with `kernel`. @default - none */
  readonly extra?: string;
  /**
   * Bootloader, when no `kernel` is given.
   * @default "pygrub"
   */
  readonly bootloader?: string;
  /** xl disk specs, e.g. `phy:/dev/vg0/webserv,xvda,w`. */
  readonly disks: string[];
  /** One vif per IP address, in order; the first carries the default route. */
  readonly vifs: RoutedVif[];
  /**
   * The router of the guest.
   * @default - the dom0's uplink address (its main IP)
   */
  readonly gateway?: string;
  /**
   * How the guest pins interface names to MACs.
   * @default "iftab" ("systemd-link" with guestNetwork "systemd-networkd" or "netplan")
   */
  readonly interfaceNaming?: InterfaceNaming;
  /**
   * What configures the guest's network: ifupdown (`/etc/network/interfaces`),
   * systemd-networkd (one `.network` file per interface, applied by
   * `networkctl reload` and `reconfigure`, which keep the addresses the
   * deploy's own SSH session uses), or netplan (one YAML file, checked by
   * `netplan generate` and applied the same way). Both take `.link` naming
   * (iftab is ifupdown's).
   * @default "ifupdown"
   */
  readonly guestNetwork?: GuestNetwork;
  /**
   * Source-based policy routing (one table and one `ip rule` per interface),
   * which keeps replies leaving through the vif they belong to.
   * @default - true when the guest has more than one vif
   */
  readonly policyRouting?: boolean;
  /**
   * Reverse-path filter of the guest's vifs on the dom0, and of the guest
   * itself. `strict` (the dom0's default for every vif) drops a packet that
   * comes in by an interface other than the one its source is routed by:
   * with policy routing every reply leaves by its own vif and passes.
   * `loose` only asks that the source be routable at all: what a guest
   * without policy routing needs (`policyRouting: false` with several vifs),
   * as its replies leave by the first vif of the subnet. Loose filtering lets
   * that guest send from any of its addresses through any of its vifs.
   * @default "strict"
   */
  readonly reversePathFilter?: "strict" | "loose";
  /**
   * Let the guest open connections to anywhere through the dom0 (updates, DNS).
   * @default false
   */
  readonly allowEgress?: boolean;
  /**
   * Restart the guest (`xl shutdown -w`, then `xl create`) when a deploy
   * changes its cfg while it runs. Without it a running guest is never
   * restarted: the new cfg takes effect the next time the guest is created.
   * @default false
   */
  readonly restartOnChange?: boolean;
  /**
   * SSH access for the deploy.
   * @default - root on the first address, through the dom0, with the dom0's key
   */
  readonly ssh?: RoutedDomUSsh;
}

const TYPES = ["pv", "pvh", "hvm"] as const;

/**
 * A vifname: an interface name the dom0 has no other use for. Not the uplink,
 * not `lo`, and not xl's own `vif<domid>.<devid>` pattern, which another
 * guest's unnamed vif takes at its next start.
 */
function parseVifname(value: unknown, site: PropSite, maxLength: number, uplink: string): string {
  const name = parseInterfaceName(value, site, maxLength);
  if (name === uplink || name === "lo" || /^vif\d+\.\d+(-emu)?$/.test(name)) {
    throw new XenPropError(site, value, `the dom0 has another use for this name (${name === uplink ? "its uplink" : name === "lo" ? "loopback" : "xl's own name for an unnamed vif"}); expected a name such as <guest>-0`);
  }
  return name;
}
const NAMINGS: readonly InterfaceNaming[] = ["iftab", "udev", "systemd-link"];
const NETWORKS: readonly GuestNetwork[] = ["ifupdown", "systemd-networkd", "netplan"];
/** Kernel command lines and root specs: no quotes, backslashes or control characters. */
const KERNEL_ARGS = /^[A-Za-z0-9 ._=:,/+@-]+$/;

/**
 * A guest under a XenHost in routed mode: one vif and MAC per IP address,
 * with the guest's network, interface naming and ARP settings generated so
 * that every address answers.
 *
 * @example
 * const web = new RoutedDomU(dom0, "web", {
 *   memory: 512,
 *   disks: ["phy:/dev/vg0/web,xvda,w"],
 *   vifs: [
 *     { mac: "00:16:3e:00:00:10", address: "192.0.2.10/24" },
 *     { mac: "00:16:3e:00:00:11", address: "192.0.2.11/24" },
 *   ],
 * });
 */
export class RoutedDomU extends Construct implements IConnectable {
  /** Returns true when `x` is a RoutedDomU (of any copy of this library). */
  static isRoutedDomU(x: unknown): x is RoutedDomU {
    return hasBrand(x, ROUTED_DOMU);
  }

  /**
   * Who may reach this guest, on which ports, and whether it may open
   * connections itself: `web.connections.allowFrom(Peer.anyIpv4(), Port.tcp(443))`
   * forwards that port to every address of the guest;
   * `web.connections.allowToAnyIpv4()` lets it reach any address (as `allowEgress`).
   */
  readonly connections: Connections;

  /** The construct id, which names this guest in messages and in the preview's `hosts/<id>/`. */
  readonly hostId: string;
  /** The dom0 this guest runs on. */
  readonly dom0: XenHost;
  /** Xen domain name. */
  readonly name: string;
  /** The guest's addresses, in vif order. */
  readonly addresses: string[];
  /** Reverse-path filter of this guest's vifs on the dom0, and of the guest. */
  readonly reversePathFilter: "strict" | "loose";
  private readonly model: GuestModel;
  private allowEgress: boolean;
  private readonly restartOnChange: boolean;

  constructor(scope: XenHost, id: string, props: RoutedDomUProps) {
    super(scope, freeChildId(scope, id));
    brand(this, ROUTED_DOMU);
    const site = (prop: string): PropSite => ({ path: this.node.path, prop });
    if (!hasBrand(scope, XEN_HOST)) {
      throw new XenPropError(site("scope"), (scope as Construct | undefined)?.node?.path, "a RoutedDomU must be created inside a XenHost (its dom0)");
    }
    this.dom0 = scope;
    this.hostId = parseHostId(id, site("id"));
    this.name = parseName(props.name ?? id, site(props.name === undefined ? "name (the construct id)" : "name"));

    const type = props.type ?? "pv";
    if (!TYPES.includes(type)) throw new XenPropError(site("type"), type, `expected one of ${TYPES.join(", ")}`);
    const memory = parseInteger(props.memory ?? 512, site("memory"), 32, 4194304, " MiB");
    const vcpus = parseInteger(props.vcpus ?? 1, site("vcpus"), 1, 512);
    const network = props.guestNetwork ?? "ifupdown";
    if (!NETWORKS.includes(network)) throw new XenPropError(site("guestNetwork"), network, `expected one of ${NETWORKS.join(", ")}`);
    const naming = props.interfaceNaming ?? (network === "ifupdown" ? "iftab" : "systemd-link");
    if (!NAMINGS.includes(naming)) throw new XenPropError(site("interfaceNaming"), naming, `expected one of ${NAMINGS.join(", ")}`);
    if (network !== "ifupdown" && naming === "iftab") {
      throw new XenPropError(site("interfaceNaming"), naming, `iftab is read by ifupdown's ifrename, which systemd-networkd does not run: expected "systemd-link" or "udev" with guestNetwork "${network}"`);
    }

    const disks = props.disks;
    if (!Array.isArray(disks)) throw new XenPropError(site("disks"), disks, "expected a list of xl disk specs");
    disks.forEach((d, i) => parseDiskSpec(d, site(`disks[${i}]`), scope._diskImageDirectories));

    const vifs = props.vifs;
    if (!Array.isArray(vifs) || vifs.length === 0) {
      throw new XenPropError(site("vifs"), vifs, "expected at least one vif ({ mac, address })");
    }
    if (vifs.length > XL_MAX_VIFS) {
      throw new XenPropError(site("vifs"), `${vifs.length} vifs`, `Xen allows at most ${XL_MAX_VIFS} vifs per domain; use several guests, or several addresses per vif`);
    }
    const defaultDevice = naming === "iftab" ? "eth" : "enX";
    const vifModels: VifModel[] = vifs.map((v, index) => {
      const vs = at(site("vifs"), `[${index}]`);
      const mac = parseMac(v?.mac, at(vs, ".mac"));
      if (mac.suspicious) {
        Annotations.of(this).addWarning(`vifs[${index}].mac ${mac.mac} is neither in Xen's range 00:16:3e nor locally administered: it may clash with real hardware`);
      }
      const maxLen = maxVifnameLength(type);
      const vifname = v?.vifname ?? `${this.name}-${index}`;
      const vifnameSite = at(vs, v?.vifname === undefined ? ".vifname (default)" : ".vifname");
      if (typeof vifname === "string" && vifname.length > maxLen) {
        throw new XenPropError(vifnameSite, vifname, `a vifname has at most ${maxLen} characters for a ${type} guest; set vifs[${index}].vifname or use a shorter guest name`);
      }
      const more = v?.additionalAddresses ?? [];
      if (!Array.isArray(more)) throw new XenPropError(at(vs, ".additionalAddresses"), more, "expected a list of addresses with their prefixes, such as [\"192.0.2.201/24\"]");
      return {
        index,
        mac: mac.mac,
        address: parseInterfaceCidr(v?.address, at(vs, ".address")),
        additional: more.map((a, i) => parseInterfaceCidr(a, at(vs, `.additionalAddresses[${i}]`))),
        vifname: parseVifname(vifname, vifnameSite, maxLen, scope.uplink.device),
        device: parseInterfaceName(v?.device ?? `${defaultDevice}${index}`, at(vs, ".device")),
        table: 100 + index,
        rulePriority: 1000 + index,
      };
    });
    this.addresses = vifModels.flatMap((v) => [v.address.address, ...v.additional.map((a) => a.address)]);
    const dupAddress = this.addresses.find((a, i) => this.addresses.indexOf(a) !== i);
    if (dupAddress) throw new XenPropError(site("vifs"), dupAddress, "each address belongs to one vif, once; this one appears twice");
    for (const key of ["mac", "vifname", "device"] as const) {
      const values = vifModels.map((v) => v[key]);
      const dup = values.find((x, i) => values.indexOf(x) !== i);
      if (dup) throw new XenPropError(site(`vifs[].${key}`), dup, `each vif needs its own ${key}; this one appears twice`);
    }

    const gateway = props.gateway === undefined ? scope.uplink.address.address : parseHostIpv4(props.gateway, site("gateway"));
    this.allowEgress = props.allowEgress ?? false;
    this.reversePathFilter = props.reversePathFilter ?? "strict";
    if (this.reversePathFilter !== "strict" && this.reversePathFilter !== "loose") {
      throw new XenPropError(site("reversePathFilter"), this.reversePathFilter, 'expected "strict" or "loose"');
    }
    this.restartOnChange = props.restartOnChange ?? false;
    this.model = {
      name: this.name,
      type,
      memory,
      vcpus,
      boot: this.boot(props, site),
      disks: [...disks],
      vifs: vifModels,
      gateway,
      gatewayDevice: scope.uplink.device,
      interfaceNaming: naming,
      network,
      policyRouting: props.policyRouting ?? vifModels.length > 1,
    };
    this.sshTarget = this.parseSsh(props.ssh ?? {}, site);
    this.connections = Connections._of({
      construct: this,
      defaultPorts: "a guest has no default port: name the port (connections.allowFrom(peer, Port.tcp(443))), or use the connections of one of its WebVhosts",
      allowIn: (source, ports) => void forwardFrom(this, source, ports),
      allowOutToAny: () => {
        this.allowEgress = true;
      },
    });
    registerFileHost(this);

    // The cfg goes to the dom0; everything else to the guest, after it exists.
    const cfg = deployStep(this, "cfg", { step: () => this._cfgStep(), connection: scope._connection() });
    // Guests that left the code go first: a renamed guest (same addresses and MACs) is shut down before its successor starts.
    addDependency(cfg, scope._guestsInventory);
    this._networkResource = deployStep(this, "network", { step: () => this.networkStep(), connection: this._connection() });
    addDependency(this._networkResource, cfg);
    this._sitesResource = deployStep(this, "sites", { step: () => this.sitesInventoryStep(), connection: this._connection() });
    addDependency(this._sitesResource, this._networkResource);
    if (scope._verifyResource) addDependency(scope._verifyResource, this._sitesResource);
  }

  /**
   * The guest's network step: vhost steps run after it.
   * @internal
   */
  readonly _networkResource: TerraformResource;
  /**
   * Runs after every site step of this guest: removes sites that left the code.
   * @internal
   */
  readonly _sitesResource: TerraformResource;
  private readonly sshTarget: SshEndpoint & { viaDom0: boolean };
  private apacheResource?: TerraformResource;

  private parseSsh(ssh: RoutedDomUSsh, site: (p: string) => PropSite): SshEndpoint & { viaDom0: boolean } {
    const host = ssh.host === undefined ? this.addresses[0] : ssh.host;
    if (typeof host !== "string" || !/^[A-Za-z0-9.-]+$/.test(host)) {
      throw new XenPropError(site("ssh.host"), host, "expected an IPv4 address or DNS name of the guest");
    }
    const user = ssh.user ?? "root";
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) throw new XenPropError(site("ssh.user"), user, "expected a Unix user name such as root");
    const hostKey = connectionHostKey(ssh.hostKey, site("ssh.hostKey"));
    const declaredViaDom0 = ssh.viaDom0 ?? true;
    const lab = labGuestSsh(this, this.dom0._ssh.privateKey, { host, viaDom0: declaredViaDom0, addresses: this.addresses });
    const viaDom0 = lab?.viaDom0 ?? declaredViaDom0;
    if (hostKey !== undefined && viaDom0 && !lab) {
      Annotations.of(this).addWarning(
        "ssh.hostKey is pinned for a guest reached through its dom0: Terraform releases without the fix of hashicorp/terraform#38318 (March 2026) check the dom0 against this key instead of its own, so every step of this guest fails; pin it only with a Terraform that has the fix",
      );
    }
    const declared = { privateKey: connectionPrivateKey(ssh.privateKey, ssh.privateKeyFile, site) ?? this.dom0._ssh.privateKey, hostKey };
    const keys = lab ?? declared;
    return { host: lab?.host ?? host, user, port: parseInteger(ssh.port ?? 22, site("ssh.port"), 1, 65535), privateKey: keys.privateKey, hostKey: keys.hostKey, viaDom0 };
  }

  /**
   * How deploy steps reach this guest: through its dom0 by default.
   * @internal
   */
  _connection(): StepConnection {
    const { viaDom0, ...endpoint } = this.sshTarget;
    return viaDom0 ? { ...endpoint, bastion: this.dom0._connection() } : endpoint;
  }

  /**
   * The resource that installs ports.conf; created with the first vhost.
   * @internal
   */
  _apachePortsResource(): TerraformResource {
    if (!this.apacheResource) {
      this.apacheResource = deployStep(this, "apache", { step: () => this.apacheStep()!, connection: this._connection() });
      addDependency(this.apacheResource, this._networkResource);
      addDependency(this._sitesResource, this.apacheResource);
    }
    return this.apacheResource;
  }

  private boot(props: RoutedDomUProps, site: (p: string) => PropSite): GuestBoot {
    if (props.kernel === undefined) {
      for (const k of ["ramdisk", "root", "extra"] as const) {
        if (props[k] !== undefined) throw new XenPropError(site(k), props[k], "only meaningful with `kernel` (direct boot); remove it or set kernel");
      }
      const bootloader = props.bootloader ?? "pygrub";
      // A name xl finds in its own directory (pygrub), or an absolute path written out in full.
      if (typeof bootloader !== "string" || !(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(bootloader) || bootloader.startsWith("/"))) {
        throw new XenPropError(site("bootloader"), bootloader, "expected a bootloader name such as pygrub, or an absolute path such as /usr/lib/xen-4.17/bin/pygrub");
      }
      if (bootloader.startsWith("/")) parseAbsolutePath(bootloader, site("bootloader"));
      return { kind: "bootloader", bootloader };
    }
    if (props.bootloader !== undefined) {
      throw new XenPropError(site("bootloader"), props.bootloader, "cannot be combined with `kernel`; choose direct boot or a bootloader");
    }
    const text = (k: "root" | "extra") => {
      const v = props[k];
      if (v === undefined) return undefined;
      if (typeof v !== "string" || !KERNEL_ARGS.test(v)) {
        throw new XenPropError(site(k), v, "expected kernel arguments of letters, digits, spaces and ._=:,/+@- only (leave it unset for none)");
      }
      return v;
    };
    return {
      kind: "kernel",
      kernel: parseAbsolutePath(props.kernel, site("kernel")),
      ramdisk: props.ramdisk === undefined ? undefined : parseAbsolutePath(props.ramdisk, site("ramdisk")),
      root: text("root"),
      extra: text("extra"),
    };
  }

  /**
   * The vif that carries `address`, if this guest owns it.
   * @internal
   */
  _vifFor(address: string): VifModel | undefined {
    return this.model.vifs.find((v) => v.address.address === address || v.additional.some((a) => a.address === address));
  }

  /**
   * The validated model the renderers read.
   * @internal
   */
  _guestModel(): GuestModel {
    return this.model;
  }

  /** The web vhosts of this guest, in the order they were defined. */
  get vhosts(): WebVhost[] {
    return this.node.children.filter((c): c is WebVhost => hasBrand(c, WEB_VHOST));
  }

  /**
   * Egress accepts for the dom0 firewall, when allowed.
   * @internal
   */
  _egress(): { vifname: string; address: string }[] {
    return this.allowEgress ? this.model.vifs.map((v) => ({ vifname: v.vifname, address: v.address.address })) : [];
  }

  /**
   * The xl cfg step, run on the dom0.
   * @internal
   */
  _cfgStep(): StepModel {
    return oncePerSynth(this, CFGSTEP_MEMO, () =>
      guestCfgStep(this.dom0.hostId, this.model, { restartOnChange: this.restartOnChange, shutdownSeconds: this.dom0._guestShutdownSeconds }),
    );
  }

  private networkStep(): StepModel {
    return oncePerSynth(this, NETWORKSTEP_MEMO, () => guestNetworkStep(this.hostId, this.model, { looseReversePath: this.reversePathFilter === "loose" }));
  }

  private apacheStep(): StepModel | undefined {
    return oncePerSynth(this, APACHESTEP_MEMO, () => {
      const vhosts = this.vhosts.map((v) => v._vhostModel());
      return vhosts.length ? apachePortsStep(this.hostId, vhosts) : undefined;
    });
  }

  private sitesInventoryStep(): StepModel {
    return oncePerSynth(this, SITESINVENTORYSTEP_MEMO, () => sitesInventoryStep(this.hostId, this.vhosts.map((v) => v._vhostModel().name)));
  }

  /**
   * The deploy steps that write files on this guest.
   * @internal
   */
  _deploySteps(): StepModel[] {
    const apache = this.apacheStep();
    return [this.networkStep(), ...(apache ? [apache] : []), ...this.vhosts.map((v) => v._siteStep()), this.sitesInventoryStep()];
  }

  /**
   * Files the guest receives (see the README's table).
   * @internal
   */
  _hostFiles(): HostFile[] {
    return this._deploySteps().flatMap((s) => s.files);
  }
}

/** Keys of the steps memoized for one synth. */
const CFGSTEP_MEMO = Symbol("cfgStep");
const NETWORKSTEP_MEMO = Symbol("networkStep");
const APACHESTEP_MEMO = Symbol("apacheStep");
const SITESINVENTORYSTEP_MEMO = Symbol("sitesInventoryStep");
