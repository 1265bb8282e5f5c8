import { Construct } from "constructs";
import type { ForwardAcceptModel } from "./model";
import { at, PropSite, XenPropError } from "./validation/errors";
import { parseIpv4, parseNetworkCidr } from "./validation/ipv4";
import { parsePortRange, Port, PortRange } from "./validation/port";
import { freeChildId } from "./validation/names";
import { RoutedDomU } from "./routed-domu";
import { WebVhost } from "./web-vhost";
import { XenHost } from "./xen-host";

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
   * Source ports (single ports or ranges), as some hand-written firewalls match them.
   * @default - any source port
   */
  readonly sourcePorts?: Array<number | PortRange>;
}

/**
 * Traffic a dom0 forwards to its guests. Every ForwardRule under a XenHost
 * lands in that dom0's one ruleset, bound to the guest's vif and address.
 *
 * @example
 * new ForwardRule(dom0, "http", { to: web, ports: [80, 443] });                 // every address of the guest
 * new ForwardRule(dom0, "dns", { to: "192.0.2.11", ports: [Port.udp(53)], from: ["203.0.113.0/24"] });
 */
export class ForwardRule extends Construct {
  /** Marker used by XenHost without a runtime import cycle. */
  readonly isForwardRule = true;
  private readonly model: ForwardAcceptModel[];

  constructor(scope: XenHost, id: string, props: ForwardRuleProps) {
    super(scope, freeChildId(scope, id));
    const site = (prop: string): PropSite => ({ path: this.node.path, prop });
    if (!XenHost.isXenHost(scope)) {
      throw new XenPropError(site("scope"), (scope as Construct | undefined)?.node?.path, "a ForwardRule must be created inside the XenHost that forwards the traffic");
    }
    const targets = this.targets(scope, props.to, site("to"));

    let ports = props.ports;
    if (ports === undefined && props.to instanceof WebVhost) ports = props.to.ports;
    if (!Array.isArray(ports) || ports.length === 0) {
      throw new XenPropError(site("ports"), ports, "expected at least one port, e.g. [80, 443] or [Port.udp(53)]");
    }
    const dports = ports.map((p, i) => {
      const port = typeof p === "number" ? Port.tcp(p) : p;
      if (!(port instanceof Port)) throw new XenPropError(site(`ports[${i}]`), p, "expected a port number or a Port (Port.tcp(80), Port.udpRange(...))");
      return { protocol: port.protocol, range: parsePortRange(port, at(site(`ports[${i}]`), "")) };
    });
    const from = props.from ?? ["0.0.0.0/0"];
    if (!Array.isArray(from) || from.length === 0) {
      throw new XenPropError(site("from"), from, "expected at least one source network, or leave it unset for any");
    }
    const sources = [...new Set(from.map((c, i) => parseNetworkCidr(c, site(`from[${i}]`))))];
    const sourcePorts = (props.sourcePorts ?? []).map((p, i) =>
      parsePortRange(typeof p === "number" ? { from: p, to: p } : p, site(`sourcePorts[${i}]`)),
    );

    this.model = [];
    for (const t of targets) {
      for (const source of sources) {
        for (const protocol of ["tcp", "udp"] as const) {
          const mine = dports.filter((d) => d.protocol === protocol).map((d) => d.range);
          if (mine.length) this.model.push({ ...t, protocol, source, ports: mine, sourcePorts });
        }
      }
    }
  }

  private targets(dom0: XenHost, to: ForwardRuleProps["to"], site: PropSite): { vifname: string; address: string }[] {
    const guest = to instanceof WebVhost ? to.guest : to instanceof RoutedDomU ? to : undefined;
    if (guest) {
      if (guest.dom0 !== dom0) {
        throw new XenPropError(site, guest.node.path, `that guest runs on ${guest.dom0.node.path}; a ForwardRule belongs to the dom0 of its guest`);
      }
      const addresses = to instanceof WebVhost ? [to.address] : guest.addresses;
      return addresses.map((address) => ({ vifname: guest.vifFor(address)!.vifname, address }));
    }
    const address = parseIpv4(to, site);
    for (const g of dom0.guests) {
      const vif = g.vifFor(address);
      if (vif) return [{ vifname: vif.vifname, address }];
    }
    throw new XenPropError(site, to, `no guest of ${dom0.node.path} has this address; expected a RoutedDomU, a WebVhost or one of its guests' addresses`);
  }

  /** This rule's accepts, before aggregation with the dom0's other rules. */
  accepts(): ForwardAcceptModel[] {
    return this.model;
  }
}
