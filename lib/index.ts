export * from "./xen-host";
export * from "./routed-domu";
export * from "./web-vhost";
export * from "./forward-rule";
export { Port, PortRange, Protocol } from "./net/port";
export { XenPropError } from "./net/errors";
export type * from "./model";
