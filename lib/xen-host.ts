import { Annotations, TerraformResource, TerraformStack, Token } from "./private/cdk";
import { Construct } from "constructs";
import type { FirewallModel, HostFile, HostUplinkModel } from "./model";
import { at, PropSite, XenPropError } from "./validation/errors";
import { parseInterfaceCidr, parseNetworkCidr } from "./validation/ipv4";
import { parseAbsolutePath, parseInteger, parseInterfaceName } from "./validation/names";
import type { FirewallBackend } from "./concerns/firewall/script";
import { checkStackModule, oncePerSynth, registerFileHost, registerStackOnce } from "./private/stack-support";
import { topologyOf } from "./private/topology";
import { labDom0 } from "./private/lab-context";
import * as fs from "fs";
import * as path from "path";
import { checkFleet, FLEET_CHECK } from "./private/fleet-check";
import { aggregateAccepts } from "./concerns/firewall/aggregate";
import { PROVE_CONTEXT_KEY, proveDom0 } from "./private/prove";
import { proofCacheOf, registerProofCache } from "./private/proof-cache";
import { dom0SysctlStep } from "./concerns/dom0-sysctl";
import { firewallConfirmStep, firewallStep } from "./concerns/firewall";
import { GUEST_SHUTDOWN_SECONDS, guestsInventoryStep } from "./concerns/guests";
import { addDependency, connectionHostKey, connectionPrivateKey, deployStep, StepConnection, stepsDigest } from "./deploy/engine";
import { VERIFY_CONTEXT_KEY, verifyStep } from "./concerns/verify";
import type { StepModel } from "./deploy/step";
import { freeChildId, parseHostId } from "./validation/names";
import type { RoutedDomU } from "./routed-domu";
import { brand, FORWARD_RULE, hasBrand, ROUTED_DOMU, XEN_HOST } from "./private/brands";
import { Connections, IConnectable } from "./connections/connections";
import { Port } from "./connections/port";
import type { ForwardRule } from "./forward-rule";

/** How Terraform reaches the dom0 over SSH. */
export interface XenHostSsh {
  /** Address or DNS name of the dom0's sshd. */
  readonly host: string;
  /**
   * Login user.
   * @default "root"
   */
  readonly user?: string;
  /**
   * sshd port; the firewall keeps it open to `firewall.managementCidrs`.
   * @default 22
   */
  readonly port?: number;
  /**
   * Private key, as a reference to a sensitive `TerraformVariable`
   * (`keyVar.value`); never a literal key. Terraform writes the value into
   * the plan file `cdktf diff` leaves in the stack's directory (which
   * cdktf-xen makes readable by its owner only, and git-ignored);
   * `privateKeyFile` keeps it out of every file.
   * @default - the SSH agent is used
   */
  readonly privateKey?: string;
  /**
   * Path of the private key file on the machine that runs Terraform
   * (absolute, or under `~/`), read only when a step connects: the key is in
   * no file that cdktf or Terraform writes (neither cdk.tf.json, nor a plan
   * file, nor the state). Not together with `privateKey`.
   * @default - `privateKey`, or the SSH agent
   */
  readonly privateKeyFile?: string;
  /**
   * The dom0's public host key (`ssh-ed25519 AAAA...`, from its
   * `/etc/ssh/ssh_host_ed25519_key.pub`), pinned for the connection, and as
   * the bastion's key of the guests' connections through it (which Terraform
   * releases before the fix of hashicorp/terraform#38318 do not check).
   * Checked at synth.
   * @default - not pinned: Terraform accepts any host key (a warning says so)
   */
  readonly hostKey?: string;
}

/** The dom0 interface that carries its main IP: vif-route's `netdev`, xl's `gatewaydev`. */
export interface XenHostUplink {
  /**
   * Interface name in the dom0.
   * @default "eth0"
   */
  readonly device?: string;
  /** The dom0's main IP with its prefix, e.g. `192.0.2.1/24`; guests route through it. */
  readonly address: string;
}

/** Defaults of the dom0's forwarding firewall. */
export interface XenHostFirewall {
  /**
   * Policy of the FORWARD chain: traffic no ForwardRule accepts meets it.
   * @default "DROP"
   */
  readonly defaultForwardPolicy?: "DROP" | "ACCEPT";
  /**
   * Policy of the INPUT chain (traffic to the dom0 itself).
   * @default "DROP"
   */
  readonly defaultInputPolicy?: "DROP" | "ACCEPT";
  /**
   * Networks allowed to reach the dom0's sshd.
   * @default ["0.0.0.0/0"] (with a warning: set it to your management network)
   */
  readonly managementCidrs?: string[];
  /**
   * How the ruleset is compiled and loaded: `iptables` (iptables-restore; one
   * rule per guest address, or ipsets from `ipsetFrom` addresses on) or
   * `nftables` (one table, guests matched through sets). Both load in one
   * transaction. Switching retires the other backend's rules once the new
   * ruleset is loaded, and its files once it is confirmed (only those that
   * carry the library's header; a rollback brings its rules back).
   * @default "iptables"
   */
  readonly backend?: FirewallBackend;
  /**
   * With backend `iptables`: from this many guest addresses on, guests are
   * matched through ipsets (`/etc/iptables/ipsets`, `hash:net,iface`), so a
   * new connection costs one set lookup per rule instead of one rule per
   * address. The dom0 then needs `ipset` and `ipset-persistent` (which loads
   * the sets at boot, before the rules that name them); the deploy refuses
   * without them. 0 means always; a number above your address count, never.
   * @default 64
   */
  readonly ipsetFrom?: number;
  /**
   * Seconds after which a newly loaded ruleset is replaced by the previous one,
   * unless a fresh SSH connection from the deploy has confirmed it.
   * @default 30
   */
  readonly rollbackSeconds?: number;
}

/** Props of a {@link XenHost}: how deploys reach the dom0, its uplink, its firewall's defaults. */
export interface XenHostProps {
  /** SSH access for the deploy. */
  readonly ssh: XenHostSsh;
  /**
   * Directories of disk images the guests' disk specs may name as targets,
   * besides block devices under `/dev/` (e.g. `/var/lib/xen/images`).
   * @default - none: only block devices
   */
  readonly diskImageDirectories?: string[];
  /**
   * Seconds a guest may take to shut down (a guest that left the code, or a
   * restart with `restartOnChange`) before the step gives up, fails and leaves
   * it running: a guest that hangs must not hold the dom0's steps for ever.
   * @default 300
   */
  readonly guestShutdownSeconds?: number;
  /** The uplink carrying the dom0's main IP. */
  readonly uplink: XenHostUplink;
  /**
   * Firewall defaults.
   * @default - FORWARD and INPUT policy DROP, SSH open to any address
   */
  readonly firewall?: XenHostFirewall;
}

function policy(value: unknown, site: PropSite): "DROP" | "ACCEPT" {
  if (value !== "DROP" && value !== "ACCEPT") throw new XenPropError(site, value, 'expected "DROP" or "ACCEPT"');
  return value;
}

/**
 * A Xen dom0 in routed mode: it forwards packets between its uplink and its
 * guests' vifs, through a firewall built from every ForwardRule under it.
 *
 * @example
 * const hostKey = new TerraformVariable(stack, "dom0_ssh_host_key", { type: "string" });
 * const dom0 = new XenHost(stack, "dom0", {
 *   ssh: { host: "203.0.113.10", privateKeyFile: "~/.ssh/id_ed25519", hostKey: hostKey.value },
 *   uplink: { device: "eth0", address: "192.0.2.1/24" },
 *   firewall: { managementCidrs: ["203.0.113.0/24"] },
 * });
 */
export class XenHost extends Construct implements IConnectable {
  /** Returns true when `x` is a XenHost. */
  static isXenHost(x: unknown): x is XenHost {
    return hasBrand(x, XEN_HOST);
  }

  /**
   * Who may reach the dom0 itself: `dom0.connections.allowFrom(Peer.ipv4("203.0.113.0/24"), Port.tcp(22))`
   * (or `allowDefaultPortFrom(peer)`) opens its sshd to that network, as
   * `firewall.managementCidrs` does; its INPUT chain opens nothing else.
   */
  readonly connections: Connections;

  /** The construct id, which names this dom0 in messages and in the preview's `hosts/<id>/`. */
  readonly hostId: string;
  /** @internal */
  readonly _ssh: Required<Pick<XenHostSsh, "host" | "user" | "port">> & Pick<XenHostSsh, "privateKey" | "hostKey">;
  /** The uplink as checked: its device, and the dom0's main IP with its prefix. */
  readonly uplink: HostUplinkModel;
  /**
   * How long a guest may take to shut down before a step gives up on it.
   * @internal
   */
  readonly _guestShutdownSeconds: number;
  /**
   * Where the guests' disk images may live, besides /dev/.
   * @internal
   */
  readonly _diskImageDirectories: readonly string[];
  private readonly firewall: Omit<FirewallModel, "accepts" | "egress" | "managementCidrs">;
  /** `firewall.managementCidrs`, checked; undefined when not set. */
  private readonly managementCidrs?: readonly string[];
  /** Networks `connections.allowFrom` opened sshd to. */
  private readonly allowedCidrs: string[] = [];
  private readonly labManagementCidr?: string;
  private readonly rollbackSeconds: number;
  private readonly backend: FirewallBackend;
  private readonly ipsetFrom: number;

  constructor(scope: Construct, id: string, props: XenHostProps) {
    super(scope, freeChildId(scope, id));
    checkStackModule(this);
    brand(this, XEN_HOST);
    const site = (prop: string): PropSite => ({ path: this.node.path, prop });
    this.hostId = parseHostId(id, site("id"));

    const host = props.ssh?.host;
    const hostOk = typeof host === "string" && (isToken(host) || /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host));
    if (!hostOk) {
      throw new XenPropError(site("ssh.host"), host, "expected an IPv4 address or DNS name of the dom0");
    }
    const user = props.ssh.user ?? "root";
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) {
      throw new XenPropError(site("ssh.user"), user, "expected a Unix user name such as root");
    }
    const port = parseInteger(props.ssh.port ?? 22, site("ssh.port"), 1, 65535);
    const privateKey = connectionPrivateKey(props.ssh.privateKey, props.ssh.privateKeyFile, site);
    const hostKey = connectionHostKey(props.ssh.hostKey, site("ssh.hostKey"));
    const declared = { host: props.ssh.host, user, port, privateKey, hostKey };
    const lab = labDom0(this, declared);
    this._ssh = lab?.ssh ?? declared;
    if (!lab && hostKey === undefined) {
      Annotations.of(this).addWarning(
        "ssh.hostKey is not set: Terraform accepts any host key at the dom0's address, so an impostor there would be handed this dom0's deploy steps (and be the bastion to its guests) and could report them done; pin the dom0's public key",
      );
    }

    const device = parseInterfaceName(props.uplink?.device ?? "eth0", site("uplink.device"));
    const address = parseInterfaceCidr(props.uplink?.address, site("uplink.address"));
    if (address.prefix === 32) {
      Annotations.of(this).addWarning(`uplink.address ${address.address}/32: guests in routed mode usually share the uplink's subnet; check that this is intended`);
    }
    this.uplink = { device, address };
    this._guestShutdownSeconds = parseInteger(props.guestShutdownSeconds ?? GUEST_SHUTDOWN_SECONDS, site("guestShutdownSeconds"), 1, 86400, " s");
    const dirs = props.diskImageDirectories ?? [];
    if (!Array.isArray(dirs)) throw new XenPropError(site("diskImageDirectories"), dirs, "expected a list of absolute directories");
    this._diskImageDirectories = dirs.map((d, i) => {
      const dir = parseAbsolutePath(d, site(`diskImageDirectories[${i}]`));
      if (dir === "/" || /^\/(etc|usr|bin|sbin|lib\w*|boot|root|proc|sys|run|dev)(\/|$)/.test(dir)) {
        throw new XenPropError(site(`diskImageDirectories[${i}]`), d, "a directory of system files cannot hold guest images; expected one of their own, such as /var/lib/xen/images");
      }
      return dir.replace(/\/$/, "");
    });

    const fw = props.firewall ?? {};
    if (fw.managementCidrs !== undefined && (!Array.isArray(fw.managementCidrs) || fw.managementCidrs.length === 0)) {
      throw new XenPropError(site("firewall.managementCidrs"), fw.managementCidrs, "expected at least one network allowed to reach sshd, or leave it unset for 0.0.0.0/0");
    }
    this.managementCidrs = fw.managementCidrs?.map((c, i) => parseNetworkCidr(c, at(site("firewall.managementCidrs"), `[${i}]`)));
    this.labManagementCidr = lab?.managementCidr;
    this.firewall = {
      forwardPolicy: policy(fw.defaultForwardPolicy ?? "DROP", site("firewall.defaultForwardPolicy")),
      inputPolicy: policy(fw.defaultInputPolicy ?? "DROP", site("firewall.defaultInputPolicy")),
      sshPort: this._ssh.port,
    };
    this.connections = Connections._of({
      construct: this,
      defaultPorts: [Port.tcp(port)],
      allowIn: (source, ports, where) => {
        const other = ports.find((p) => p.protocol !== "tcp" || p.from !== port || p.to !== port);
        if (other) throw new XenPropError(where, other.toString(), `the dom0 opens only its sshd to networks: expected Port.tcp(${port}) (ssh.port)`);
        this.allowedCidrs.push(source);
      },
      allowOutToAny: (where) => {
        throw new XenPropError(where, this.node.path, "the dom0's own connections are open already (its OUTPUT chain accepts everything)");
      },
    });
    this.backend = fw.backend ?? "iptables";
    if (this.backend !== "iptables" && this.backend !== "nftables") {
      throw new XenPropError(site("firewall.backend"), this.backend, 'expected "iptables" or "nftables"');
    }
    this.ipsetFrom = parseInteger(fw.ipsetFrom ?? 64, site("firewall.ipsetFrom"), 0, 1_000_000, " addresses");
    this.rollbackSeconds = parseInteger(fw.rollbackSeconds ?? 30, site("firewall.rollbackSeconds"), 2, 3600, " s");
    registerFileHost(this);
    const stack = TerraformStack.of(this);
    registerProofCache(this);
    registerStackOnce(this, FLEET_CHECK, {
      check: checkFleet,
      writer: (dir) => {
        const dom0s = stack.node.findAll().filter(XenHost.isXenHost);
        fs.writeFileSync(path.join(dir, "topology.json"), JSON.stringify(topologyOf(dom0s), null, 2) + "\n");
      },
    });

    // Known only once the tree is complete: checked when the app is validated.
    this.node.addValidation({
      validate: () => {
        const addresses = guestAddresses(this._firewallModel());
        if (this.backend === "iptables" && !this._usesIpsets() && addresses >= WALK_WARNING) {
          Annotations.of(this).addWarning(`the firewall forwards to ${addresses} addresses and firewall.ipsetFrom is ${this.ipsetFrom}: every new connection walks one rule per address; lower ipsetFrom or set firewall.backend to "nftables"`);
        }
        if (this.managementCidrs === undefined && this.allowedCidrs.length === 0) {
          Annotations.of(this).addWarning("firewall.managementCidrs is not set: the dom0's sshd is reachable from any address");
        }
        if (this.node.tryGetContext(PROVE_CONTEXT_KEY) === false) {
          Annotations.of(this).addWarning(`the context key ${PROVE_CONTEXT_KEY} is false: nothing proves that this dom0's vhosts and forwarded ports answer, and that their replies come back`);
          return [];
        }
        return proveDom0(this, (u) => Annotations.of(u.scope).addWarning(u.message), proofCacheOf(this));
      },
    });
    const connection = this._connection();
    const sysctl = deployStep(this, "sysctl", { step: () => this.sysctlStep(), connection });
    // The confirmation runs over a connection of its own (it proves that management SSH survived the
    // new ruleset), in the same resource: when it fails, or comes too late, the resource is tainted
    // and the next deploy loads and confirms the ruleset again, instead of taking it as done.
    const firewall = deployStep(this, "firewall", { step: () => this.firewallStep(), then: () => firewallConfirmStep(this.hostId), connection });
    this._guestsInventory = deployStep(this, "guests", { step: () => this.guestsInventoryStep(), connection });
    if (this.node.tryGetContext(VERIFY_CONTEXT_KEY) === false) {
      Annotations.of(this).addWarning(`the context key ${VERIFY_CONTEXT_KEY} is false: no deploy checks from the dom0 that its vhosts answer`);
    } else {
      this._verifyResource = deployStep(this, "verify", { step: () => this.verifyStep(), connection });
      for (const r of [sysctl, firewall, this._guestsInventory]) addDependency(this._verifyResource, r);
    }
  }

  /**
   * The check after deploy: runs after every step of this dom0 and its guests (each guest adds itself).
   * @internal
   */
  readonly _verifyResource?: TerraformResource;

  private verifyStep(): StepModel {
    return oncePerSynth(this, VERIFYSTEP_MEMO, () => {
      const vhosts = this.guests.flatMap((g) => g.vhosts.map((v) => ({ vhost: v._vhostModel(), expect: v._expectation })));
      const followed = this.node.findAll().filter((c) => c !== this._verifyResource);
      return verifyStep(this.hostId, vhosts, stepsDigest(followed));
    });
  }

  /**
   * Runs before every guest's cfg step: removes guests that left the code, so that their addresses are free.
   * @internal
   */
  readonly _guestsInventory: TerraformResource;

  /**
   * How deploy steps reach this dom0.
   * @internal
   */
  _connection(): StepConnection {
    return this._ssh;
  }

  /** The guests under this dom0, in the order they were defined. */
  get guests(): RoutedDomU[] {
    return this.node.children.filter((c): c is RoutedDomU => hasBrand(c, ROUTED_DOMU));
  }

  /** The forwarding rules under this dom0. */
  get forwardRules(): ForwardRule[] {
    return this.node.children.filter((c): c is ForwardRule => hasBrand(c, FORWARD_RULE));
  }

  /**
   * The aggregated firewall: every ForwardRule and guest egress under this dom0.
   * @internal
   */
  _firewallModel(): FirewallModel {
    return oncePerSynth(this, FIREWALLMODEL_MEMO, () => ({
      ...this.firewall,
      // Unset and never allowed by connections: open to any address (a warning says so).
      managementCidrs: [...new Set([...(this.managementCidrs ?? (this.allowedCidrs.length ? [] : ["0.0.0.0/0"])), ...this.allowedCidrs, ...(this.labManagementCidr ? [this.labManagementCidr] : [])])],
      accepts: aggregateAccepts(this.forwardRules.flatMap((r) => r._accepts())),
      egress: this.guests.flatMap((g) => g._egress()),
    }));
  }

  private sysctlStep(): StepModel {
    return oncePerSynth(this, SYSCTLSTEP_MEMO, () => {
      const looseVifs = this.guests.filter((g) => g.reversePathFilter === "loose").flatMap((g) => g._guestModel().vifs.map((v) => v.vifname));
      return dom0SysctlStep(this.hostId, this.uplink, looseVifs);
    });
  }

  /**
   * Whether the iptables backend matches this dom0's guests through ipsets (`firewall.ipsetFrom`).
   * @internal
   */
  _usesIpsets(): boolean {
    return this.backend === "iptables" && guestAddresses(this._firewallModel()) >= this.ipsetFrom;
  }

  private firewallStep(): StepModel {
    return oncePerSynth(this, FIREWALLSTEP_MEMO, () =>
      firewallStep(this.hostId, this._firewallModel(), { backend: this.backend, sets: this._usesIpsets(), rollbackSeconds: this.rollbackSeconds }),
    );
  }

  private guestsInventoryStep(): StepModel {
    return oncePerSynth(this, GUESTSINVENTORYSTEP_MEMO, () => guestsInventoryStep(this.hostId, this.guests.map((g) => g.name), this._guestShutdownSeconds));
  }

  /**
   * The deploy steps that write files on this dom0.
   * @internal
   */
  _deploySteps(): StepModel[] {
    return [this.sysctlStep(), this.firewallStep(), ...this.guests.map((g) => g._cfgStep()), this.guestsInventoryStep()];
  }

  /**
   * Files the dom0 receives (see the README's table).
   * @internal
   */
  _hostFiles(): HostFile[] {
    return this._deploySteps().flatMap((s) => s.files);
  }
}

/** From this many guest addresses on, a per-address rule walk is worth a warning. */
const WALK_WARNING = 64;

/** Distinct guest addresses the firewall names (accepts and egress). */
function guestAddresses(fw: FirewallModel): number {
  return new Set([...fw.accepts, ...fw.egress].map((a) => a.address)).size;
}

function isToken(value: string): boolean {
  return Token.isUnresolved(value);
}

/** Keys of the steps memoized for one synth. */
const SYSCTLSTEP_MEMO = Symbol("sysctlStep");
const FIREWALLSTEP_MEMO = Symbol("firewallStep");
const VERIFYSTEP_MEMO = Symbol("verifyStep");
const GUESTSINVENTORYSTEP_MEMO = Symbol("guestsInventoryStep");
const FIREWALLMODEL_MEMO = Symbol("firewallModel");
