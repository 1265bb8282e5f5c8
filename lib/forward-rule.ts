import { Construct } from "constructs";
import type { ForwardAcceptModel } from "./model";
import { at, PropSite, XenPropError } from "./validation/errors";
import { parseIpv4, parseNetworkCidr } from "./validation/ipv4";
import { parsePortRange } from "./validation/port";
import { Port, PortRange, Protocol } from "./connections/port";
import { freeChildId } from "./validation/names";
import { brand, FORWARD_RULE, hasBrand, ROUTED_DOMU, WEB_VHOST, XEN_HOST } from "./private/brands";
import type { RoutedDomU } from "./routed-domu";
import type { WebVhost } from "./web-vhost";
import type { XenHost } from "./xen-host";

/** Props of a {@link ForwardRule}: where the traffic goes, which ports, from where. */
export interface ForwardRuleProps {
  /**
   * What the dom0 forwards to: every address of a guest, the address of a
   * vhost, or one guest address of this dom0.
   */
  readonly to: RoutedDomU | WebVhost | string;
  /**
   * Destination ports; a bare number is TCP (`Port.udp(53)` for UDP).
   * @default - the vhost's ports when `to` is a WebVhost; required otherwise
   */
  readonly ports?: Array<number | Port>;
  /**
   * Source networks allowed.
   * @default ["0.0.0.0/0"]
   */
  readonly from?: string[];
  /**
   * Source ports, as some hand-written firewalls match them: a bare number
   * for every protocol of `ports`, a Port (`Port.udpRange(1024, 65535)`) for
   * its own protocol. Each protocol of `ports` then needs a source port of
   * its own.
   * @default - any source port
   */
  readonly sourcePorts?: Array<number | Port>;
}

/**
 * Traffic a dom0 forwards to its guests. Every ForwardRule under a XenHost
 * lands in that dom0's one ruleset, bound to the guest's vif and address.
 * The intent API, `connections.allowFrom(peer, port)` of a guest or a vhost,
 * writes ForwardRules; this is the primitive underneath.
 *
 * @example
 * new ForwardRule(dom0, "http", { to: web, ports: [80, 443] });                 // every address of the guest
 * new ForwardRule(dom0, "dns", { to: "192.0.2.11", ports: [Port.udp(53)], from: ["203.0.113.0/24"] });
 */
export class ForwardRule extends Construct {
  /** Returns true when `x` is a ForwardRule (of any copy of this library). */
  static isForwardRule(x: unknown): x is ForwardRule {
    return hasBrand(x, FORWARD_RULE);
  }

  private readonly model: ForwardAcceptModel[];

  constructor(scope: XenHost, id: string, props: ForwardRuleProps) {
    super(scope, freeChildId(scope, id));
    brand(this, FORWARD_RULE);
    const site = (prop: string): PropSite => ({ path: this.node.path, prop });
    if (!hasBrand(scope, XEN_HOST)) {
      throw new XenPropError(site("scope"), (scope as Construct | undefined)?.node?.path, "a ForwardRule must be created inside the XenHost that forwards the traffic");
    }
    const targets = this.targets(scope, props.to, site("to"));

    let ports = props.ports;
    if (ports === undefined && hasBrand(props.to, WEB_VHOST)) ports = (props.to as WebVhost).ports;
    if (!Array.isArray(ports) || ports.length === 0) {
      throw new XenPropError(site("ports"), ports, "expected at least one port, e.g. [80, 443] or [Port.udp(53)]");
    }
    const dports = ports.map((p, i) => {
      const port = typeof p === "number" ? Port.tcp(p) : p;
      if (!Port.isPort(port)) throw new XenPropError(site(`ports[${i}]`), p, "expected a port number or a Port (Port.tcp(80), Port.udpRange(...))");
      return { protocol: port.protocol, range: parsePortRange(port, at(site(`ports[${i}]`), "")) };
    });
    const from = props.from ?? ["0.0.0.0/0"];
    if (!Array.isArray(from) || from.length === 0) {
      throw new XenPropError(site("from"), from, "expected at least one source network, or leave it unset for any");
    }
    const sources = [...new Set(from.map((c, i) => parseNetworkCidr(c, site(`from[${i}]`))))];
    const sourcePorts = (props.sourcePorts ?? []).map((p, i) => {
      if (typeof p === "number") return { protocol: undefined, range: parsePortRange({ from: p, to: p }, site(`sourcePorts[${i}]`)) };
      if (!Port.isPort(p)) throw new XenPropError(site(`sourcePorts[${i}]`), p, "expected a port number or a Port (Port.udp(53), Port.tcpRange(1024, 65535))");
      return { protocol: p.protocol, range: parsePortRange(p, site(`sourcePorts[${i}]`)) };
    });
    const sourcePortsOf = (protocol: Protocol): PortRange[] => {
      const mine = sourcePorts.filter((s) => s.protocol === undefined || s.protocol === protocol).map((s) => s.range);
      if (sourcePorts.length && !mine.length) {
        throw new XenPropError(site("sourcePorts"), props.sourcePorts, `names no ${protocol} port, but ports has ${protocol} ports; add a source port for them (a number, or Port.${protocol}(...)), or give ${protocol} a rule of its own`);
      }
      return mine;
    };

    this.model = [];
    for (const protocol of ["tcp", "udp"] as const) {
      const mine = dports.filter((d) => d.protocol === protocol).map((d) => d.range);
      if (!mine.length) continue;
      const sports = sourcePortsOf(protocol);
      // A literal, not a spread of `t`: V8 builds an object spread with properties added after it slowly, and every synth reads these.
      for (const t of targets) for (const source of sources) this.model.push({ vifname: t.vifname, address: t.address, protocol, source, ports: mine, sourcePorts: sports });
    }
  }

  private targets(dom0: XenHost, to: ForwardRuleProps["to"], site: PropSite): { vifname: string; address: string }[] {
    const vhost = hasBrand(to, WEB_VHOST) ? (to as WebVhost) : undefined;
    const guest = vhost ? vhost.guest : hasBrand(to, ROUTED_DOMU) ? (to as RoutedDomU) : undefined;
    if (guest) {
      if (guest.dom0 !== dom0) {
        throw new XenPropError(site, guest.node.path, `that guest runs on ${guest.dom0.node.path}; a ForwardRule belongs to the dom0 of its guest`);
      }
      const addresses = vhost ? [vhost.address] : guest.addresses;
      return addresses.map((address) => ({ vifname: guest._vifFor(address)!.vifname, address }));
    }
    const address = parseIpv4(to, site);
    for (const g of dom0.guests) {
      const vif = g._vifFor(address);
      if (vif) return [{ vifname: vif.vifname, address }];
    }
    throw new XenPropError(site, to, `no guest of ${dom0.node.path} has this address; expected a RoutedDomU, a WebVhost or one of its guests' addresses`);
  }

  /**
   * This rule's accepts, before aggregation with the dom0's other rules.
   * @internal
   */
  _accepts(): ForwardAcceptModel[] {
    return this.model;
  }
}

/**
 * The ForwardRule a `connections.allowFrom` writes under the dom0 of `to`:
 * one per target, source and ports, named for them, so that the same call
 * twice is one rule.
 * @internal
 */
export function forwardFrom(to: RoutedDomU | WebVhost, source: string, ports: Port[]): ForwardRule {
  const guest = hasBrand(to, WEB_VHOST) ? (to as WebVhost).guest : (to as RoutedDomU);
  const target = to === guest ? guest.node.id : `${guest.node.id}.${to.node.id}`;
  const id = `${target} from ${source.replace("/", "_")} ${ports.map((p) => p.toString().replace("/", " ")).join(",")}`;
  const existing = guest.dom0.node.tryFindChild(id);
  if (ForwardRule.isForwardRule(existing)) return existing;
  return new ForwardRule(guest.dom0, id, { to, from: [source], ports });
}
