import type { IConstruct } from "constructs";
import { PropSite, XenPropError } from "../validation/errors";
import { parseNetworkCidr } from "../validation/ipv4";
import { Peer } from "./peer";
import { Port } from "./port";

/**
 * What a construct does with the traffic its connections allow: the
 * construct's own business, hidden from users.
 * @internal
 */
export interface ConnectionsOwner {
  /** The construct, for error messages. */
  readonly construct: IConstruct;
  /** What "the default port" means here, or why there is none. */
  readonly defaultPorts: Port[] | string;
  /** Lets `source` (a checked network) reach `ports`; throws a XenPropError naming `site` when it cannot. */
  allowIn(source: string, ports: Port[], site: PropSite): void;
  /** Lets the construct open connections to any address; throws when it cannot, saying why. */
  allowOutToAny(site: PropSite): void;
}

/** Something whose network access is described by intent: guests, vhosts, dom0s. */
export interface IConnectable {
  /** Who may reach it, on which ports. */
  readonly connections: Connections;
}

/**
 * The network access of one construct, told by intent, as aws-ec2's
 * `Connections` and cdk8s-plus's `pod.connections` tell it: who may reach it
 * (`allowFrom(peer, port)`), on its default ports, and whether it may open
 * connections itself. Each call becomes what the construct's firewall needs:
 * a {@link ForwardRule} to a guest or a vhost, the dom0's management
 * networks for its sshd, the guest's egress.
 *
 * @example
 * web.connections.allowFrom(Peer.anyIpv4(), Port.tcp(443));         // every address of the guest
 * site.connections.allowDefaultPortFromAnyIpv4();                    // the vhost's address, its ports
 * dom0.connections.allowFrom(Peer.ipv4("203.0.113.0/24"), Port.tcp(22)); // sshd, from management only
 * web.connections.allowToAnyIpv4();                                 // updates and DNS from the guest
 */
export class Connections {
  /**
   * The connections of a construct: the construct's own business.
   * @internal
   */
  static _of(owner: ConnectionsOwner): Connections {
    return new Connections(owner);
  }

  private constructor(private readonly owner: ConnectionsOwner) {}

  /** Lets `peer` reach `port` of this construct. */
  allowFrom(peer: Peer, port: Port): void {
    const site = this.site("connections.allowFrom");
    this.owner.allowIn(this.source(peer, site), [this.port(port, site)], site);
  }

  /** Lets any IPv4 address reach `port` of this construct. */
  allowFromAnyIpv4(port: Port): void {
    this.allowFrom(Peer.anyIpv4(), port);
  }

  /** Lets `peer` reach this construct's default ports: a vhost's HTTP and HTTPS ports, a dom0's sshd. */
  allowDefaultPortFrom(peer: Peer): void {
    const site = this.site("connections.allowDefaultPortFrom");
    const ports = this.owner.defaultPorts;
    if (typeof ports === "string") throw new XenPropError(site, this.owner.construct.node.path, ports);
    this.owner.allowIn(this.source(peer, site), ports, site);
  }

  /** Lets any IPv4 address reach this construct's default ports. */
  allowDefaultPortFromAnyIpv4(): void {
    this.allowDefaultPortFrom(Peer.anyIpv4());
  }

  /** Lets this construct open connections to any IPv4 address, on any port (a guest's updates, DNS). */
  allowToAnyIpv4(): void {
    this.owner.allowOutToAny(this.site("connections.allowToAnyIpv4"));
  }

  private site(prop: string): PropSite {
    return { path: this.owner.construct.node.path, prop };
  }

  private source(peer: Peer, site: PropSite): string {
    if (!Peer.isPeer(peer)) throw new XenPropError({ ...site, prop: `${site.prop}(peer)` }, peer, 'expected a Peer: Peer.ipv4("203.0.113.0/24") or Peer.anyIpv4()');
    return parseNetworkCidr(peer.cidr, { ...site, prop: `${site.prop}(peer)` });
  }

  private port(port: Port, site: PropSite): Port {
    if (!Port.isPort(port)) throw new XenPropError({ ...site, prop: `${site.prop}(port)` }, port, "expected a Port: Port.tcp(443), Port.udp(53), Port.tcpRange(8000, 8080)");
    return port;
  }
}
