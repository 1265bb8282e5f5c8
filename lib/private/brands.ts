/**
 * Brands of the library's classes, as cdktf marks its own: a `Symbol.for`
 * property, so that `isX()` holds across two copies of the library in one
 * app (where `instanceof` fails) and modules need no runtime import of one
 * another.
 */
export const XEN_HOST = Symbol.for("cdktf-xen/XenHost");
export const ROUTED_DOMU = Symbol.for("cdktf-xen/RoutedDomU");
export const WEB_VHOST = Symbol.for("cdktf-xen/WebVhost");
export const FORWARD_RULE = Symbol.for("cdktf-xen/ForwardRule");
export const PORT = Symbol.for("cdktf-xen/Port");
export const PEER = Symbol.for("cdktf-xen/Peer");

/** Marks `x` with `brand` (not enumerable, not writable). */
export function brand(x: object, b: symbol): void {
  Object.defineProperty(x, b, { value: true });
}

/** Whether `x` carries `brand`. */
export function hasBrand(x: unknown, b: symbol): boolean {
  return x !== null && typeof x === "object" && b in x;
}
