/** IPv4 arithmetic on numbers, for the reachability model's hot path. */

/** An IPv4 network: address as a number, prefix length and mask. */
export interface Cidr {
  readonly net: number;
  readonly prefix: number;
}

const QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `a.b.c.d` as an unsigned number, or undefined when it is not one. */
export function ipNum(text: string): number | undefined {
  const m = QUAD.exec(text);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255) return undefined;
    n = n * 256 + b;
  }
  return n;
}

export function ipText(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `a.b.c.d/p` or `a.b.c.d` (a /32); host bits are cleared. */
export function parseCidr(text: string): Cidr | undefined {
  const [a, p, extra] = text.split("/");
  if (extra !== undefined) return undefined;
  const n = ipNum(a);
  const prefix = p === undefined ? 32 : /^\d{1,2}$/.test(p) ? Number(p) : NaN;
  if (n === undefined || !(prefix >= 0 && prefix <= 32)) return undefined;
  return { net: (n & maskOf(prefix)) >>> 0, prefix };
}

/** A dotted netmask (255.255.255.0) as a prefix length. */
export function netmaskPrefix(text: string): number | undefined {
  const n = ipNum(text);
  if (n === undefined) return undefined;
  for (let p = 0; p <= 32; p++) if (maskOf(p) === n) return p;
  return undefined;
}

export function inCidr(c: Cidr, address: number): boolean {
  return ((address & maskOf(c.prefix)) >>> 0) === c.net;
}

export function cidrText(c: Cidr): string {
  return `${ipText(c.net)}/${c.prefix}`;
}

/** The network of `address` with `prefix`. */
export function networkOf(address: number, prefix: number): Cidr {
  return { net: (address & maskOf(prefix)) >>> 0, prefix };
}

export const ANY: Cidr = { net: 0, prefix: 0 };
