export * from "./xen-host";
export * from "./routed-domu";
export * from "./web-vhost";
export { ForwardRule, ForwardRuleProps } from "./forward-rule";
export { Port, PortRange, Protocol } from "./connections/port";
export { Peer } from "./connections/peer";
export { Connections, IConnectable } from "./connections/connections";
export { XenPropError } from "./validation/errors";
export type * from "./model";
