export * from "./xen-host";
export * from "./routed-domu";
export * from "./web-vhost";
export * from "./forward-rule";
export { Port, PortRange, Protocol } from "./validation/port";
export { XenPropError } from "./validation/errors";
export type * from "./model";
