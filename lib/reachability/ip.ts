/** IPv4 arithmetic on numbers, for the reachability model's hot path. */

/** An IPv4 network: address as a number, prefix length and mask. */
export interface Cidr {
  readonly net: number;
  readonly prefix: number;
}

/** `a.b.c.d` as an unsigned number, or undefined when it is not one (each part 1 to 3 digits, at most 255). */
export function ipNum(text: string): number | undefined {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      part = part * 10 + (c - 48);
    } else if (c === 46 && digits > 0 && dots < 3) {
      if (part > 255) return undefined;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0 || part > 255) return undefined;
  return n * 256 + part;
}

export function ipText(n: number): string {
  return `${Math.floor(n / 16777216) % 256}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `a.b.c.d/p` or `a.b.c.d` (a /32); host bits are cleared. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const n = ipNum(slash < 0 ? text : text.slice(0, slash));
  if (n === undefined) return undefined;
  let prefix = 32;
  if (slash >= 0) {
    // One or two digits, up to 32.
    const digits = text.length - slash - 1;
    if (digits < 1 || digits > 2) return undefined;
    prefix = 0;
    for (let i = slash + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      prefix = prefix * 10 + (c - 48);
    }
    if (prefix > 32) return undefined;
  }
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

/** `a.b.c.d-e.f.g.h` (first and last address, both included), or undefined when it is not one. */
export function parseIpRange(text: string): { readonly first: number; readonly last: number } | undefined {
  const dash = text.indexOf("-");
  if (dash < 0) return undefined;
  const first = ipNum(text.slice(0, dash));
  const last = ipNum(text.slice(dash + 1));
  return first === undefined || last === undefined || first > last ? undefined : { first, last };
}

/** The fewest networks that hold exactly the addresses `first` to `last`. */
export function rangeCidrs(first: number, last: number): Cidr[] {
  const out: Cidr[] = [];
  for (let at = first; at <= last; ) {
    // The largest block that starts at `at` (aligned to it) and ends by `last`.
    let prefix = 32;
    while (prefix > 0) {
      const size = 2 ** (32 - prefix + 1);
      if (at % size !== 0 || at + size - 1 > last) break;
      prefix--;
    }
    out.push({ net: at, prefix });
    at += 2 ** (32 - prefix);
  }
  return out;
}
