/**
 * Constructs for Xen dom0s in routed mode: {@link XenHost}, its guests
 * ({@link RoutedDomU}), their vhosts ({@link WebVhost}) and the dom0's
 * forwarding rules ({@link ForwardRule}), with the intent API of
 * {@link Connections}, {@link Peer} and {@link Port}.
 * @module cdktf-xen
 */
export * from "./xen-host";
export * from "./routed-domu";
export * from "./web-vhost";
export { ForwardRule, ForwardRuleProps } from "./forward-rule";
export { Port, PortRange, Protocol } from "./connections/port";
export { Peer } from "./connections/peer";
export { Connections, IConnectable } from "./connections/connections";
export type { GuestNetwork, HostUplinkModel, InterfaceNaming } from "./model";
export type { FirewallBackend } from "./concerns/firewall/script";
export type { Ipv4Interface } from "./validation/ipv4";
